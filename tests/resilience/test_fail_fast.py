"""What no retry can fix fails the run at once, saying what to fix: a wrong key (401), a key that
may not use the Admin API (403), a host that is not Medusa (404), a currency that does not exist,
a source token pasted with a newline (shown nowhere: not in a log, the report, the run folder, the
metadata database or the exception text).
And what the package can fix itself, it fixes: a missing ``medusa_api`` pool is created when the
scheduler starts, and again when a run starts.

A real Airflow with the deployment's retries (3, the first after 30 s): a task that were retried
would show a second try and a run at least 30 s long. Each case changes the connection (the
cluster restarts with it, keeping its history) or the run's conf.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pendulum
import pytest

from medusa_sync.plugin import POOL_DESCRIPTION
from tests.fixtures.medusa import MedusaStore
from tests.stack.airflow_cluster import AirflowCluster
from tests.stack.airflow_local import DAG_ID, medusa_connection, source_connection
from tests.stack.catalog_server import CatalogServer
from tests.stack.counting_proxy import CountingProxy, Fault

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

ENV = {"AIRFLOW__MEDUSA_SYNC__RETRIES": "3", "AIRFLOW__MEDUSA_SYNC__RETRY_DELAY_SECONDS": "30"}
WRONG_KEY = "sk_wrong_0123456789abcdef0123"
# The tasks that talk to Medusa first; whichever asks first fails first.
MEDUSA_TASKS = ("read_store", "sync_categories")
# The runs ``failed_at_once`` started, latest last: for a test that searches what one left.
RUNS: list[str] = []


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
    cluster: AirflowCluster,
    proxy: CountingProxy,
    medusa: dict,
    conf: dict | None = None,
    source: dict | None = None,
) -> tuple[str, str]:
    """Run the DAG against ``medusa`` (reached through ``proxy``) and, when given, the ``source``
    connection; returns the first failed task and its log (and the report). Asserts it failed on
    its first try less than 10 s after the run's first request to the host, and that no task was
    retried."""
    changed = {"medusa_default": medusa, **({"dummyjson_default": source} if source else {})}
    cluster.restart_with(connections={**cluster.connections, **changed})
    mark = len(proxy.seen)
    run_id = cluster.api.trigger(DAG_ID, conf=conf or {})
    RUNS.append(run_id)
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


# Two source tokens, each pasted with a trailing newline: one where Airflow's masker would look
# (an ``Authorization`` extra), one where it would not (a custom header name).
SOURCE_TOKEN = "srcTok_4b9e0d7c2a61f835"
CATALOG_KEY = "catKey_93d1e6a05f7b2c48"


def found_in_cluster(cluster: AirflowCluster, secrets: tuple[str, ...]) -> list[str]:
    """Where any of ``secrets`` shows: every file of the cluster's home (task and component logs,
    the run folders with their reports) and a dump of its metadata database (XCom included)."""
    wanted = [secret.encode() for secret in secrets]
    files = [p for p in cluster.home.rglob("*") if p.is_file() and not p.is_symlink()]
    found = [str(p) for p in files if any(secret in p.read_bytes() for secret in wanted)]
    dump = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--data-only", cluster.database],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert b"COPY public.xcom" in dump, "the dump has no XCom table to search"
    return found + ["metadata database"] * any(secret in dump for secret in wanted)


def test_a_source_token_pasted_with_a_newline_fails_the_run_at_once_and_shows_nowhere(
    cluster: AirflowCluster,
    medusa_store_module: MedusaStore,
    medusa_proxy: CountingProxy,
    catalog: CatalogServer,
) -> None:
    """Before: requests refused the header with a message quoting the token (escaped, so the masker
    missed it), printed in the task log on every one of the retries, for minutes."""
    source = {
        **source_connection(catalog.url),
        "extra": {"Authorization": f"Bearer {SOURCE_TOKEN}\n", "X-Catalog-Key": f"{CATALOG_KEY}\n"},
    }
    medusa = medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key)
    try:
        task, log = failed_at_once(cluster, medusa_proxy, medusa, source=source)
    finally:  # the next test's restart takes the good source connection again
        cluster.connections["dummyjson_default"] = source_connection(catalog.url)
    run_id = RUNS[-1]
    assert task == "fetch_pages"
    assert "ConnectionSettingError" in log and "connection 'dummyjson_default'" in log, log[-3000:]
    assert "extra 'Authorization' value has a line break at its end" in log
    assert "extra 'X-Catalog-Key' value has a line break at its end" in log
    run_folder = cluster.storage_dir / DAG_ID / run_id
    assert any(p.is_file() for p in run_folder.rglob("*")), "the run left no file to search"
    logs = "".join(
        cluster.api.task_log(DAG_ID, run_id, t["task_id"], 1)
        for t in cluster.api.task_instances(DAG_ID, run_id)
        if t["try_number"] >= 1
    )
    for text in (log, logs):
        assert SOURCE_TOKEN not in text and CATALOG_KEY not in text
    assert found_in_cluster(cluster, (SOURCE_TOKEN, CATALOG_KEY, medusa_store_module.api_key)) == []


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
    # The scheduler and the dag-processor both start the listener: whichever comes first creates it.
    starting_logs = cluster.log_path("scheduler").read_text() + cluster.log_path("dag-processor").read_text()
    assert "created the pool 'medusa_api' with 2 slots" in starting_logs
    assert "airflow pools set medusa_api <slots>" in starting_logs


def test_a_pool_deleted_while_the_scheduler_runs_is_back_before_the_next_run_needs_it(
    cluster: AirflowCluster, medusa_store_module: MedusaStore
) -> None:
    """Before: only a component's start created it, so the run waited for its 12-hour timeout."""
    medusa = medusa_connection(medusa_store_module.url, api_key=medusa_store_module.api_key)
    if cluster.connections.get("medusa_default") != medusa:
        cluster.restart_with(connections={**cluster.connections, "medusa_default": medusa})
    cluster.api.request("DELETE", "/api/v2/pools/medusa_api", expect=(204,))
    run_id = cluster.api.trigger(DAG_ID, conf={"dry_run": True})
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=300) == "success", cluster.logs_tail()
    started = pendulum.parse(cluster.api.dag_run(DAG_ID, run_id)["start_date"])
    read_store = cluster.api.task_instance(DAG_ID, run_id, "read_store")
    waited = (pendulum.parse(read_store["start_date"]) - started).total_seconds()
    print(f"\n[fail fast] pool deleted under a running scheduler: read_store started {waited:.1f} s in")
    assert waited < 60
    pool = cluster.api.request("GET", "/api/v2/pools/medusa_api")
    assert (pool["slots"], pool["description"]) == (2, POOL_DESCRIPTION)
    scheduler_log = cluster.log_path("scheduler").read_text()
    assert f"the pool was missing when {DAG_ID} run {run_id} started" in scheduler_log
