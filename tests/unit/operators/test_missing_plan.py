"""compute_diff's missing-upstream step: what is asked of the source by id, and what is written."""

from __future__ import annotations

import pytest

from medusa_sync.core.batching import BatchBuilder
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.operators.compute_diff import ComputeDiffOperator, _BatchWriter
from medusa_sync.rundata.run_folder import RunFolder, read_json
from tests.fixtures.store_records import store_product

# Source id -> (status, body, error) as the source hook's lookup returns them.
ANSWERS = {
    "1": (404, None, ""),
    "2": (200, {"id": 2}, ""),
    "3": (None, None, "GET /products/3: no response (connection refused)"),
    "99": (200, {"id": 99}, ""),  # a product the fetch read: the source answers for it
}


@pytest.fixture
def asked(monkeypatch) -> list[str]:
    asked: list[str] = []

    def lookup_products(self, ids, **kwargs):
        asked.extend(ids)
        return ((i, ANSWERS.get(i, (404, None, ""))) for i in ids)

    monkeypatch.setattr(CatalogSourceHook, "lookup_products", lookup_products)
    return asked


def plan_missing(tmp_path, owned: int, missing: int, listed: str = "99", **params):
    folder = RunFolder(f"file://{tmp_path}/run")
    operator = ComputeDiffOperator(task_id="compute_diff", run_folder=folder.url, **params)
    products = [store_product(f"prod_{n}", f"dummyjson:{n}", f"h-{n}", "abc") for n in range(1, owned + 1)]
    with StoreIndex.build(products, prefix="dummyjson:") as index:
        for product in products[missing:]:
            index.seen_upstream(product["external_id"])
        writer = _BatchWriter(folder, BatchBuilder(max_items=100, max_bytes=1_000_000))
        plan = operator._plan_missing(
            index.missing_upstream(),
            {"partial": False},
            index,
            writer,
            operator.settings(),
            listed_source_id=listed,
        )
    descriptors = writer.close()
    written = read_json(descriptors[0]["batch_path"]) if descriptors else {"delete": [], "update": []}
    return plan, written


def test_only_the_product_answered_404_is_deleted(tmp_path, asked):
    plan, written = plan_missing(tmp_path, owned=40, missing=3, on_missing="delete")
    assert asked == ["99", "1", "2", "3"]  # a product it listed first, then the missing ones
    assert written["delete"] == ["prod_1"]
    assert plan["missing_acted_on"] == 1
    assert [a["id"] for a in plan["found_upstream"]] == ["prod_2"]
    assert [a["id"] for a in plan["unproven_missing"]] == ["prod_3"]
    assert len(plan["missing_unconfirmed_because"]) == 3


def test_nothing_is_asked_when_the_guard_holds(tmp_path, asked):
    plan, written = plan_missing(tmp_path, owned=10, missing=3, on_missing="delete")
    assert plan["guard"]["allowed"] is False
    assert asked == [] and written["delete"] == []


def test_all_proven_absent_are_drafted_and_the_fetch_stays_complete(tmp_path, asked):
    plan, written = plan_missing(tmp_path, owned=100, missing=1, on_missing="draft")
    assert asked == ["99", "1"]
    assert [item["id"] for item in written["update"]] == ["prod_1"]
    assert plan["missing_unconfirmed_because"] == [] and plan["found_upstream"] == []


def test_a_source_that_answers_404_even_for_a_product_it_listed_proves_nothing(tmp_path, asked):
    # A gateway, a wrong base path or a source without /products/{id}: 404 for everything.
    plan, written = plan_missing(tmp_path, owned=40, missing=3, listed="98", on_missing="delete")
    assert asked == ["98", "1", "2", "3"]
    assert written["delete"] == []
    assert plan["missing_acted_on"] == 0
    assert [a["id"] for a in plan["unproven_missing"]] == ["prod_1", "prod_3"]
    assert "its 404s prove nothing" in plan["unproven_missing"][0]["detail"]
    assert [a["id"] for a in plan["found_upstream"]] == ["prod_2"]
