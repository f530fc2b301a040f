"""Stock levels in a real Medusa: the catalog sync with ``sync_inventory`` on, then the hourly
``medusa_stock_sync``, both run by Airflow against the local catalog server.

In order, on one store: a dry run writes nothing; the first sync stocks every variant; five stock
changes are written by the stock sync as five level updates and nothing else; a second stock run
writes nothing; the catalog sync with only stock changed writes levels, never products; a bad
stock is quarantined while its product still syncs; a newer stock run that failed halfway is not
overwritten by an older run replayed after it. Every write is counted at the proxy in front of Medusa.
"""

from __future__ import annotations

import contextlib
import copy
import json
import sys
from typing import Any

import pytest

from medusa_sync.core.stock import STORE_LEVEL_FIELDS
from tests.dag.conftest import LEVELS, STOCK_DAG, level_writes
from tests.stack.airflow_local import medusa_connection, source_connection
from tests.stack.counting_proxy import Fault
from tests.stack.store_view import differences, levels, location_id, ours, stocked, store_products

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]

PRODUCTS = "/admin/products/batch"


def change_stock(catalog, changes: dict[int, Any]) -> list[dict[str, Any]]:
    records = copy.deepcopy(catalog.products)
    for record in records:
        if record["id"] in changes:
            record["stock"] = changes[record["id"]]
    catalog.replace_products(records)
    return records


def reserve(store, *, source_id: int, quantity: int) -> str:
    """A reservation (an order's hold) on the product's inventory item at the sync's location;
    returns the inventory item's id."""
    product = ours(store_products(store, fields=",".join(STORE_LEVEL_FIELDS)))[source_id]
    [item] = product["variants"][0]["inventory_items"]
    body = {"inventory_item_id": item["inventory_item_id"], "location_id": location_id(store)}
    response = store.admin.post("/admin/reservations", json={**body, "quantity": quantity})
    response.raise_for_status()
    return item["inventory_item_id"]


def reserved_quantity(store, inventory_item_id: str) -> int:
    response = store.admin.get(
        f"/admin/inventory-items/{inventory_item_id}/location-levels",
        params={"fields": "id,location_id,reserved_quantity"},
    )
    response.raise_for_status()
    [level] = response.json()["inventory_levels"]
    return level["reserved_quantity"]


def storefront_quantities(store, source_ids: list[int]) -> dict[int, int]:
    """``inventory_quantity`` as a storefront sees it, through a publishable key on the channel."""
    key = store.admin.post("/admin/api-keys", json={"title": "storefront", "type": "publishable"}).json()
    channel = store.admin.get("/admin/stores").json()["stores"][0]["default_sales_channel_id"]
    store.admin.post(f"/admin/api-keys/{key['api_key']['id']}/sales-channels", json={"add": [channel]})
    params = [("fields", "external_id,variants.inventory_quantity"), ("limit", 100)]
    params += [("external_id", f"dummyjson:{source_id}") for source_id in source_ids]
    response = store.admin.get(
        "/store/products", params=params, headers={"x-publishable-api-key": key["api_key"]["token"]}
    )
    response.raise_for_status()
    return {
        int(p["external_id"].split(":")[1]): p["variants"][0]["inventory_quantity"]
        for p in response.json()["products"]
    }


def test_a_dry_run_with_inventory_writes_nothing_not_even_the_stock_location(sync, medusa_proxy):
    outcome = sync(sync_inventory=True, dry_run=True)
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["stock"]["planned_create"] == 0  # nothing in the store to stock yet
    assert outcome.report["stock"]["not_in_store"] == 194
    assert medusa_proxy.writes() == []


def test_a_catalog_sync_with_inventory_gives_every_variant_one_level_holding_its_stock(
    sync, medusa_store_module, medusa_proxy, real_catalog
):
    outcome = sync(sync_inventory=True)
    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report
    assert report["products"]["created"] == 194
    assert (report["stock"]["created"], report["stock"]["updated"]) == (194, 0)

    expected = {r["id"]: r["stock"] for r in real_catalog}
    everywhere = levels(medusa_store_module)
    assert sorted(everywhere) == sorted(expected)
    assert all(len(here) == 1 for here in everywhere.values())  # one level each, at one location
    assert stocked(medusa_store_module) == expected  # 194 of 194
    assert level_writes(medusa_proxy) == (194, 0)
    # The stock is the level's, not the product's: it is not in metadata, so it is not in the hash.
    assert not any("stock" in (p["metadata"] or {}) for p in store_products(medusa_store_module))

    sample = [1, 2, 30, 100, 194]
    assert storefront_quantities(medusa_store_module, sample) == {i: expected[i] for i in sample}


def test_five_stock_changes_are_five_level_updates_and_no_product_write(
    stock_sync, catalog, medusa_store_module, medusa_proxy
):
    reserved = reserve(medusa_store_module, source_id=17, quantity=2)  # an order holds 2 of them
    changes = {3: 0, 17: 999, 42: 1, 77: 5000, 150: 12}
    records = change_stock(catalog, changes)

    result = stock_sync()

    assert (result["updated"], result["created"], result["unchanged"]) == (5, 0, 189)
    assert level_writes(medusa_proxy) == (0, 5)
    assert [path for _, path in medusa_proxy.writes()] == [LEVELS]  # one request, no product write
    assert stocked(medusa_store_module) == {r["id"]: r["stock"] for r in records}
    assert reserved_quantity(medusa_store_module, reserved) == 2  # reservations are Medusa's


def test_a_second_stock_run_writes_nothing_and_skips_a_product_not_created_yet(
    stock_sync, catalog, medusa_proxy
):
    before = catalog.products
    newcomer = {**copy.deepcopy(before[0]), "id": 9001, "sku": "NEW-9001", "stock": 4}
    with catalog.serving([*before, newcomer]):
        result = stock_sync()
    assert (result["updated"], result["created"], result["unchanged"]) == (0, 0, 194)
    assert result["not_in_store"] == 1  # the catalog sync has not created it yet
    assert medusa_proxy.writes() == []


def test_the_catalog_sync_with_only_stock_changed_writes_levels_never_products(
    sync, catalog, medusa_store_module, medusa_proxy
):
    records = change_stock(catalog, {5: 7, 6: 8, 7: 9, 8: 10, 9: 11})

    outcome = sync(sync_inventory=True)

    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["products"]["unchanged"] == 194
    assert outcome.report["products"]["updated"] == outcome.report["products"]["created"] == 0
    assert (outcome.report["stock"]["updated"], outcome.report["stock"]["created"]) == (5, 0)
    assert level_writes(medusa_proxy) == (0, 5)
    assert PRODUCTS not in [path for _, path in medusa_proxy.writes()]
    assert stocked(medusa_store_module) == {r["id"]: r["stock"] for r in records}


def test_a_bad_stock_is_quarantined_with_its_reason_and_its_product_still_syncs(
    sync, catalog, medusa_store_module
):
    before = stocked(medusa_store_module)
    records = change_stock(catalog, {11: -3, 12: "many"})
    for record in records:
        if record["id"] == 12:
            record["title"] += " (new edition)"
    catalog.replace_products(records)

    outcome = sync(sync_inventory=True)

    assert outcome.returncode == 0, outcome.output[-5000:]
    reasons = {q["source_id"]: q["reason"] for q in outcome.report["quarantine"]}
    assert reasons == {"11": "stock: -3 is negative", "12": "stock: 'many' is not an integer"}
    assert outcome.report["products"]["updated"] == 1  # the new title: the product still syncs
    products = ours(store_products(medusa_store_module))
    assert products[12]["title"].endswith("(new edition)") and 11 in products
    after = stocked(medusa_store_module)
    assert (after[11], after[12]) == (before[11], before[12])  # their levels are left as they were
    assert outcome.report["stock"]["unchanged"] == 192


# Absurd numbers, each on a product of its own: (source id, where in the record, value, how the
# quarantine reason begins). The 5,000-digit integer is on the first page with 99 good records.
ABSURD = [
    (20, ("weight",), "NaN", "weight: Value error, 'NaN' is not a finite number"),
    (
        21,
        ("dimensions", "width"),
        "Infinity",
        "dimensions.width: Value error, 'Infinity' is not a finite number",
    ),
    (22, ("rating",), "NaN", "rating: Value error, 'NaN' is not a finite number"),
    (23, ("weight",), 1e26, "weight: Value error, 1E+26 is larger than 9007199254740991"),
    (24, ("weight",), -5, "weight: Value error, -5 is negative"),
    (
        26,
        ("minimumOrderQuantity",),
        7 * (10**5000 - 1) // 9,  # 5,000 sevens, made without the text Python refuses to convert
        "minimumOrderQuantity: Value error, 777777777777... (a number of 5000 digits) is larger than",
    ),
    # The exact decimal text reaches the sync (a JSON number this server could only write as the
    # nearest double); the cap refuses it, naming the limit, rather than lose its cents.
    (
        27,
        ("price",),
        "78069713967633.85",
        "price: Value error, '78069713967633.85' is larger than 9999999999999.99, the largest USD "
        "price Medusa holds exactly (15 significant digits)",
    ),
]
HUGE_STOCK = (25, 1e30, "stock: 1E+30 is larger than 9007199254740991")


@contextlib.contextmanager
def served_huge_integers():
    """Let this process's catalog server write a 5,000-digit integer (Python refuses ``str`` of
    one past 4,300 digits); the sync runs in its own processes, under the default limit."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(limit)


def test_absurd_numbers_cost_their_records_and_everything_else_syncs_then_a_rerun_writes_nothing(
    sync, catalog, medusa_store_module, medusa_proxy
):
    original = copy.deepcopy(catalog.products)
    records = copy.deepcopy(original)
    by_id = {r["id"]: r for r in records}
    for source_id, where, value, _ in ABSURD:
        target = by_id[source_id]
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value
    by_id[HUGE_STOCK[0]]["stock"] = HUGE_STOCK[1]
    by_id[28]["title"] += " (same page as the huge integer)"
    by_id[150]["title"] += " (second page)"
    before = ours(store_products(medusa_store_module))
    before_levels = stocked(medusa_store_module) if before else {}  # no location in a new store
    catalog.replace_products(records)
    try:
        with served_huge_integers():
            outcome = sync(sync_inventory=True)
            assert outcome.returncode == 0, outcome.output[-5000:]
            assert outcome.report["status"] == "success"
            reasons = {q["source_id"]: q["reason"] for q in outcome.report["quarantine"]}
            for source_id, _, _, reason in [*ABSURD, (HUGE_STOCK[0], None, None, HUGE_STOCK[2])]:
                assert reasons.pop(str(source_id)).startswith(reason)
            # Anything else quarantined is a stock an earlier test of this module made bad.
            assert all(reason.startswith("stock:") for reason in reasons.values()), reasons
            quarantined = {source_id for source_id, *_ in ABSURD}
            assert outcome.report["source"]["valid"] == len(records) - len(quarantined)

            products = ours(store_products(medusa_store_module))
            for record in records:
                if record["id"] in quarantined:
                    # Left as the store held it (or not created, for a product new to it).
                    assert products.get(record["id"]) == before.get(record["id"])
                else:  # synced, in step with the source field by field (stock lives in its level)
                    assert differences(products[record["id"]], {**record, "stock": None}) == []
            assert products[28]["title"].endswith("(same page as the huge integer)")
            assert products[150]["title"].endswith("(second page)")
            if HUGE_STOCK[0] in before_levels:
                assert stocked(medusa_store_module)[HUGE_STOCK[0]] == before_levels[HUGE_STOCK[0]]

            rerun = sync(sync_inventory=True)
            assert rerun.returncode == 0, rerun.output[-5000:]
            assert medusa_proxy.writes() == []
            assert rerun.report["products"]["updated"] == rerun.report["products"]["created"] == 0
    finally:
        catalog.replace_products(original)


def test_a_newer_stock_run_that_failed_halfway_is_not_overwritten_by_an_older_runs_stock(
    local_airflow, catalog, medusa_store_module, medusa_proxy
):
    """An older run reads the source and fails before any level lands; a newer run reads newer
    stock, writes its first request of levels and fails. The older run's ``sync_stock`` run again
    afterwards (as a clear would) must leave every level the newer run wrote as it is."""
    connections = {
        "medusa_default": medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key),
        "dummyjson_default": source_connection(catalog.url),
    }

    def failing_stock_run(fault: Fault) -> str:
        medusa_proxy.reset()
        medusa_proxy.inject(fault)
        before = local_airflow.run_ids(STOCK_DAG)
        outcome = local_airflow.run_dag(
            connections=connections,
            dag_id=STOCK_DAG,
            result="stock.json",
            extra_env={"AIRFLOW__MEDUSA_SYNC__LEVEL_BATCH_SIZE": "50"},  # 194 levels: 4 requests
        )
        assert outcome.report is None, "the stock run was meant to fail"
        [run_id] = local_airflow.run_ids(STOCK_DAG) - before
        return run_id

    # A status the hook does not retry keeps each failing attempt short.
    refused = {"status": 400, "body": {"type": "unexpected_state", "message": "injected"}}
    held = stocked(medusa_store_module)
    change_stock(catalog, {source_id: quantity + 100 for source_id, quantity in held.items()})
    older = failing_stock_run(Fault("POST", LEVELS, times=-1, **refused))
    assert stocked(medusa_store_module) == held  # nothing landed

    change_stock(catalog, {source_id: quantity + 200 for source_id, quantity in held.items()})
    failing_stock_run(Fault("POST", LEVELS, skip=1, times=-1, **refused))  # the first request lands
    newer = stocked(medusa_store_module)
    written = {source_id for source_id, quantity in newer.items() if quantity != held[source_id]}
    assert len(written) == 50 and all(newer[i] == held[i] + 200 for i in written)

    medusa_proxy.reset()
    replay = local_airflow.rerun_task(
        connections=connections, dag_id=STOCK_DAG, task_id="sync_stock", run_id=older
    )
    assert replay.returncode == 0, (replay.stdout + replay.stderr)[-5000:]
    result = json.loads((local_airflow.storage / STOCK_DAG / older / "stock.json").read_text())
    print(f"\n[stock] older run replayed after the newer one failed halfway: {result}")
    assert (result["updated"], result["created"], result["superseded"]) == (0, 0, 194)
    assert level_writes(medusa_proxy) == (0, 0)
    assert stocked(medusa_store_module) == newer  # the newer run's 50 levels stand
