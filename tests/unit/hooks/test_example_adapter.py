"""The adapter docs/adapters.md walks through, loaded as a user's adapter is: by its class path in
``[medusa_sync] source_format``, and a sample feed read through it end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from medusa_sync.core.completeness import FetchAudit
from medusa_sync.core.validation import Validator
from medusa_sync.hooks.retries import RetryPolicy
from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.rundata.run_folder import PageFileWriter, RunFolder
from tests.conftest import REPO

from .fake_http import FakeServer, Reply, serve

EXAMPLES = REPO / "docs" / "examples"


def woo_product(n: int, **changes: object) -> dict:
    return {
        "id": n,
        "name": f"Mug {n}",
        "description": "<p>Stoneware.</p>",
        "sku": f"MUG-{n}",
        "prices": {"price": "1999", "currency_code": "EUR", "currency_minor_unit": 2},
        "images": [{"src": f"https://shop.example.test/mug-{n}.jpg", "thumbnail": None}],
        "categories": [{"id": 3, "name": "Kitchen", "slug": "kitchen"}],
        "tags": [{"id": 9, "name": "gift"}],
        "add_to_cart": {"maximum": 12},
        **changes,
    }


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__SOURCE_FORMAT", "woo_store_adapter:WooStoreAdapter")
    for fake in serve():
        monkeypatch.setenv(
            "AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps({"conn_type": "http", "host": fake.url})
        )
        yield fake


def test_the_docs_example_adapter_reads_a_sample_feed_through_the_class_path_setting(server, tmp_path):
    next_page = f'<{server.url}/wp-json/wc/store/v1/products?page=2&per_page=2>; rel="next"'
    server.queue(Reply(body=[woo_product(1), woo_product(2, categories=[])], headers={"Link": next_page}))
    server.queue(Reply(body=[woo_product(3, prices={"price": "12.5x"})]))
    hook = CatalogSourceHook(retry=RetryPolicy(max_attempts=1, jitter=0))
    assert type(hook.adapter).__name__ == "WooStoreAdapter" and hook.external_id_prefix == "woo:"

    folder = RunFolder(f"file://{tmp_path}")
    writer = PageFileWriter(folder, Validator(category_optional=True), FetchAudit())
    for page in hook.iter_pages(page_size=2, concurrency=1):
        writer.add(page)
    summary = writer.close(started_at="2026-12-01T00:00:00+00:00")

    assert [(r.path, r.param("per_page"), r.param("page")) for r in server.requests] == [
        ("/wp-json/wc/store/v1/products", ["2"], ["1"]),
        ("/wp-json/wc/store/v1/products", ["2"], ["2"]),
    ]
    assert (summary["valid"], summary["quarantined"], summary["partial"]) == (2, 1, False)
    first, second = folder.records()
    assert (first["title"], first["price"], first["category"], first["tags"], first["stock"]) == (
        "Mug 1",
        19.99,
        "Kitchen",
        ["gift"],
        12,
    )
    assert second["category"] is None
    [entry] = folder.quarantined()
    assert entry == {"source_id": "3", "reason": "prices.price: '12.5x' is not an amount in minor units"}
    assert hook.categories(["Kitchen"]) == [{"slug": "Kitchen", "name": "Kitchen"}]


def test_the_example_stays_under_100_lines():
    assert len((EXAMPLES / "woo_store_adapter.py").read_text().splitlines()) < 100
