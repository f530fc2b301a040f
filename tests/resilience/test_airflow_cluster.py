"""The DAG run by a real Airflow (scheduler, api-server, dag-processor) and driven through its REST API,
which proves what ``airflow dags test`` cannot: the execution API path, mapped labels and storage."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.medusa import MedusaStore
from tests.stack import medusa_server as ms
from tests.stack.airflow_local import DAG_ID, medusa_connection, source_connection
from tests.stack.catalog_server import CatalogServer

if TYPE_CHECKING:  # the plugin itself is loaded by pytest.ini
    from tests.fixtures.airflow_cluster import AirflowCluster, StartCluster


pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

# A token the source connection sends as a header whose name Airflow's masker does not treat as
# sensitive on its own: it must show nowhere either.
SOURCE_TOKEN = "srcTok_c81f2e9a4d0b7356"


@pytest.fixture(scope="module")
def cluster(
    airflow_cluster_factory: StartCluster, medusa_store_module: MedusaStore, catalog: CatalogServer
) -> Iterator[AirflowCluster]:
    """One cluster and store for the module: the first test syncs the empty store, the second
    searches everything both runs left behind for the Medusa key and the source's token."""
    with airflow_cluster_factory(
        {
            "medusa_default": medusa_connection(medusa_store_module.url, api_key=medusa_store_module.api_key),
            "dummyjson_default": {
                **source_connection(catalog.url),
                "extra": {"X-Catalog-Token": SOURCE_TOKEN},
            },
        }
    ) as cluster:
        yield cluster


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_triggered_run_syncs_the_real_catalog(
    cluster: AirflowCluster, medusa_store_module: MedusaStore
) -> None:
    medusa_store = medusa_store_module
    cluster.api.unpause(DAG_ID)
    started = time.monotonic()
    run_id = cluster.api.trigger(DAG_ID)

    state = cluster.wait_for_run(DAG_ID, run_id, timeout=300)
    print(f"\n[airflow] run {run_id}: {state} in {time.monotonic() - started:.1f} s", flush=True)

    instances = cluster.api.task_instances(DAG_ID, run_id)
    summary = [(t["task_id"], t["map_index"], t["state"], t["try_number"]) for t in instances]
    assert state == "success", f"{summary}\n{cluster.logs_tail()}"
    assert {t["task_id"] for t in instances} == {
        "fetch_pages",
        "read_store",
        "sync_categories",
        "compute_diff",
        "upsert_batch",
        "sync_stock",
        "report",
    }
    # With sync_inventory off the stock stage is skipped as the fetch ends, before any upsert: no
    # process is started for it, and the report follows the upserts at once. The run still succeeds.
    by_task = {t["task_id"]: t for t in instances if t["map_index"] == -1}
    batches = [t for t in instances if t["task_id"] == "upsert_batch"]
    assert by_task["sync_stock"]["state"] == "skipped"
    assert when(by_task["sync_stock"]["end_date"]) <= min(when(t["start_date"]) for t in batches)
    fetch_log = cluster.api.task_log(DAG_ID, run_id, "fetch_pages", try_number=1)
    assert "sync_inventory is off: sync_stock skipped" in fetch_log
    assert [(t["map_index"], t["rendered_map_index"], t["state"]) for t in batches] == [
        (0, "batch 1/1 · 194 create", "success")
    ]
    count = medusa_store.admin.get("/admin/products", params={"limit": 1, "fields": "id"}).json()["count"]
    assert count == 194
    report = cluster.report(run_id)
    assert report is not None
    assert report["status"] == "success"
    assert report["products"]["created"] == 194
    assert "SUCCESS" in cluster.api.task_log(DAG_ID, run_id, "report", try_number=1)


def test_the_api_key_reaches_no_log_xcom_or_stored_file(
    cluster: AirflowCluster, medusa_store_module: MedusaStore
) -> None:
    medusa_store = medusa_store_module
    cluster.api.unpause(DAG_ID)
    run_id = cluster.api.trigger(DAG_ID, conf={"max_products": 20})
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=300) == "success", cluster.logs_tail()

    secrets = (medusa_store.api_key.encode(), SOURCE_TOKEN.encode())
    leaked = [p for p in cluster.home.rglob("*") if p.is_file() and any(s in p.read_bytes() for s in secrets)]
    assert leaked == []
    xcoms = subprocess.run(
        ["psql", *ms.PG_ARGS, "-d", cluster.database, "-Atc",
         "SELECT value::text FROM xcom"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert xcoms.strip(), "the run left no XCom to search"
    assert medusa_store.api_key not in xcoms and SOURCE_TOKEN not in xcoms
