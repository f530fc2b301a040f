"""The source hook reads each feed the way its adapter declares: Shopify's products.json by page
number or along next links, each product by id, and the fetch proves (or not) it saw them all."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from airflow.sdk.exceptions import AirflowFailException

from medusa_sync.core.completeness import FetchAudit
from medusa_sync.core.source_formats import DummyJsonAdapter, ShopifyAdapter
from medusa_sync.core.validation import Validator
from medusa_sync.hooks.retries import RetryPolicy
from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.rundata.run_folder import PageFileWriter, RunFolder
from tests.stack.catalog_generator import generate_shopify_catalog, shopify_product_id
from tests.stack.catalog_server import CatalogServer

from .fake_http import FakeServer, Reply, serve


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


def connect(monkeypatch: pytest.MonkeyPatch, host: str, **extra: object) -> None:
    conn = {"conn_type": "product_catalog", "host": host, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps(conn))


def make_hook() -> CatalogSourceHook:
    hook = CatalogSourceHook(retry=RetryPolicy(max_attempts=2, jitter=0), timeout=5)
    hook._sleep = lambda _seconds: None
    return hook


def ids(pages: list[dict]) -> list[int]:
    return [p["id"] for page in pages for p in page["products"]]


def fetch(hook: CatalogSourceHook, tmp_path, page_size: int, concurrency: int = 1) -> dict:
    """The fetch's own judgement: every page through the writer and its audit."""
    writer = PageFileWriter(RunFolder(f"file://{tmp_path}"), Validator(category_optional=True), FetchAudit())
    for page in hook.iter_pages(page_size=page_size, concurrency=concurrency):
        writer.add(page)
    return writer.close(started_at="2026-12-01T00:00:00+00:00")


@pytest.fixture
def shopify(monkeypatch: pytest.MonkeyPatch) -> Iterator[CatalogServer]:
    with CatalogServer(generate_shopify_catalog(45, seed=3)) as catalog:
        connect(monkeypatch, catalog.url, source_format="shopify")
        yield catalog


@pytest.mark.parametrize("concurrency", [1, 4])
def test_shopify_pages_by_number_until_an_empty_page(shopify: CatalogServer, tmp_path, concurrency) -> None:
    hook = make_hook()
    summary = fetch(hook, tmp_path, page_size=10, concurrency=concurrency)
    assert (summary["valid"], summary["partial"], summary["incomplete_because"]) == (45, False, [])
    asked = sorted(int(r.query["page"]) for r in shopify.requests)
    assert {(r.path, r.query["limit"]) for r in shopify.requests} == {("/products.json", "10")}
    # 5 pages, then 2 empty ones to show the end (with pages read ahead, a few more).
    assert asked[:7] == list(range(1, 8)) and len(asked) <= 7 + concurrency - 1
    assert [p["id"] for p in RunFolder(f"file://{tmp_path}").records()] == [
        shopify_product_id(n) for n in range(1, 46)
    ]


def test_shopify_records_arrive_as_canonical_products(shopify: CatalogServer) -> None:
    pages = list(make_hook().iter_pages(page_size=50, concurrency=1))
    big = next(p for p in pages[0]["products"] if p["id"] == shopify_product_id(3))
    assert len(big["variants"]) == 100 and [o["title"] for o in big["options"]] == ["Size", "Color"]


def test_shopify_follows_next_links_when_the_server_sends_them(shopify: CatalogServer, tmp_path) -> None:
    shopify.link_paging = True
    summary = fetch(make_hook(), tmp_path, page_size=10)
    assert (summary["valid"], summary["partial"]) == (45, False)
    assert len(shopify.requests) == 5  # no empty page needed: the last page links none
    assert [r.query.get("page_info") is not None for r in shopify.requests] == [False, True, True, True, True]


@pytest.mark.parametrize("link_paging", [False, True])
def test_an_empty_page_mid_catalog_makes_the_shopify_fetch_partial(
    shopify: CatalogServer, tmp_path, link_paging: bool
) -> None:
    shopify.link_paging = link_paging
    shopify.set_faults(short_page_at_skip=20, short_page_keep=0)  # page 3 comes back empty
    summary = fetch(make_hook(), tmp_path, page_size=10)
    assert summary["partial"] and summary["valid"] == 35
    expected = (
        "page 3 came back empty but links a next page" if link_paging else "page 4 has records after page 3"
    )
    assert any(reason.startswith(expected) for reason in summary["incomplete_because"])


@pytest.mark.parametrize("link_paging", [False, True])
def test_a_short_page_mid_catalog_makes_the_shopify_fetch_partial(
    shopify: CatalogServer, tmp_path, link_paging: bool
) -> None:
    shopify.link_paging = link_paging
    shopify.set_faults(short_page_at_skip=10, short_page_keep=4)
    summary = fetch(make_hook(), tmp_path, page_size=10)
    assert summary["partial"] and summary["valid"] == 39
    assert shopify.fault_counts["short_page"] == 1


def test_empty_pages_from_mid_catalog_on_end_the_paging_yet_cannot_pass_for_the_end(
    shopify: CatalogServer, tmp_path
) -> None:
    shopify.link_paging = True
    shopify.set_faults(empty_from_skip=20)  # a CDN serving empty pages that still link onwards
    summary = fetch(make_hook(), tmp_path, page_size=10)
    assert summary["partial"] and summary["valid"] == 20


def test_a_next_link_to_another_host_is_not_followed(server: FakeServer, tmp_path, monkeypatch) -> None:
    connect(monkeypatch, server.url, source_format="shopify")
    first = shopify_page(range(1, 3))
    server.queue(
        Reply(
            body=first, headers={"Link": '<https://elsewhere.example/products.json?page_info=x>; rel="next"'}
        )
    )
    summary = fetch(make_hook(), tmp_path, page_size=2)
    assert len(server.requests) == 1 and summary["partial"]
    assert "the next link leads to another host (elsewhere.example)" in summary["incomplete_because"][0]


def shopify_page(numbers: range) -> dict:
    return {"products": generate_shopify_catalog(numbers.stop - 1)[numbers.start - 1 :]}


def test_a_relative_next_link_is_followed_on_the_same_host(server: FakeServer, tmp_path, monkeypatch) -> None:
    connect(monkeypatch, server.url, source_format="shopify")
    server.queue(
        Reply(body=shopify_page(range(1, 3)), headers={"Link": '</products.json?page_info=abc>; rel="next"'})
    )
    server.queue(Reply(body=shopify_page(range(3, 4))))
    summary = fetch(make_hook(), tmp_path, page_size=2)
    assert (summary["valid"], summary["partial"]) == (3, False)
    assert server.requests[1].param("page_info") == ["abc"] and server.requests[1].param("page") == []


def test_a_record_the_adapter_cannot_convert_costs_only_that_record(
    server: FakeServer, tmp_path, monkeypatch
):
    connect(monkeypatch, server.url, source_format="shopify")
    good = shopify_page(range(1, 3))["products"]
    server.json({"products": [good[0], {"id": 5, "title": "no variants"}, good[1]]})
    server.json({"products": []})
    server.json({"products": []})
    summary = fetch(make_hook(), tmp_path, page_size=3)
    assert (summary["fetched"], summary["valid"], summary["quarantined"], summary["partial"]) == (
        3,
        2,
        1,
        False,
    )
    [entry] = RunFolder(f"file://{tmp_path}").quarantined()
    assert entry == {
        "source_id": "5",
        "reason": "variants: missing (a Shopify product has at least one variant)",
    }


def test_a_shopify_product_is_looked_up_at_its_json_path(shopify: CatalogServer) -> None:
    hook = make_hook()
    status, body, _ = hook.lookup_product(str(shopify_product_id(2)))
    assert status == 200 and body["product"]["id"] == shopify_product_id(2)
    status, _, error = hook.lookup_product("999")
    assert status == 404 and "/products/999.json" in error
    assert shopify.requests[-1].query == {}  # no DummyJSON select


def test_shopify_categories_are_the_product_types_the_records_use_named_as_given(shopify) -> None:
    hook = make_hook()
    assert hook.categories(["T-Shirts", "Caps"]) == [
        {"slug": "T-Shirts", "name": "T-Shirts"},
        {"slug": "Caps", "name": "Caps"},
    ]
    assert shopify.requests == []  # nothing to ask the source


def test_the_format_comes_from_the_connection_extra_and_is_never_sent_as_a_header(server, monkeypatch):
    connect(monkeypatch, server.url, source_format="shopify", **{"X-Token": "abcd"})
    server.json({"products": []})
    hook = make_hook()
    hook.get_json("/products.json")
    assert isinstance(hook.adapter, ShopifyAdapter) and hook.external_id_prefix == "shopify:"
    headers = {k.lower() for k in server.requests[0].headers}
    assert "x-token" in headers and "source_format" not in headers


def test_without_the_extra_the_setting_decides_and_an_http_connection_still_works(server, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps({"conn_type": "http", "host": server.url})
    )
    assert isinstance(make_hook().adapter, DummyJsonAdapter)
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__SOURCE_FORMAT", "shopify")
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__EXTERNAL_ID_PREFIX", "shop-eu:")
    hook = make_hook()
    assert isinstance(hook.adapter, ShopifyAdapter) and hook.external_id_prefix == "shop-eu:"


def test_a_bad_format_fails_the_task_at_once_naming_the_value_and_the_choices(server, monkeypatch):
    connect(monkeypatch, server.url, source_format="shopfy")
    with pytest.raises(AirflowFailException) as raised:
        _ = make_hook().adapter
    message = str(raised.value)
    assert "connection 'dummyjson_default' extra 'source_format'" in message
    assert "'shopfy' is not a known source format: use one of dummyjson, shopify" in message
    assert server.requests == []


def test_a_source_capping_its_page_size_is_read_whole_and_complete(monkeypatch, tmp_path) -> None:
    with CatalogServer(generate_shopify_catalog(520)) as catalog:
        connect(monkeypatch, catalog.url, source_format="shopify")
        summary = fetch(make_hook(), tmp_path, page_size=500)  # the stock DAG's page size
    assert (summary["valid"], summary["partial"]) == (520, False)
