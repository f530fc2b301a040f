"""What the on-call engineer gets from a real Airflow: a connection Test that answers in seconds, an
asset event that says what a run changed, a hung Medusa call that ends the run instead of
blocking the next one, and one alert mail per failed run (none for a successful one).

One cluster (scheduler + LocalExecutor, api-server, dag-processor on PostgreSQL), one real
Medusa store behind the fault proxy and one real SMTP server serve every test here; they run in
file order and build on each other (the first run fills the store).
"""

from __future__ import annotations

import html
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import pytest

from tests.fixtures.medusa import MedusaStore
from tests.stack.airflow_cluster import AirflowCluster
from tests.stack.airflow_local import DAG_ID, medusa_connection, source_connection
from tests.stack.catalog_server import CatalogServer
from tests.stack.counting_proxy import CountingProxy, Fault
from tests.stack.smtp_server import MailServer, body_text
from tests.unit.hooks.fake_http import closed_port_url

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

STOCK_DAG = "medusa_stock_sync"
# Each upsert_batch attempt is failed after 30 s; no task retries, so a timeout ends the run.
BATCH_TIMEOUT_SECONDS = 30
ENV = {
    "AIRFLOW__MEDUSA_SYNC__RETRIES": "0",
    "AIRFLOW__MEDUSA_SYNC__RETRY_DELAY_SECONDS": "1",
    "AIRFLOW__MEDUSA_SYNC__BATCH_TIMEOUT_MINUTES": str(BATCH_TIMEOUT_SECONDS / 60),
}
# The hook's HTTP timeout is far longer than the task's limit: only execution_timeout can end the wait.
HOOK_TIMEOUT_SECONDS = 600
# Failure alerts on: the Variable names the recipients, the connection id is overridden.
ALERT_RECIPIENTS = ["oncall@example.com", "catalog-lead@example.com"]
ALERT_CONN_ID = "smtp_alerts"
ALERT_ENV = {
    "AIRFLOW_VAR_MEDUSA_SYNC_ALERT_EMAIL": ", ".join(ALERT_RECIPIENTS),
    "AIRFLOW__MEDUSA_SYNC__ALERT_SMTP_CONN_ID": ALERT_CONN_ID,
}
# How long the dag-processor may take to mail a failed run's alert after the run ended.
ALERT_TIMEOUT_SECONDS = 120
# Runs of this module by outcome, so the alert tests can tell which ones may have mailed.
RUNS: dict[str, list[str]] = {"success": [], "failed": []}
ALERT_SECONDS: list[float] = []


class StatsdListener:
    """A UDP socket where Airflow's StatsD client sends its metrics; keeps every line it gets."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self.lines += self.socket.recv(65536).decode().splitlines()
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture(scope="module")
def statsd() -> Iterator[StatsdListener]:
    listener = StatsdListener()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def mail_server() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    airflow_cluster_factory,
    medusa_store_module: MedusaStore,
    medusa_proxy: CountingProxy,
    catalog: CatalogServer,
    mail_server: MailServer,
    statsd: StatsdListener,
) -> Iterator[AirflowCluster]:
    medusa = medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key)
    connections = {
        "medusa_default": {**medusa, "extra": {"timeout": HOOK_TIMEOUT_SECONDS}},
        "dummyjson_default": source_connection(catalog.url),
        ALERT_CONN_ID: mail_server.connection(),
    }
    metrics = {
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__METRICS__STATSD_PORT": str(statsd.port),
        "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
    }
    with airflow_cluster_factory(connections, env={**ENV, **ALERT_ENV, **metrics}) as cluster:
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
    RUNS["success"].append(run_id)
    [event] = asset_events(cluster, run_id)
    products = cluster.report(run_id)["products"]
    print(f"\n[operability] asset event extra: {event['extra']}")
    assert event["name"] == "medusa_product_catalog" and event["uri"] == "medusa://catalog/products"
    assert event["source_task_id"] == "report"
    assert event["extra"]["run_id"] == run_id
    assert event["extra"]["created"] == products["created"] == 194
    for key in ("updated", "unchanged", "drafted", "deleted", "rejected", "superseded", "not_found"):
        assert event["extra"][key] == products[key], key


def test_the_run_s_counts_reach_the_deployment_s_statsd(statsd: StatsdListener) -> None:
    """After the first run of the module (194 created): Airflow's own StatsD client sent them."""
    deadline = time.monotonic() + 10
    while "airflow.medusa_sync.runs.success:1|c" not in statsd.lines and time.monotonic() < deadline:
        time.sleep(0.2)
    ours = [line for line in statsd.lines if line.startswith("airflow.medusa_sync.")]
    print(f"\n[operability] StatsD got: {ours}")
    assert "airflow.medusa_sync.products.created:194|c" in ours
    assert "airflow.medusa_sync.runs.success:1|c" in ours
    for outcome in ("updated", "unchanged", "rejected", "superseded", "quarantined"):
        assert f"airflow.medusa_sync.products.{outcome}:0|c" in ours, outcome
    assert any(line.startswith("airflow.medusa_sync.run.duration:") and line.endswith("|ms") for line in ours)


def test_a_dry_run_and_a_run_that_changed_nothing_emit_no_event(cluster: AirflowCluster) -> None:
    dry = cluster.api.trigger(DAG_ID, conf={"dry_run": True, "full_refresh": True})
    assert cluster.wait_for_run(DAG_ID, dry, timeout=600) == "success"
    unchanged = cluster.api.trigger(DAG_ID)
    assert cluster.wait_for_run(DAG_ID, unchanged, timeout=600) == "success"
    RUNS["success"] += [dry, unchanged]
    assert cluster.report(dry)["planned"]["update"] == 194  # the dry run did plan changes
    assert cluster.report(unchanged)["products"]["unchanged"] == 194
    assert asset_events(cluster, dry) == []
    assert asset_events(cluster, unchanged) == []
    # Nothing to send: the upserts show as skipped in the UI, and the run still succeeds.
    for run_id in (dry, unchanged):
        upserts = [t for t in cluster.api.task_instances(DAG_ID, run_id) if t["task_id"] == "upsert_batch"]
        assert [(t["map_index"], t["state"]) for t in upserts] == [(-1, "skipped")]


def test_a_hung_medusa_call_is_ended_by_the_task_time_limit_and_the_run_ends(
    cluster: AirflowCluster, medusa_proxy: CountingProxy
) -> None:
    details = cluster.api.request("GET", f"/api/v2/dags/{DAG_ID}/details")
    assert details["dag_run_timeout"] == "PT12H"  # the run as a whole is bounded too (default 12 h)
    # The proxy takes the batch request and never answers (within the test's lifetime).
    hung = medusa_proxy.inject(Fault("POST", "/admin/products/batch", status=504, hold=3600))
    run_id = cluster.api.trigger(DAG_ID, conf={"full_refresh": True})

    assert cluster.wait_for_run(DAG_ID, run_id, timeout=300) == "failed", cluster.logs_tail()
    RUNS["failed"].append(run_id)
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


def naming(run_id: str) -> Callable[[EmailMessage], bool]:
    """Mails whose subject names the run (every run of the module shares the DAG and the server)."""
    return lambda mail: run_id in str(mail["Subject"])


def test_a_run_failed_by_a_medusa_outage_mails_one_alert_naming_the_run_batches_and_counts(
    cluster: AirflowCluster,
    medusa_proxy: CountingProxy,
    mail_server: MailServer,
    medusa_store_module: MedusaStore,
) -> None:
    # Medusa is down for the batch writes: the proxy answers every batch request 502 (no task retries).
    outage = medusa_proxy.inject(
        Fault("POST", "/admin/products/batch", status=502, body={"message": "bad gateway"}, times=-1)
    )
    try:
        run_id = cluster.api.trigger(DAG_ID, conf={"full_refresh": True})
        assert cluster.wait_for_run(DAG_ID, run_id, timeout=300) == "failed", cluster.logs_tail()
    finally:
        medusa_proxy.remove(outage)
    RUNS["failed"].append(run_id)
    ended = time.monotonic()
    mails = mail_server.wait_for(naming(run_id), timeout=ALERT_TIMEOUT_SECONDS)
    ALERT_SECONDS.append(time.monotonic() - ended)
    report = cluster.report(run_id)
    assert report is not None and report["status"] == "failed" and outage.fired >= 1
    [mail] = mails
    body, raw = body_text(mail), mail.as_string()
    print(
        f"\n[operability] alert for the outage run {ALERT_SECONDS[-1]:.1f} s after the run ended: "
        f"subject {mail['Subject']!r}; failed batches {report['batches']['failed']}"
    )
    assert str(mail["Subject"]) == f"Airflow DAG {DAG_ID} failed: run {run_id}"
    assert [a.strip() for a in str(mail["To"]).split(",")] == ALERT_RECIPIENTS
    failed = report["batches"]["failed"]
    assert failed and report["batches"]["succeeded"] == 0
    for label in failed:
        assert f"<li>{html.escape(label)}</li>" in body, label
    for reason in report["failed_because"]:
        assert html.escape(reason) in body, reason
    src, planned, products = report["source"], report["planned"], report["products"]
    assert f"fetched {src['fetched']}, valid {src['valid']}, quarantined {src['quarantined']}" in body
    assert f"create {planned['create']}, update {planned['update']}, unchanged {planned['unchanged']}" in body
    assert planned["update"] == 194
    assert f"created {products['created']}, updated {products['updated']}" in body
    assert f"0/{report['batches']['total']} succeeded" in body
    assert f'href="{cluster.url}/dags/{DAG_ID}/runs/{quote(run_id)}"' in body
    assert f'href="{cluster.url}/medusa-sync/{DAG_ID}/runs/{quote(run_id, safe="")}"' in body
    # No secret: the Medusa key and the SMTP password the hook logged in with appear nowhere in it.
    assert mail_server.logins, "the SMTP hook did not log in"
    for secret in (medusa_store_module.api_key, mail_server.password):
        assert secret not in raw and secret not in body
    # The hung run of the test before also failed, with its report: one mail for it too.
    [hung] = mail_server.wait_for(naming(RUNS["failed"][0]), timeout=ALERT_TIMEOUT_SECONDS)
    assert "did not land" in body_text(hung)


def test_a_successful_run_mails_nothing_and_each_failed_run_mailed_once(
    cluster: AirflowCluster, mail_server: MailServer
) -> None:
    run_id = cluster.api.trigger(DAG_ID)
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=300) == "success", cluster.logs_tail()
    RUNS["success"].append(run_id)
    # The earlier successful runs ended before the failed runs whose mails came: nothing for them
    # now means nothing ever. For the last one, wait twice as long as the failed run's mail took.
    window = max(10.0, 2 * max(ALERT_SECONDS, default=ALERT_TIMEOUT_SECONDS / 2))
    for_successes = mail_server.wait_for(lambda m: any(naming(r)(m) for r in RUNS["success"]), timeout=window)
    counts = {run: len(mail_server.mails(naming(run))) for run in RUNS["failed"]}
    print(
        f"\n[operability] mails: {len(mail_server.mails())} in all; per failed run {counts}; "
        f"for {len(RUNS['success'])} successful runs: {len(for_successes)} (watched {window:.0f} s)"
    )
    assert for_successes == []
    assert counts == dict.fromkeys(RUNS["failed"], 1)
    assert len(mail_server.mails()) == len(RUNS["failed"]) == 2


def test_a_run_past_its_time_limit_mails_one_alert_naming_the_unfinished_tasks(
    cluster: AirflowCluster, medusa_proxy: CountingProxy, mail_server: MailServer
) -> None:
    """``dagrun_timeout`` fails the run while a batch hangs: ``report`` never runs, so the alert
    names the tasks that did not finish. The cluster restarts with a 24 s run limit for it."""
    limit = {**ENV, **ALERT_ENV, "AIRFLOW__MEDUSA_SYNC__DAGRUN_TIMEOUT_MINUTES": "0.4"}
    cluster.restart_with(env=limit)
    deadline = time.monotonic() + 60  # until the dag-processor has parsed the DAG with the new limit
    while cluster.api.request("GET", f"/api/v2/dags/{DAG_ID}/details")["dag_run_timeout"] != "PT24S":
        assert time.monotonic() < deadline, "the DAG was not reparsed with the new dagrun_timeout"
        time.sleep(0.5)
    url = cluster.url  # the alert's links; the restart below moves the api-server to another port
    hung = medusa_proxy.inject(Fault("POST", "/admin/products/batch", status=504, hold=3600))
    try:
        run_id = cluster.api.trigger(DAG_ID, conf={"full_refresh": True})
        assert cluster.wait_for_run(DAG_ID, run_id, timeout=180) == "failed", cluster.logs_tail()
        RUNS["failed"].append(run_id)
        [mail] = mail_server.wait_for(naming(run_id), timeout=ALERT_TIMEOUT_SECONDS)
    finally:
        medusa_proxy.remove(hung)
        cluster.restart_with(env={**ENV, **ALERT_ENV})
    body = body_text(mail)
    states = {(t["task_id"], t["map_index"]): t["state"] for t in cluster.api.task_instances(DAG_ID, run_id)}
    print(f"\n[operability] run past its limit: task states {states}; alert says: {body.splitlines()[1]}")
    assert hung.fired == 1 and cluster.report(run_id) is None
    assert states[("report", -1)] == "skipped"
    assert "(Airflow's reason: timed_out)" in body
    assert "no run report was written" in body and "report: skipped" in body
    assert "upsert_batch_0: skipped" in body
    assert f'href="{url}/dags/{DAG_ID}/runs/{quote(run_id)}"' in body
    # Still one: the restart above took longer than the alert did to arrive.
    assert len(mail_server.mails(naming(run_id))) == 1
    assert len(mail_server.mails()) == len(RUNS["failed"]) == 3


def test_a_failed_stock_run_mails_one_alert_like_a_catalog_run(
    cluster: AirflowCluster,
    medusa_proxy: CountingProxy,
    mail_server: MailServer,
    medusa_store_module: MedusaStore,
) -> None:
    """``medusa_stock_sync`` has the same alert: Medusa answers 502 to its stock location lookup."""
    cluster.api.unpause(STOCK_DAG)
    outage = medusa_proxy.inject(
        Fault("GET", "/admin/stock-locations", status=502, body={"message": "bad gateway"}, times=-1)
    )
    try:
        run_id = cluster.api.trigger(STOCK_DAG)
        assert cluster.wait_for_run(STOCK_DAG, run_id, timeout=300) == "failed", cluster.logs_tail()
    finally:
        medusa_proxy.remove(outage)
    RUNS["failed"].append(run_id)
    [mail] = mail_server.wait_for(naming(run_id), timeout=ALERT_TIMEOUT_SECONDS)
    body, raw = body_text(mail), mail.as_string()
    print(f"\n[operability] stock run alert: {body.splitlines()[1]}")
    assert str(mail["Subject"]) == f"Airflow DAG {STOCK_DAG} failed: run {run_id}"
    assert "tasks that did not succeed: sync_stock: failed" in body and "no run report" not in body
    assert f"{cluster.url}/medusa-sync/{STOCK_DAG}/runs/{quote(run_id, safe='')}" in body
    assert f"Run folder: {cluster.storage_url}/{STOCK_DAG}/" in body
    for secret in (medusa_store_module.api_key, mail_server.password):
        assert secret not in raw
    assert len(mail_server.mails(naming(run_id))) == 1
