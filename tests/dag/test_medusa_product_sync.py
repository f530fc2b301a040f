"""The whole DAG, run by Airflow against a real Medusa and the local catalog server.

The tests in this module build on each other, in order, on one store: a dry run on the empty
store, the first sync, an unchanged re-run, then a price change at the source.
"""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest

from tests.stack.store_view import store_categories, store_products

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


def test_an_unchanged_catalog_sends_no_write_to_medusa(sync, medusa_proxy, local_airflow):
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    products = outcome.report["products"]
    assert (products["created"], products["updated"], products["unchanged"]) == (0, 0, 194)
    assert medusa_proxy.writes() == []
    assert medusa_proxy.counts()["GET"] > 0
    # Every category and tag was there already: the fetch found them, wrote the ids the diff maps
    # with, and skipped sync_categories, whose process never started; the report still counts them.
    states = local_airflow.task_states(outcome.report["run_id"])
    assert (states["sync_categories"], states["compute_diff"]) == ("skipped", "success")
    assert outcome.report["categories"] == {"created": 0, "existing": 24}
    assert outcome.report["tags"] == {"created": 0, "existing": 138}
    # read_store listed only the products updated since the first sync's read (the 194 it created,
    # none more: the dry run's read before it was of the empty store) and merged them into that read.
    run = local_airflow.storage / "medusa_product_sync" / outcome.report["run_id"]
    read = json.loads((run / "store" / "snapshot.json").read_text())
    assert read["products"] == 194
    assert read["read"].startswith("194 changed since "), read["read"]


def test_a_price_change_at_the_source_updates_exactly_that_product(
    sync, catalog, medusa_store_module, real_catalog
):
    before = {p["external_id"]: p["updated_at"] for p in store_products(medusa_store_module)}
    changed = copy.deepcopy(real_catalog)
    changed[41]["price"] = 123.45
    with catalog.serving(changed):
        outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    products = outcome.report["products"]
    assert (products["created"], products["updated"], products["unchanged"]) == (0, 1, 193)

    after = {p["external_id"]: p for p in store_products(medusa_store_module)}
    target = f"dummyjson:{changed[41]['id']}"
    assert after[target]["variants"][0]["prices"][0]["amount"] == 123.45
    moved = Counter(ext for ext, p in after.items() if p["updated_at"] != before[ext])
    assert set(moved) == {target}


def test_a_category_deleted_in_the_admin_is_created_again_by_the_next_run(
    sync, local_airflow, medusa_store_module, real_catalog
):
    admin = medusa_store_module.admin
    listed = admin.get("/admin/product-categories", params={"handle": "beauty", "fields": "id"})
    [beauty] = listed.json()["product_categories"]
    deleted = admin.delete(f"/admin/product-categories/{beauty['id']}")
    assert deleted.status_code == 200, deleted.text[:500]

    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    # The fetch found one category missing and made only that one as it read the pages, so
    # sync_categories was skipped.
    assert local_airflow.task_states(outcome.report["run_id"])["sync_categories"] == "skipped"
    assert outcome.report["categories"] == {"created": 1, "existing": 23}
    in_beauty = {
        p["external_id"]
        for p in store_products(medusa_store_module)
        if [c["handle"] for c in p["categories"]] == ["beauty"]
    }
    assert in_beauty == {f"dummyjson:{r['id']}" for r in real_catalog if r["category"] == "beauty"}


# Numbers that cannot be prices, each given to one product: (source id, price, reason).
CANNOT_BE_PRICES = [
    (7, 1e26, "price: Value error, 1E+26 is larger than 9999999999999.99"),
    (8, "1e30", "price: Value error, '1e30' is larger than 9999999999999.99"),
    (9, float("nan"), "price: Value error, nan is not a finite number"),
    (10, "Infinity", "price: Value error, 'Infinity' is not a finite number"),
    (11, -4.5, "price: Value error, -4.5 is negative"),
    (12, 9.999, "price: Value error, 9.999 has more decimals than USD allows (2)"),
]


def test_numbers_that_cannot_be_prices_are_quarantined_each_with_its_reason_and_the_rest_sync(
    sync, catalog, medusa_store_module, real_catalog
):
    """One run for the six (a run each would cost CI minutes and prove nothing more): each bad
    number is quarantined with its own reason, never written, and every other product syncs."""
    bad = copy.deepcopy(real_catalog)
    for source_id, price, _ in CANNOT_BE_PRICES:
        bad[source_id - 1]["price"] = price
    with catalog.serving(bad):
        outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report
    quarantined = {q["source_id"]: q["reason"] for q in report["quarantine"]}
    assert set(quarantined) == {str(source_id) for source_id, _, _ in CANNOT_BE_PRICES}
    for source_id, _, reason in CANNOT_BE_PRICES:
        assert quarantined[str(source_id)].startswith(reason), quarantined[str(source_id)]
    assert report["source"]["valid"] == 194 - len(CANNOT_BE_PRICES)
    assert report["products"]["missing_upstream"] == 0  # quarantined is not gone

    prices = {
        int(p["external_id"].split(":")[1]): p["variants"][0]["prices"][0]["amount"]
        for p in store_products(medusa_store_module)
    }
    assert len(prices) == 194
    # Never written with a bad number, and every other product as the source says.
    assert prices == {r["id"]: r["price"] for r in real_catalog}
