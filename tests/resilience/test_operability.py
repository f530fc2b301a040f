"""What the on-call engineer gets from a real Airflow: a connection Test that answers in seconds, an
asset event that says what a run changed, and a hung Medusa call that ends the run instead of
blocking the next one.

One cluster (scheduler + LocalExecutor, api-server, dag-processor on PostgreSQL) and one real
Medusa store behind the fault proxy serve every test here; they run in file order and build on
each other (the first run fills the store).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.airflow_cluster import AirflowCluster
from devstack.airflow_local import DAG_ID, medusa_connection, source_connection
from devstack.catalog_server import CatalogServer
from devstack.counting_proxy import CountingProxy, Fault
from tests.fixtures.medusa import MedusaStore
from tests.unit.hooks.fake_http import closed_port_url

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

# Each upsert_batch attempt is failed after 30 s; no task retries, so a timeout ends the run.
BATCH_TIMEOUT_SECONDS = 30
ENV = {
    "MEDUSA_SYNC_RETRIES": "0",
    "MEDUSA_SYNC_RETRY_DELAY_SECONDS": "1",
    "MEDUSA_SYNC_BATCH_TIMEOUT_MINUTES": str(BATCH_TIMEOUT_SECONDS / 60),
}
# The hook's HTTP timeout is far longer than the task's limit: only execution_timeout can end the wait.
HOOK_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="module")
def source(real_catalog: list[dict[str, Any]]) -> Iterator[CatalogServer]:
    with CatalogServer(real_catalog) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(medusa_store_module: MedusaStore) -> Iterator[CountingProxy]:
    proxy = CountingProxy(medusa_store_module.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def cluster(
    airflow_cluster_factory, medusa_store_module: MedusaStore, proxy: CountingProxy, source: CatalogServer
) -> Iterator[AirflowCluster]:
    medusa = medusa_connection(proxy.url, api_key=medusa_store_module.api_key)
    connections = {
        "medusa_default": {**medusa, "extra": {"timeout": HOOK_TIMEOUT_SECONDS}},
        "dummyjson_default": source_connection(source.url),
    }
    with airflow_cluster_factory(connections, env=ENV) as cluster:
        cluster.api.unpause(DAG_ID)
        yield cluster


def connection_test(cluster: AirflowCluster, host: str, key: str) -> tuple[dict[str, Any], float]:
    """The form's Test button: ``POST /api/v2/connections/test``; returns the answer and its seconds."""
    body = {"connection_id": "medusa_form", "conn_type": "medusa", "host": host, "password": key}
    started = time.monotonic()
    answer = cluster.api.request("POST", "/api/v2/connections/test", json=body)
    return answer, time.monotonic() - started


def test_the_connection_test_answers_each_case_within_seconds_naming_the_cause(
    cluster: AirflowCluster, medusa_store_module: MedusaStore
) -> None:
    store = medusa_store_module
    refused_url = closed_port_url()
    cases = {
        "refused port": (refused_url, store.api_key),
        "wrong key": (store.url, "sk_wrong_0123456789abcdef"),
        "good key": (store.url, store.api_key),
    }
    answers = {name: connection_test(cluster, *case) for name, case in cases.items()}
    print("\n[operability] connection test: " + "; ".join(f"{n}: {s:.2f} s" for n, (_, s) in answers.items()))
    for name, (answer, seconds) in answers.items():
        assert seconds < 5, name
        assert store.api_key not in answer["message"] and "sk_wrong" not in answer["message"], name
    assert answers["refused port"][0] == {
        "status": False,
        "message": f"Cannot reach Medusa at {refused_url}: connection refused (check the host and port)",
    }
    wrong = answers["wrong key"][0]
    assert wrong["status"] is False and "refused the credentials (401)" in wrong["message"]
    good = answers["good key"][0]
    assert good["status"] is True and good["message"].startswith("Connected to Medusa store"), good


def asset_events(cluster: AirflowCluster, run_id: str) -> list[dict[str, Any]]:
    """The asset events a run emitted, read back through the REST API."""
    page = cluster.api.request(
        "GET", "/api/v2/assets/events", params={"source_dag_id": DAG_ID, "source_run_id": run_id}
    )
    return page["asset_events"]


def test_a_run_that_changed_the_store_emits_the_catalog_asset_with_its_counts(
    cluster: AirflowCluster,
) -> None:
    run_id = cluster.api.trigger(DAG_ID)
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=600) == "success", cluster.logs_tail()
    [event] = asset_events(cluster, run_id)
    products = cluster.report(run_id)["products"]
    print(f"\n[operability] asset event extra: {event['extra']}")
    assert event["name"] == "medusa_product_catalog" and event["uri"] == "medusa://catalog/products"
    assert event["source_task_id"] == "report"
    assert event["extra"]["run_id"] == run_id
    assert event["extra"]["created"] == products["created"] == 194
    for key in ("updated", "unchanged", "drafted", "deleted", "rejected", "superseded", "not_found"):
        assert event["extra"][key] == products[key], key


def test_a_dry_run_and_a_run_that_changed_nothing_emit_no_event(cluster: AirflowCluster) -> None:
    dry = cluster.api.trigger(DAG_ID, conf={"dry_run": True, "full_refresh": True})
    assert cluster.wait_for_run(DAG_ID, dry, timeout=600) == "success"
    unchanged = cluster.api.trigger(DAG_ID)
    assert cluster.wait_for_run(DAG_ID, unchanged, timeout=600) == "success"
    assert cluster.report(dry)["planned"]["update"] == 194  # the dry run did plan changes
    assert cluster.report(unchanged)["products"]["unchanged"] == 194
    assert asset_events(cluster, dry) == []
    assert asset_events(cluster, unchanged) == []
    # Nothing to send: the upserts show as skipped in the UI, and the run still succeeds.
    for run_id in (dry, unchanged):
        upserts = [t for t in cluster.api.task_instances(DAG_ID, run_id) if t["task_id"] == "upsert_batch"]
        assert [(t["map_index"], t["state"]) for t in upserts] == [(-1, "skipped")]


def test_a_hung_medusa_call_is_ended_by_the_task_time_limit_and_the_run_ends(
    cluster: AirflowCluster, proxy: CountingProxy
) -> None:
    details = cluster.api.request("GET", f"/api/v2/dags/{DAG_ID}/details")
    assert details["dag_run_timeout"] == "PT12H"  # the run as a whole is bounded too (default 12 h)
    # The proxy takes the batch request and never answers (within the test's lifetime).
    hung = proxy.inject(Fault("POST", "/admin/products/batch", status=504, hold=3600))
    run_id = cluster.api.trigger(DAG_ID, conf={"full_refresh": True})

    assert cluster.wait_for_run(DAG_ID, run_id, timeout=300) == "failed", cluster.logs_tail()
    batch = cluster.api.task_instance(DAG_ID, run_id, "upsert_batch", map_index=0)
    log = cluster.api.task_log(DAG_ID, run_id, "upsert_batch", batch["try_number"], map_index=0)
    seconds = batch["duration"]
    run = cluster.api.dag_run(DAG_ID, run_id)
    print(
        f"\n[operability] hung batch failed after {seconds:.1f} s (limit {BATCH_TIMEOUT_SECONDS} s); "
        f"run {run['start_date']} -> {run['end_date']}"
    )
    assert hung.fired == 1
    assert (batch["state"], batch["try_number"]) == ("failed", 1)
    assert "AirflowTaskTimeout" in log, log[-3000:]
    assert BATCH_TIMEOUT_SECONDS <= seconds < BATCH_TIMEOUT_SECONDS + 20
    assert cluster.api.task_instance(DAG_ID, run_id, "report")["state"] == "failed"
