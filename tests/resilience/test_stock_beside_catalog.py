"""The hourly stock sync and the daily catalog sync on one real Airflow (scheduler with
LocalExecutor, api-server, dag-processor on PostgreSQL) and one real Medusa.

A stock run started while a catalog run is in progress ends at once, skipped, saying why: the
catalog run's own ``sync_stock`` keeps the levels, and the stock run's writes would only wait for
the pool behind the catalog's upserts (at 100,000 products, past the stock run's 55 minutes).
A catalog run started while a stock run writes finds the pool taken: its Medusa tasks wait, so the
two never write at once. Requests are slowed at the proxy so each run is caught in the middle.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.fixtures.medusa import MedusaStore
from tests.stack.airflow_cluster import AirflowCluster
from tests.stack.airflow_local import DAG_ID, MEDUSA_POOL, medusa_connection, source_connection
from tests.stack.catalog_server import CatalogServer
from tests.stack.counting_proxy import CountingProxy, Watch
from tests.stack.store_view import ours, stocked, store_products

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

STOCK_DAG = "medusa_stock_sync"
LEVELS_PATH = "/admin/inventory-items/location-levels/batch"


@pytest.fixture(scope="module")
def cluster(
    airflow_cluster_factory,
    medusa_store_module: MedusaStore,
    medusa_proxy: CountingProxy,
    catalog: CatalogServer,
) -> Iterator[AirflowCluster]:
    connections = {
        "medusa_default": medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key),
        "dummyjson_default": source_connection(catalog.url),
    }
    # Two levels per request: a stock run's writes take a few slowed requests.
    env = {"AIRFLOW__MEDUSA_SYNC__RETRIES": "0", "AIRFLOW__MEDUSA_SYNC__LEVEL_BATCH_SIZE": "2"}
    with airflow_cluster_factory(connections, env=env) as cluster:
        for dag_id in (DAG_ID, STOCK_DAG):
            cluster.api.unpause(dag_id)
        yield cluster


def interval(ti: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(ti["start_date"]), datetime.fromisoformat(ti["end_date"])


def changed(catalog: CatalogServer, *, titles: slice = slice(0), stocks: slice = slice(0)) -> list[dict]:
    records = copy.deepcopy(catalog.products)
    for record in records[titles]:
        record["title"] += " (2027)"
    for record in records[stocks]:
        record["stock"] += 3
    catalog.replace_products(records)
    return records


def test_a_stock_run_during_a_catalog_run_ends_skipped_at_once_and_the_catalog_run_keeps_the_levels(
    cluster: AirflowCluster,
    medusa_proxy: CountingProxy,
    catalog: CatalogServer,
    medusa_store_module: MedusaStore,
) -> None:
    first = cluster.api.trigger(DAG_ID, conf={"sync_inventory": True})
    assert cluster.wait_for_run(DAG_ID, first, timeout=600) == "success", cluster.logs_tail()

    records = changed(catalog, titles=slice(0, 60), stocks=slice(100, 110))
    slow = medusa_proxy.watch(Watch("POST", "/admin/products/batch", delay=3.0))
    try:
        catalog_run = cluster.api.trigger(DAG_ID, conf={"sync_inventory": True, "batch_size": 5})
        cluster.wait_for_task_state(DAG_ID, catalog_run, "upsert_batch", ("running",), map_index=0)
        stock_run = cluster.api.trigger(STOCK_DAG)
        assert cluster.wait_for_run(STOCK_DAG, stock_run, timeout=180) == "success", cluster.logs_tail()
        assert cluster.api.run_state(DAG_ID, catalog_run) == "running"  # it ended while the catalog ran
    finally:
        medusa_proxy.unwatch(slow)
    assert cluster.wait_for_run(DAG_ID, catalog_run, timeout=600) == "success", cluster.logs_tail()

    stock_tasks = {t["task_id"]: t for t in cluster.api.task_instances(STOCK_DAG, stock_run)}
    run = cluster.api.dag_run(STOCK_DAG, stock_run)
    took = (
        datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])
    ).total_seconds()
    print(f"\n[stock beside catalog] the stock run ended skipped after {took:.1f} s", flush=True)
    assert took < 180
    assert {t: ti["state"] for t, ti in stock_tasks.items()} == {
        "fetch_stock": "skipped",
        "sync_stock": "skipped",
    }
    log = cluster.api.task_log(STOCK_DAG, stock_run, "fetch_stock", 1)
    assert "medusa_product_sync has a run in progress: its sync_stock keeps the levels" in log

    assert stocked(medusa_store_module) == {r["id"]: r["stock"] for r in records}
    titles = {i: p["title"] for i, p in ours(store_products(medusa_store_module)).items()}
    assert titles == {r["id"]: r["title"] for r in records}


def test_a_catalog_run_started_while_the_stock_sync_writes_waits_for_it(
    cluster: AirflowCluster,
    medusa_proxy: CountingProxy,
    catalog: CatalogServer,
    medusa_store_module: MedusaStore,
) -> None:
    records = changed(catalog, stocks=slice(0, 10))  # 5 level requests of 2, each held 1.5 s
    slow = medusa_proxy.watch(Watch("POST", LEVELS_PATH, delay=1.5))
    try:
        stock_run = cluster.api.trigger(STOCK_DAG)
        cluster.wait_for_task_state(STOCK_DAG, stock_run, "sync_stock", ("running",))
        catalog_run = cluster.api.trigger(DAG_ID, conf={"sync_inventory": True})
        assert cluster.wait_for_run(STOCK_DAG, stock_run, timeout=300) == "success", cluster.logs_tail()
    finally:
        medusa_proxy.unwatch(slow)
    assert cluster.wait_for_run(DAG_ID, catalog_run, timeout=600) == "success", cluster.logs_tail()

    sync_stock = cluster.api.task_instance(STOCK_DAG, stock_run, "sync_stock")
    writes_from, writes_to = interval(sync_stock)
    pooled = [t for t in cluster.api.task_instances(DAG_ID, catalog_run) if t["pool"] == MEDUSA_POOL]
    print(
        f"\n[stock beside catalog] stock writes {writes_from.time()}-{writes_to.time()}; catalog Medusa "
        "tasks: "
        + ", ".join(f"{t['task_id']} {interval(t)[0].time()}-{interval(t)[1].time()}" for t in pooled),
        flush=True,
    )
    assert sync_stock["pool_slots"] == 2 and slow.count >= 5
    assert pooled and all(interval(t)[0] >= writes_to for t in pooled)  # each waited for the writes
    assert stocked(medusa_store_module) == {r["id"]: r["stock"] for r in records}
