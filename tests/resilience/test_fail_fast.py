"""What no retry can fix fails the run at once, saying what to fix: a wrong key (401), a key that
may not use the Admin API (403), a host that is not Medusa (404), a currency that does not exist.
And what the package can fix itself, it fixes: a missing ``medusa_api`` pool is created when the
scheduler starts.

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
# The tasks that talk to Medusa first; whichever asks first fails first.
MEDUSA_TASKS = ("read_store", "sync_categories")


@pytest.fixture(scope="module")
def cluster(airflow_cluster_factory, catalog: CatalogServer) -> Iterator[AirflowCluster]:
    with airflow_cluster_factory({"dummyjson_default": source_connection(catalog.url)}, env=ENV) as cluster:
        cluster.api.unpause(DAG_ID)
        yield cluster


@pytest.fixture(scope="module")
def not_medusa(catalog: CatalogServer) -> Iterator[CountingProxy]:
    """A host that is not Medusa (the catalog server), behind a proxy that dates each request."""
    proxy = CountingProxy(catalog.url).start()
    yield proxy
    proxy.stop()


def failed_at_once(
    cluster: AirflowCluster, proxy: CountingProxy, medusa: dict, conf: dict | None = None
) -> tuple[str, str]:
    """Run the DAG against ``medusa`` (reached through ``proxy``); returns the first failed task and
    its log (and the report). Asserts it failed on its first try less than 10 s after the run's
    first request to the host, and that no task was retried."""
    cluster.restart_with(connections={**cluster.connections, "medusa_default": medusa})
    mark = len(proxy.seen)
    run_id = cluster.api.trigger(DAG_ID, conf=conf or {})
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=180) == "failed", cluster.logs_tail()
    tasks = cluster.api.task_instances(DAG_ID, run_id)
    assert all(t["try_number"] <= 1 for t in tasks), tasks
    first = min((t for t in tasks if t["state"] == "failed"), key=lambda t: t["end_date"])
    failed_at = pendulum.parse(first["end_date"]).timestamp()
    requested = min((seen.arrived for seen in proxy.seen[mark:]), default=None)
    since = None if requested is None else failed_at - requested
    run = cluster.api.dag_run(DAG_ID, run_id)
    whole = (pendulum.parse(run["end_date"]) - pendulum.parse(run["start_date"])).total_seconds()
    shown = "no request reached the host" if since is None else f"{since:.1f} s after the first request"
    print(f"\n[fail fast] {first['task_id']} failed on try 1, {shown}; the run took {whole:.1f} s")
    assert since is None or since < 10
    assert whole < 60  # then the report, and the run's end: no retry delay anywhere
    log = cluster.api.task_log(DAG_ID, run_id, first["task_id"], 1)
    return first["task_id"], log + repr(cluster.report(run_id))


def assert_says_what_to_fix(log: str, host: str, hint: str, store: MedusaStore) -> None:
    """The log names the connection, its host and what to check, and carries no key."""
    assert f"connection 'medusa_default' ({host})" in log and hint in log
    assert store.api_key not in log


def test_a_wrong_key_fails_the_run_at_once_naming_the_connection_and_host(
    cluster: AirflowCluster, medusa_store_module: MedusaStore, medusa_proxy: CountingProxy
) -> None:
    task, log = failed_at_once(cluster, medusa_proxy, medusa_connection(medusa_proxy.url, api_key=WRONG_KEY))
    assert task in MEDUSA_TASKS and 401 in {s.status for s in medusa_proxy.seen}
    assert_says_what_to_fix(log, medusa_proxy.url, "check its secret API key", medusa_store_module)
    assert "MedusaSetupError" in log and WRONG_KEY not in log


def test_a_key_the_admin_api_forbids_fails_the_run_at_once(
    cluster: AirflowCluster, medusa_store_module: MedusaStore, medusa_proxy: CountingProxy
) -> None:
    medusa = medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key)
    forbidden = Fault(
        None, "/admin", status=403, body={"type": "not_allowed", "message": "Forbidden"}, times=-1
    )
    medusa_proxy.inject(forbidden)
    try:
        task, log = failed_at_once(cluster, medusa_proxy, medusa)
    finally:
        medusa_proxy.remove(forbidden)
    assert task in MEDUSA_TASKS and forbidden.fired >= 1
    assert_says_what_to_fix(
        log, medusa_proxy.url, "use a secret API key of an admin user", medusa_store_module
    )


def test_a_host_that_is_not_medusa_fails_the_run_at_once(
    cluster: AirflowCluster, medusa_store_module: MedusaStore, not_medusa: CountingProxy
) -> None:
    task, log = failed_at_once(
        cluster, not_medusa, medusa_connection(not_medusa.url, api_key=medusa_store_module.api_key)
    )
    assert task in MEDUSA_TASKS and 404 in {s.status for s in not_medusa.seen}
    assert_says_what_to_fix(
        log, not_medusa.url, "not a Medusa v2 server (check the host URL)", medusa_store_module
    )


def test_a_currency_that_does_not_exist_fails_the_run_at_once_naming_the_param(
    cluster: AirflowCluster, medusa_store_module: MedusaStore, medusa_proxy: CountingProxy
) -> None:
    medusa = medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key)
    task, log = failed_at_once(cluster, medusa_proxy, medusa, conf={"currency_code": "xyz"})
    assert task in ("fetch_pages", "read_store")
    assert "param 'currency_code'" in log and "not an ISO 4217 currency code" in log, log[-2000:]


def test_a_missing_pool_is_created_when_the_scheduler_starts_and_runs_do_not_wait(
    cluster: AirflowCluster, medusa_store_module: MedusaStore
) -> None:
    """A deployment that never created the pool: the package's plugin creates it."""
    cluster.api.request("DELETE", "/api/v2/pools/medusa_api", expect=(204,))
    cluster.pool_slots = None  # the cluster no longer creates it when it starts: only the plugin does
    medusa = medusa_connection(medusa_store_module.url, api_key=medusa_store_module.api_key)
    cluster.restart_with(connections={**cluster.connections, "medusa_default": medusa})
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
