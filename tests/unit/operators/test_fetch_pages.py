"""The fetch task reads the feed its adapter names and leaves the run what the later stages need:
the records, the categories' names and the external id prefix every stage of the run uses."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from medusa_sync import dag_parts, names, settings
from medusa_sync.core.mapping import category_handle
from medusa_sync.operators.fetch_pages import FetchPagesOperator, FetchStockOperator
from medusa_sync.rundata.run_folder import RunFolder, read_json
from tests.stack.catalog_generator import generate_catalog, generate_shopify_catalog
from tests.stack.catalog_server import CatalogServer, Faults
from tests.unit.hooks.fake_taxonomy import FakeStore


class Ti:
    task_id, try_number = "fetch_pages", 1

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def run_fetch(
    tmp_path,
    monkeypatch,
    catalog: CatalogServer,
    store: FakeStore | None = None,
    skipped: list[str] | None = None,
    **extra: object,
) -> tuple[RunFolder, dict]:
    """The fetch task alone; given a ``store``, wired as the product DAG wires it (with Medusa's
    connection and the stages it may skip), and ``skipped`` gets the task ids it skipped."""
    conn = {"conn_type": "product_catalog", "host": catalog.url, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps(conn))
    params = {k: p.value for k, p in dag_parts.product_params(settings.load({})).items()}
    dag = SimpleNamespace(dag_id="medusa_product_sync", get_task=lambda task_id: task_id)
    context = {"dag": dag, "run_id": "run", "params": params | {"page_size": 20}, "ti": Ti()}
    op = FetchPagesOperator(
        task_id="fetch_pages",
        storage_url=f"file://{tmp_path}",
        page_concurrency=2,
        medusa_conn_id="medusa_default" if store else None,
        taxonomy_task_id=names.SYNC_CATEGORIES if store else None,
        stock_task_id=names.SYNC_STOCK if store else None,
    )
    if store is not None:
        monkeypatch.setattr("medusa_sync.operators.fetch_pages.MedusaHook", lambda **_: store)
        monkeypatch.setattr(
            op, "skip", lambda ti, tasks: (skipped if skipped is not None else []).extend(tasks)
        )
    summary = op.execute(context)
    return RunFolder.for_run(f"file://{tmp_path}", "medusa_product_sync", "run"), summary


@pytest.fixture
def skipped() -> list[str]:
    """The task ids the fetch marked skipped."""
    return []


def test_categories_and_tags_are_created_as_the_pages_name_them_and_sync_categories_is_skipped(
    tmp_path, monkeypatch, skipped
):
    catalog_records = generate_catalog(200)
    first_category = catalog_records[0]["category"]
    store = FakeStore(categories=[first_category])
    with CatalogServer(catalog_records) as catalog:
        catalog.set_faults(Faults(latency_ms=100))  # 10 pages, 2 at a time: half a second of reading
        folder, summary = run_fetch(tmp_path, monkeypatch, catalog, store, skipped)
        pages_asked = [r.at for r in catalog.requests if r.path == "/products"]
    categories = list(dict.fromkeys(r["category"] for r in catalog_records))
    tags = list(dict.fromkeys(t for r in catalog_records for t in r["tags"]))
    assert summary["valid"] == 200
    assert sorted(store.made("create_category")) == sorted(set(categories) - {first_category})
    assert sorted(store.made("create_tag")) == sorted(tags)
    # Made while the source was still being read, not after it.
    assert min(store.created_at) < max(pages_asked)
    taxonomy = read_json(folder.taxonomy)
    assert set(taxonomy["categories"]) == set(categories) and set(taxonomy["tags"]) == set(tags)
    assert (len(taxonomy["categories_created"]), taxonomy["categories_existing"]) == (len(categories) - 1, 1)
    assert skipped == [names.SYNC_CATEGORIES, names.SYNC_STOCK]


def test_a_shopify_feeds_categories_are_created_under_its_product_types_as_given(
    tmp_path, monkeypatch, skipped
):
    store = FakeStore()
    with CatalogServer(generate_shopify_catalog(40)) as catalog:
        folder, _ = run_fetch(tmp_path, monkeypatch, catalog, store, skipped, source_format="shopify")
    types = read_json(folder.needed_taxonomy)["categories"]
    assert "T-Shirts" in types
    assert store.names == {category_handle(t): t for t in types}


def test_when_a_creation_fails_the_fetch_deletes_what_it_made_and_leaves_it_to_sync_categories(
    tmp_path, monkeypatch, skipped
):
    catalog_records = generate_catalog(200)
    categories = list(dict.fromkeys(r["category"] for r in catalog_records))
    store = FakeStore(fail_on=categories[5])
    with CatalogServer(catalog_records) as catalog:
        folder, summary = run_fetch(tmp_path, monkeypatch, catalog, store, skipped)
    assert summary["valid"] == 200  # the fetch itself succeeds
    assert store.made("delete_category") and (store.categories, store.tags) == ({}, {})
    assert not folder.taxonomy.exists()
    assert skipped == [names.SYNC_STOCK]  # sync_categories runs, with its retries


def test_a_shopify_fetch_names_categories_from_product_types_and_records_its_prefix(tmp_path, monkeypatch):
    with CatalogServer(generate_shopify_catalog(40)) as catalog:
        folder, summary = run_fetch(tmp_path, monkeypatch, catalog, source_format="shopify")
    assert (summary["valid"], summary["partial"]) == (40, False)
    assert (summary["source_format"], summary["external_id_prefix"]) == ("ShopifyAdapter", "shopify:")
    assert folder.external_id_prefix() == "shopify:"
    needed = read_json(folder.needed_taxonomy)["categories"]
    assert read_json(folder.source_categories) == [{"slug": c, "name": c} for c in needed]
    records = list(folder.records())
    untyped = [r for r in records if r["category"] is None]  # no product_type: synced without a category
    assert untyped and None not in needed
    assert not any(r.path.startswith("/products/categories") for r in catalog.requests)


def test_a_dummyjson_fetch_is_as_before(tmp_path, monkeypatch):
    with CatalogServer(generate_catalog(30)) as catalog:
        folder, summary = run_fetch(tmp_path, monkeypatch, catalog)
        asked = [(r.path, sorted(r.query)) for r in catalog.requests]
    assert (summary["valid"], summary["partial"], summary["external_id_prefix"]) == (30, False, "dummyjson:")
    # The categories' names first: a category can then be created under its name as a page uses it.
    assert asked == [("/products/categories", [])] + [("/products", ["limit", "skip"])] * 2
    assert read_json(folder.source_categories)[0].keys() == {"slug", "name"}


def test_a_dummyjson_record_without_a_category_is_still_quarantined(tmp_path, monkeypatch):
    products = generate_catalog(3)
    products[1]["category"] = None
    with CatalogServer(products) as catalog:
        folder, summary = run_fetch(tmp_path, monkeypatch, catalog)
    assert (summary["valid"], summary["quarantined"]) == (2, 1)
    assert [q["reason"] for q in folder.quarantined()] == ["category: Input should be a valid string"]


@pytest.mark.parametrize("prefix", ["acme-eu:"])
def test_a_configured_prefix_wins_over_the_adapters(tmp_path, monkeypatch, prefix):
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__EXTERNAL_ID_PREFIX", prefix)
    with CatalogServer(generate_shopify_catalog(5)) as catalog:
        folder, _ = run_fetch(tmp_path, monkeypatch, catalog, source_format="shopify")
    assert folder.external_id_prefix() == prefix


def test_a_folder_an_earlier_fetch_wrote_is_dummyjsons(tmp_path):
    from medusa_sync.rundata.run_folder import write_json

    folder = RunFolder(f"file://{tmp_path}")
    assert folder.external_id_prefix() == "dummyjson:"  # no fetch.json at all
    write_json(folder.fetch, {"started_at": "2026-12-01T00:00:00+00:00"})
    assert folder.external_id_prefix() == "dummyjson:"
    write_json(folder.fetch, {"external_id_prefix": "shopify:"})
    assert folder.external_id_prefix() == "shopify:"


def test_the_stock_task_matches_the_store_by_the_prefix_the_run_fetched_with(tmp_path, monkeypatch):
    from medusa_sync.operators.sync_stock import SyncStockOperator
    from medusa_sync.rundata.run_folder import write_json
    from tests.unit.operators.test_sync_stock import LOCATION, Store, listed

    class ShopStore(Store):
        def list_products(self, **_: Any) -> Any:
            for product in (listed(1, quantity=1), listed(2, quantity=1)):
                yield {**product, "external_id": product["external_id"].replace("dummyjson:", "shopify:")}
            yield listed(3, quantity=1)  # dummyjson:3, another feed's product: not this run's

    folder = RunFolder.for_run(f"file://{tmp_path}", "medusa_stock_sync", "run")
    write_json(folder.fetch, {"external_id_prefix": "shopify:"})
    write_json(folder.page(1), [{"id": 1, "stock": 4}, {"id": 2, "stock": 1}, {"id": 3, "stock": 9}])
    store = ShopStore()
    monkeypatch.setattr("medusa_sync.operators.sync_stock.MedusaHook", lambda **_: store)
    op = SyncStockOperator(task_id="sync_stock", run_folder=folder.url)
    params = {"dry_run": False, "page_size": 500, "stock_location_id": "", "sales_channel_id": ""}
    result = op.execute(
        {"dag": SimpleNamespace(dag_id="medusa_stock_sync"), "run_id": "run", "params": params}
    )
    assert store.sent == [
        {"update": [{"inventory_item_id": "iitem_1", "location_id": LOCATION, "stocked_quantity": 4}]}
    ]
    assert (result["unchanged"], result["not_in_store"]) == (1, 1)


def test_the_stock_fetch_reads_no_category_list_and_writes_no_category_names(tmp_path, monkeypatch):
    conn = {"conn_type": "product_catalog", "extra": {}}
    params = {k: p.value for k, p in dag_parts.stock_params(settings.load({})).items()}
    ti = Ti()
    ti.get_dr_count = lambda **_: 0  # no catalog run in progress
    with CatalogServer(generate_catalog(30)) as catalog:
        monkeypatch.setenv("AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps({**conn, "host": catalog.url}))
        dag = SimpleNamespace(dag_id="medusa_stock_sync", has_task=lambda _task_id: False)
        op = FetchStockOperator(task_id="fetch_stock", storage_url=f"file://{tmp_path}", page_concurrency=2)
        summary = op.execute({"dag": dag, "run_id": "run", "params": params, "ti": ti})
        asked = {r.path for r in catalog.requests}
    folder = RunFolder.for_run(f"file://{tmp_path}", "medusa_stock_sync", "run")
    assert summary["valid"] == 30
    assert asked == {"/products"}
    assert not folder.source_categories.exists()
