"""What no retry can fix fails the run at once, saying what to fix: a wrong key (401), a key that
may not use the Admin API (403), a host that is not Medusa (404), a currency that does not exist.
And what the package can fix itself, it fixes: a missing ``medusa_api`` pool is created.

A real Airflow with the deployment's retries (3, the first after 30 s): a task that were retried
would show a second try and a run at least 30 s long. Each case changes the connection (the
cluster restarts with it, keeping its history) or the run's conf.
"""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import pytest

from devstack.airflow_cluster import AirflowCluster
from devstack.airflow_local import DAG_ID, medusa_connection, source_connection
from devstack.catalog_server import CatalogServer
from devstack.counting_proxy import CountingProxy, Fault
from medusa_sync.plugin import POOL_DESCRIPTION
from tests.fixtures.medusa import MedusaStore

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

ENV = {"AIRFLOW__MEDUSA_SYNC__RETRIES": "3", "AIRFLOW__MEDUSA_SYNC__RETRY_DELAY_SECONDS": "30"}
WRONG_KEY = "sk_wrong_0123456789abcdef0123"


@pytest.fixture(scope="module")
def cluster(airflow_cluster_factory, catalog: CatalogServer) -> Iterator[AirflowCluster]:
    with airflow_cluster_factory({"dummyjson_default": source_connection(catalog.url)}, env=ENV) as cluster:
        cluster.api.unpause(DAG_ID)
        yield cluster


def failed_at_once(cluster: AirflowCluster, medusa: dict, conf: dict | None = None) -> tuple[str, str, float]:
    """Run the DAG against ``medusa``; returns the failed task, its log, and the seconds from its
    start to the run's end. Asserts it failed on its first try, and that no other task was retried."""
    cluster.restart_with(connections={**cluster.connections, "medusa_default": medusa})
    run_id = cluster.api.trigger(DAG_ID, conf=conf or {})
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=180) == "failed", cluster.logs_tail()
    tasks = cluster.api.task_instances(DAG_ID, run_id)
    assert all(t["try_number"] <= 1 for t in tasks), tasks
    first = min((t for t in tasks if t["state"] == "failed"), key=lambda t: t["start_date"])
    log = cluster.api.task_log(DAG_ID, run_id, first["task_id"], 1)
    ended = pendulum.parse(cluster.api.dag_run(DAG_ID, run_id)["end_date"])
    seconds = (ended - pendulum.parse(first["start_date"])).total_seconds()
    print(f"\n[fail fast] {first['task_id']} failed on try 1; the run ended {seconds:.1f} s after it started")
    report = cluster.report(run_id)
    return first["task_id"], log + repr(report), seconds


def test_a_wrong_key_fails_the_run_at_once_naming_the_connection_and_host(
    cluster: AirflowCluster, medusa_store_module: MedusaStore
) -> None:
    medusa = medusa_connection(medusa_store_module.url, api_key=WRONG_KEY)
    task, log, seconds = failed_at_once(cluster, medusa)
    assert task == "read_store" and seconds < 10
    assert f"connection 'medusa_default' ({medusa_store_module.url})" in log
    assert "check its secret API key" in log and "MedusaSetupError" in log
    assert WRONG_KEY not in log and medusa_store_module.api_key not in log


def test_a_key_the_admin_api_forbids_fails_the_run_at_once(
    cluster: AirflowCluster, medusa_store_module: MedusaStore, medusa_proxy: CountingProxy
) -> None:
    forbidden = medusa_proxy.inject(
        Fault(None, "/admin", status=403, body={"type": "not_allowed", "message": "Forbidden"}, times=-1)
    )
    try:
        medusa = medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key)
        task, log, seconds = failed_at_once(cluster, medusa)
    finally:
        medusa_proxy.remove(forbidden)
    assert task == "read_store" and seconds < 10
    assert f"connection 'medusa_default' ({medusa_proxy.url})" in log
    assert "use a secret API key of an admin user" in log
    assert medusa_store_module.api_key not in log


def test_a_host_that_is_not_medusa_fails_the_run_at_once(
    cluster: AirflowCluster, medusa_store_module: MedusaStore, catalog: CatalogServer
) -> None:
    medusa = medusa_connection(catalog.url, api_key=medusa_store_module.api_key)
    task, log, seconds = failed_at_once(cluster, medusa)
    assert task == "read_store" and seconds < 10
    assert f"connection 'medusa_default' ({catalog.url})" in log
    assert "not a Medusa v2 server (check the host URL)" in log
    assert medusa_store_module.api_key not in log


def test_a_currency_that_does_not_exist_fails_the_run_at_once_naming_the_param(
    cluster: AirflowCluster, medusa_store_module: MedusaStore
) -> None:
    medusa = medusa_connection(medusa_store_module.url, api_key=medusa_store_module.api_key)
    task, log, seconds = failed_at_once(cluster, medusa, conf={"currency_code": "xyz"})
    assert task in ("fetch_pages", "read_store") and seconds < 10
    assert "param 'currency_code'" in log and "not an ISO 4217 currency code" in log, log[-2000:]


def test_a_missing_pool_is_created_when_a_run_starts_and_the_run_does_not_wait(
    cluster: AirflowCluster, medusa_store_module: MedusaStore
) -> None:
    medusa = medusa_connection(medusa_store_module.url, api_key=medusa_store_module.api_key)
    cluster.restart_with(connections={**cluster.connections, "medusa_default": medusa})
    cluster.api.request("DELETE", "/api/v2/pools/medusa_api", expect=(204,))
    run_id = cluster.api.trigger(DAG_ID, conf={"dry_run": True})
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=300) == "success", cluster.logs_tail()
    started = pendulum.parse(cluster.api.dag_run(DAG_ID, run_id)["start_date"])
    read_store = cluster.api.task_instance(DAG_ID, run_id, "read_store")
    waited = (pendulum.parse(read_store["start_date"]) - started).total_seconds()
    print(f"\n[fail fast] no pool: read_store started {waited:.1f} s into the run")
    assert waited < 60
    pool = cluster.api.request("GET", "/api/v2/pools/medusa_api")
    assert (pool["slots"], pool["description"]) == (2, POOL_DESCRIPTION)
    scheduler_log = cluster.log_path("scheduler").read_text()
    assert "created the pool 'medusa_api' with 2 slots" in scheduler_log
    assert "airflow pools set medusa_api <slots>" in scheduler_log
