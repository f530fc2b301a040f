"""The whole DAG, run by Airflow against a real Medusa and the local catalog server.

The tests in this module build on each other, in order, on one store: a dry run on the empty
store, the first sync, an unchanged re-run, then a price change at the source.
"""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from tests.fixtures.store_view import store_categories, store_products

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]


def test_dry_run_on_an_empty_store_writes_nothing_and_plans_every_create(
    sync, medusa_store_module, medusa_proxy
):
    outcome = sync(dry_run=True)
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["planned"]["create"] == 194
    assert outcome.report["products"]["created"] == 0
    assert medusa_proxy.writes() == []
    assert store_products(medusa_store_module) == []
    assert store_categories(medusa_store_module) == []


def test_first_run_puts_the_whole_catalog_in_the_store(sync, medusa_store_module, real_catalog):
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["products"]["created"] == 194
    assert outcome.report["categories"]["created"] == 24

    products = store_products(medusa_store_module)
    assert sorted(p["external_id"] for p in products) == sorted(f"dummyjson:{i}" for i in range(1, 195))
    by_source = {int(p["external_id"].split(":")[1]): p for p in products}
    for record in real_catalog:
        product = by_source[record["id"]]
        [variant] = product["variants"]
        assert [price["amount"] for price in variant["prices"]] == [record["price"]], record["id"]
        assert [c["handle"] for c in product["categories"]] == [record["category"]], record["id"]
    assert by_source[1]["variants"][0]["prices"][0]["amount"] == 9.99

    handles = [p["handle"] for p in products]
    assert len(set(handles)) == len(handles) == 194
    assert sum(1 for p in products if p["title"] == "Rolex Cellini Moonphase") == 2

    names = {c["handle"]: c["name"] for c in store_categories(medusa_store_module)}
    assert len(names) == 24
    assert names["kitchen-accessories"] == "Kitchen Accessories"


def test_no_xcom_holds_product_data(local_airflow, real_catalog):
    values = local_airflow.xcom_values()
    assert values, "the runs left no XCom at all"
    titles = {r["title"] for r in real_catalog}
    for task_id, key, value in values:
        assert len(value) < 4000, (task_id, key, len(value))
        assert not any(title in value for title in titles), (task_id, key)


def test_an_unchanged_catalog_sends_no_write_to_medusa(sync, medusa_proxy):
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    products = outcome.report["products"]
    assert (products["created"], products["updated"], products["unchanged"]) == (0, 0, 194)
    assert medusa_proxy.writes() == []
    assert medusa_proxy.counts()["GET"] > 0


def test_a_price_change_at_the_source_updates_exactly_that_product(
    sync, catalog, medusa_store_module, real_catalog
):
    before = {p["external_id"]: p["updated_at"] for p in store_products(medusa_store_module)}
    changed = copy.deepcopy(real_catalog)
    changed[41]["price"] = 123.45
    catalog.replace_products(changed)
    try:
        outcome = sync()
    finally:
        catalog.replace_products(real_catalog)
    assert outcome.returncode == 0, outcome.output[-5000:]
    products = outcome.report["products"]
    assert (products["created"], products["updated"], products["unchanged"]) == (0, 1, 193)

    after = {p["external_id"]: p for p in store_products(medusa_store_module)}
    target = f"dummyjson:{changed[41]['id']}"
    assert after[target]["variants"][0]["prices"][0]["amount"] == 123.45
    moved = Counter(ext for ext, p in after.items() if p["updated_at"] != before[ext])
    assert set(moved) == {target}
