"""Clearing an old run never rolls the store back, and a rerun is judged by what it ran this time.

A real Airflow (scheduler + LocalExecutor + api-server + dag-processor on PostgreSQL), driven
through its REST API as from the UI; Medusa behind the fault proxy; one store and one cluster for
the module, its scenarios in order.
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest

from tests.stack import airflow_cluster as ac
from tests.stack.airflow_local import DAG_ID, medusa_connection, source_connection
from tests.stack.counting_proxy import Fault
from tests.stack.store_view import ours, store_products

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

FAST_RETRIES = {
    **ac.FAST_RETRIES,
    # The pause before a 404 is asked for again: short, so the runs stay fast; two 404s still needed.
    "AIRFLOW__MEDUSA_SYNC__MISSING_RECHECK_PAUSE_SECONDS": "0.2",
}
PRODUCT = 42  # the source id whose price the runs fight over


@pytest.fixture(scope="module")
def cluster(airflow_cluster_factory, medusa_store_module, medusa_proxy, catalog):
    connections = {
        "medusa_default": medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key),
        "dummyjson_default": source_connection(catalog.url),
    }
    with airflow_cluster_factory(connections, env=FAST_RETRIES) as cluster:
        cluster.api.unpause(DAG_ID)
        first = cluster.api.trigger(DAG_ID)
        assert cluster.wait_for_run(DAG_ID, first, timeout=600) == "success", cluster.logs_tail()
        yield cluster


def with_price(catalog: list[dict], price: float) -> list[dict]:
    changed = copy.deepcopy(catalog)
    next(r for r in changed if r["id"] == PRODUCT)["price"] = price
    return changed


def price_in_store(store) -> float:
    return ours(store_products(store))[PRODUCT]["variants"][0]["prices"][0]["amount"]


def rerun(cluster, run_id: str, task_id: str, *, only_failed: bool) -> str:
    """Clear ``task_id`` and downstream as from the UI, then wait for the run to finish again."""
    before = cluster.api.run_state(DAG_ID, run_id)
    cluster.api.clear_failed(
        DAG_ID, run_id, task_ids=[task_id], include_downstream=True, only_failed=only_failed
    )
    deadline = time.monotonic() + 60
    while cluster.api.run_state(DAG_ID, run_id) == before and time.monotonic() < deadline:
        time.sleep(0.5)  # the clear puts the run back to queued; wait for it before waiting on it
    return cluster.wait_for_run(DAG_ID, run_id, timeout=600)


def failed_with_batches_down(cluster, medusa_proxy, conf: dict | None = None) -> str:
    """A run that plans, then fails: Medusa answers every batch request 502 (until the proxy is
    reset). Its batches are left failed, for a later clear."""
    medusa_proxy.inject(
        Fault("POST", "/admin/products/batch", status=502, times=-1, body={"message": "bad gateway"})
    )
    run_id = cluster.api.trigger(DAG_ID, conf=conf)
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=600) == "failed", cluster.logs_tail()
    return run_id


def test_clearing_an_old_failed_batch_after_a_newer_run_keeps_the_newer_price(
    cluster, catalog, medusa_proxy, medusa_store_module, real_catalog
):
    catalog.replace_products(with_price(real_catalog, 111.11))
    run_a = failed_with_batches_down(cluster, medusa_proxy)
    assert cluster.report(run_a)["batches"]["failed"] == ["batch 1/1 · 1 update"]

    medusa_proxy.reset()  # Medusa reachable again
    catalog.replace_products(with_price(real_catalog, 222.22))
    run_b = cluster.api.trigger(DAG_ID)
    assert cluster.wait_for_run(DAG_ID, run_b, timeout=600) == "success", cluster.logs_tail()
    assert cluster.report(run_b)["products"]["updated"] == 1
    assert price_in_store(medusa_store_module) == 222.22

    medusa_proxy.reset()  # from here on, count only what A's cleared batch sends
    assert rerun(cluster, run_a, "upsert_batch", only_failed=True) == "success", cluster.logs_tail()
    report = cluster.report(run_a)
    print(f"\n[stale] run A after clear: products {report['products']}; superseded {report['superseded']}")
    assert price_in_store(medusa_store_module) == 222.22
    assert [(s["external_id"], s["action"], s["superseded_by"]) for s in report["superseded"]] == [
        (f"dummyjson:{PRODUCT}", "update", run_b)  # B planned since: A's batch is not even looked at
    ]
    assert (report["products"]["updated"], report["products"]["superseded"]) == (0, 1)
    batch_writes = [w for w in medusa_proxy.writes() if w[1] == "/admin/products/batch"]
    assert batch_writes == []  # A's clear wrote nothing
    external_ids = Counter(p["external_id"] for p in store_products(medusa_store_module))
    assert {e: n for e, n in external_ids.items() if n > 1} == {}
    assert len(ours(store_products(medusa_store_module))) == 194


def test_a_run_cleared_from_fetch_pages_whose_fetch_then_fails_ends_failed(cluster, catalog):
    run_id = cluster.api.trigger(DAG_ID)
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=600) == "success", cluster.logs_tail()
    assert cluster.report(run_id)["status"] == "success"

    catalog.set_faults(error_rate=1.0, error_status=404)  # not retried by the hook: fails fast
    try:
        state = rerun(cluster, run_id, "fetch_pages", only_failed=False)
    finally:
        catalog.reset_faults()
    states = {(t["task_id"], t["map_index"]): t["state"] for t in cluster.api.task_instances(DAG_ID, run_id)}
    report = cluster.report(run_id)
    print(f"\n[stale] cleared from fetch_pages, source failing: run {state}; tasks {states}; report {report}")
    assert state == "failed"
    assert states[("fetch_pages", -1)] == "failed"
    assert states[("report", -1)] == "failed"
    assert report["status"] == "failed"
    assert report["failed_because"][0] == "fetch_pages: failed"
    assert report["planned"]["unchanged"] == 0  # nothing from the earlier attempt's plan passes as this one's
    tries = cluster.api.task_instance(DAG_ID, run_id, "report")["try_number"]
    assert "fetch_pages: failed" in cluster.api.task_log(DAG_ID, run_id, "report", try_number=tries)


GONE, NEW = 150, 9001  # a product removed upstream then restored; one added upstream then removed


def test_clearing_an_old_failed_batch_after_a_newer_run_that_wrote_nothing_rolls_nothing_back(
    cluster, catalog, medusa_proxy, medusa_store_module, real_catalog
):
    """R1 plans a delete, a price cut and a create; its batch fails. Upstream reverts all three, so
    R2 finds the store right and writes nothing. Clearing R1's batch days later finds the store
    exactly as R1 planned against, yet must not act: R2 has decided since."""
    price = price_in_store(medusa_store_module)  # 222.22 after the first scenario
    current = with_price(real_catalog, price)
    assert price != 99.99
    catalog.replace_products(current)
    newcomer = copy.deepcopy(current[0]) | {"id": NEW, "sku": f"NEW-{NEW}", "title": "Newest Decision Lamp"}
    newcomer["meta"]["barcode"] = f"{NEW}000000000"  # skus and barcodes are unique in a catalog
    changed = [r for r in with_price(current, 99.99) if r["id"] != GONE] + [newcomer]
    catalog.replace_products(changed)
    run_1 = failed_with_batches_down(cluster, medusa_proxy, {"on_missing": "delete"})
    planned = cluster.report(run_1)["planned"]
    assert (planned["create"], planned["update"], planned["missing_upstream"]) == (1, 1, 1)

    medusa_proxy.reset()
    catalog.replace_products(current)  # upstream: the product is back, the price restored
    run_2 = cluster.api.trigger(DAG_ID, conf={"on_missing": "delete"})
    assert cluster.wait_for_run(DAG_ID, run_2, timeout=600) == "success", cluster.logs_tail()
    nothing_to_do = {"create": 0, "update": 0, "unchanged": 194, "missing_upstream": 0}
    assert cluster.report(run_2)["planned"] == nothing_to_do
    assert [w for w in medusa_proxy.writes() if w[1] == "/admin/products/batch"] == []

    medusa_proxy.reset()  # from here on, count only what R1's cleared batch sends
    assert rerun(cluster, run_1, "upsert_batch", only_failed=True) == "success", cluster.logs_tail()
    report = cluster.report(run_1)
    print(f"\n[stale] R1 after clear: products {report['products']}; superseded {report['superseded']}")
    assert sorted((s["external_id"], s["action"], s["superseded_by"]) for s in report["superseded"]) == [
        (f"dummyjson:{GONE}", "delete", run_2),
        (f"dummyjson:{PRODUCT}", "update", run_2),
        (f"dummyjson:{NEW}", "create", run_2),
    ]
    counts = report["products"]
    assert (counts["created"], counts["updated"], counts["deleted"], counts["superseded"]) == (0, 0, 0, 3)
    assert [w for w in medusa_proxy.writes() if w[1] == "/admin/products/batch"] == []
    store = ours(store_products(medusa_store_module))
    assert GONE in store and NEW not in store and len(store) == 194
    assert price_in_store(medusa_store_module) == price


BACK = 77  # a product removed upstream, planned for deletion, then back upstream


def test_clearing_an_old_failed_delete_with_no_newer_run_asks_the_source_again_and_deletes_nothing(
    cluster, catalog, medusa_proxy, medusa_store_module, real_catalog
):
    """R3 plans to delete a product the source answered 404 for (twice); its batch fails. The
    product comes back upstream and no run plans since (as when the later runs fail in their fetch
    or are dry runs), so no newer-plan marker stops R3's batch. Cleared with its plan 2 hours old,
    the delete asks the source again, finds the product, and deletes nothing."""
    current = with_price(real_catalog, price_in_store(medusa_store_module))
    catalog.replace_products([r for r in current if r["id"] != BACK])
    run_3 = failed_with_batches_down(cluster, medusa_proxy, {"on_missing": "delete"})
    planned = cluster.report(run_3)["planned"]
    assert (planned["create"], planned["update"], planned["missing_upstream"]) == (0, 0, 1)
    plan_file = cluster.storage_dir / DAG_ID / run_3 / "plan.json"
    plan = json.loads(plan_file.read_text())
    assert plan["missing_acted_on"] == 1  # the plan proved it gone: two 404s

    medusa_proxy.reset()
    catalog.replace_products(current)  # upstream: the product is back; no run plans since
    # The plan as it would be had the clear come two hours later: what upsert_batch dates it by.
    plan["planned_at"] = (datetime.fromisoformat(plan["planned_at"]) - timedelta(hours=2)).isoformat()
    plan_file.write_text(json.dumps(plan))

    medusa_proxy.reset()  # from here on, count only what R3's cleared batch sends
    assert rerun(cluster, run_3, "upsert_batch", only_failed=True) == "success", cluster.logs_tail()
    report = cluster.report(run_3)
    print(f"\n[stale] R3 after clear: products {report['products']}; superseded {report['superseded']}")
    [superseded] = report["superseded"]
    assert (superseded["external_id"], superseded["action"], superseded["superseded_by"]) == (
        f"dummyjson:{BACK}",
        "delete",
        None,  # no newer run: the source itself said the product is back
    )
    assert superseded["reason"].startswith(f"back upstream: the source has source id {BACK} again")
    assert (report["products"]["deleted"], report["products"]["superseded"]) == (0, 1)
    assert [w for w in medusa_proxy.writes() if w[1] == "/admin/products/batch"] == []
    store = ours(store_products(medusa_store_module))
    assert BACK in store and len(store) == 194
    # Both reasons to ask again were seen: the clear, and the plan's age over the 60 min bound.
    tries = cluster.api.task_instance(DAG_ID, run_3, "upsert_batch", map_index=0)["try_number"]
    log = cluster.api.task_log(DAG_ID, run_3, "upsert_batch", try_number=tries, map_index=0)
    assert "asking the source again for the 1 product(s) to draft or delete" in log
    assert "a retried or cleared batch; planned 12" in log and "missing_proof_max_age_minutes=60" in log
