"""The hourly stock sync and the daily catalog sync on one real Airflow (scheduler with
LocalExecutor, api-server, dag-processor on PostgreSQL) and one real Medusa: the stock sync's
writes never run beside a catalog task that talks to Medusa, and both runs land.

The catalog run is slowed at the proxy (each product batch held 1.5 s) so the stock run is ready
to write while the catalog's upserts are still going: the pool must make it wait.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from devstack.airflow_cluster import AirflowCluster
from devstack.airflow_local import DAG_ID, MEDUSA_POOL, medusa_connection, source_connection
from devstack.catalog_server import CatalogServer
from devstack.counting_proxy import CountingProxy, Watch
from tests.fixtures.medusa import MedusaStore
from tests.fixtures.store_view import ours, stocked, store_products

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

STOCK_DAG = "medusa_stock_sync"


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
    with airflow_cluster_factory(connections, env={"AIRFLOW__MEDUSA_SYNC__RETRIES": "0"}) as cluster:
        for dag_id in (DAG_ID, STOCK_DAG):
            cluster.api.unpause(dag_id)
        yield cluster


def interval(ti: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(ti["start_date"]), datetime.fromisoformat(ti["end_date"])


def test_the_stock_sync_waits_for_the_catalog_sync_s_medusa_tasks_and_both_land(
    cluster: AirflowCluster,
    medusa_proxy: CountingProxy,
    catalog: CatalogServer,
    medusa_store_module: MedusaStore,
) -> None:
    first = cluster.api.trigger(DAG_ID, conf={"sync_inventory": True})
    assert cluster.wait_for_run(DAG_ID, first, timeout=600) == "success", cluster.logs_tail()

    records = copy.deepcopy(catalog.products)
    for record in records[:60]:
        record["title"] += " (2027)"
    for record in records[100:110]:
        record["stock"] += 3
    catalog.replace_products(records)
    medusa_proxy.watch(Watch("POST", "/admin/products/batch", delay=1.5))
    catalog_run = cluster.api.trigger(DAG_ID, conf={"sync_inventory": True, "batch_size": 10})
    cluster.wait_for_task_state(DAG_ID, catalog_run, "upsert_batch", ("running",), map_index=0)
    stock_run = cluster.api.trigger(STOCK_DAG)

    assert cluster.wait_for_run(STOCK_DAG, stock_run, timeout=600) == "success", cluster.logs_tail()
    assert cluster.wait_for_run(DAG_ID, catalog_run, timeout=600) == "success", cluster.logs_tail()

    pooled = [t for t in cluster.api.task_instances(DAG_ID, catalog_run) if t["pool"] == MEDUSA_POOL]
    stock_tasks = {t["task_id"]: t for t in cluster.api.task_instances(STOCK_DAG, stock_run)}
    writes_from, writes_to = interval(stock_tasks["sync_stock"])
    ready = datetime.fromisoformat(stock_tasks["fetch_stock"]["end_date"])
    busy_after_ready = [t for t in pooled if interval(t)[1] > ready]
    print(
        f"\n[stock beside catalog] stock writes {writes_from.time()}-{writes_to.time()}, ready at "
        f"{ready.time()}; catalog Medusa tasks: "
        + ", ".join(
            f"{t['task_id']}[{t['map_index']}] {interval(t)[0].time()}-{interval(t)[1].time()}"
            for t in pooled
        ),
        flush=True,
    )
    assert busy_after_ready, "the stock sync was never ready while the catalog sync used Medusa"
    assert stock_tasks["sync_stock"]["pool_slots"] == 2
    overlapping = [
        t["task_id"] for t in pooled if interval(t)[0] < writes_to and writes_from < interval(t)[1]
    ]
    assert overlapping == []

    assert stocked(medusa_store_module) == {r["id"]: r["stock"] for r in records}
    titles = {i: p["title"] for i, p in ours(store_products(medusa_store_module)).items()}
    assert titles == {r["id"]: r["title"] for r in records}
