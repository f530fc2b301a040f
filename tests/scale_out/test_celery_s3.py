"""The sync on a distributed Airflow: CeleryExecutor with two workers, run data in S3, Medusa bounded by
the ``medusa_api`` pool. Everything is driven and read back as a user would: the REST API (task
instances, hostnames, logs), the bucket, the store, and the proxy in front of Medusa.

The scenarios share one cluster, store and bucket (see conftest) and run in order: the first sync,
a run against a missing bucket, a full refresh through a 1-slot pool, then a worker killed mid-run.
The missing bucket comes second so it is timed on warm workers: a Celery worker's first task pays
about 6 s of one-time start-up on this machine (measured: 7.2 s on a cold worker, 0.5 s of it the
storage check), a cost of the worker, not of the storage check.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest

from tests.fixtures.airflow_runs import TALKS_TO_MEDUSA
from tests.fixtures.medusa import MedusaStore
from tests.stack.airflow_local import DAG_ID, MEDUSA_POOL, POOL_DESCRIPTION, POOL_SLOTS
from tests.stack.catalog_server import category_name
from tests.stack.celery_cluster import STORAGE_VARIABLE, WORKERS, CeleryCluster
from tests.stack.counting_proxy import CountingProxy, Watch
from tests.stack.s3_server import S3Server
from tests.stack.store_view import differences, ours, store_categories, store_products

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

BATCH_PATH = "/admin/products/batch"
# Each batch request is held this long at the proxy: requests that Airflow lets overlap, overlap.
BATCH_DELAY = 1.5


def run_to_end(cluster: CeleryCluster, conf: dict[str, Any], timeout: float = 420) -> tuple[str, str]:
    started = time.monotonic()
    run_id = cluster.api.trigger(DAG_ID, conf=conf)
    state = cluster.wait_for_run(DAG_ID, run_id, timeout=timeout)
    print(f"\n[scale-out] run {run_id} {conf}: {state} in {time.monotonic() - started:.1f} s", flush=True)
    return run_id, state


def watched_run(
    cluster: CeleryCluster, proxy: CountingProxy, conf: dict[str, Any], slots: int = POOL_SLOTS
) -> tuple[str, str, Watch]:
    """A run with each batch request held ``BATCH_DELAY`` at the proxy (so requests Airflow lets
    overlap, overlap) and the ``medusa_api`` pool at ``slots`` for its duration."""
    proxy.reset()
    batches = proxy.watch(Watch("POST", BATCH_PATH, delay=BATCH_DELAY))
    if slots != POOL_SLOTS:
        cluster.api.set_pool(MEDUSA_POOL, slots, POOL_DESCRIPTION)
    try:
        run_id, state = run_to_end(cluster, conf)
    finally:
        if slots != POOL_SLOTS:
            cluster.api.set_pool(MEDUSA_POOL, POOL_SLOTS, POOL_DESCRIPTION)
    return run_id, state, batches


def instances(cluster: CeleryCluster, run_id: str, task_id: str) -> list[dict[str, Any]]:
    return [t for t in cluster.api.task_instances(DAG_ID, run_id) if t["task_id"] == task_id]


def summary(cluster: CeleryCluster, run_id: str) -> list[tuple[str, int, str, int, str]]:
    return [
        (t["task_id"], t["map_index"], t["state"], t["try_number"], t["hostname"])
        for t in cluster.api.task_instances(DAG_ID, run_id)
    ]


def assert_store_exact(store: MedusaStore, catalog: list[dict[str, Any]]) -> None:
    """Every source product exactly once (0 duplicates, 0 lost), every mapped field as the source says."""
    synced = [p for p in store_products(store) if (p["external_id"] or "").startswith("dummyjson:")]
    duplicates = [ext for ext, n in Counter(p["external_id"] for p in synced).items() if n > 1]
    assert duplicates == []
    by_source = ours(synced)
    assert sorted(by_source) == sorted(r["id"] for r in catalog)  # nothing lost, nothing extra
    wrong = {r["id"]: d for r in catalog if (d := differences(by_source[r["id"]], r))}
    assert wrong == {}
    handles = [p["handle"] for p in synced]
    assert len(set(handles)) == len(handles) == len(catalog)
    categories = {c["handle"]: c["name"] for c in store_categories(store)}
    assert {r["category"] for r in catalog} <= set(categories)
    assert all(categories[r["category"]] == category_name(r["category"]) for r in catalog)


def overlapping(intervals: list[tuple[str, str]]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Pairs of (start, end) intervals (ISO timestamps) that overlap in time."""
    found = []
    latest: tuple[datetime, datetime, tuple[str, str]] | None = None
    for start, end in sorted(intervals, key=lambda i: datetime.fromisoformat(i[0])):
        begins, ends = datetime.fromisoformat(start), datetime.fromisoformat(end)
        if latest and begins < latest[1]:
            found.append((latest[2], (start, end)))
        if latest is None or ends > latest[1]:
            latest = (begins, ends, (start, end))
    return found


def test_the_catalog_in_10_batches_runs_on_both_workers_with_its_data_in_the_bucket(
    celery_cluster: CeleryCluster,
    medusa_store_module: MedusaStore,
    medusa_proxy: CountingProxy,
    real_catalog: list[dict[str, Any]],
) -> None:
    run_id, state, batches = watched_run(celery_cluster, medusa_proxy, {"batch_size": 20})
    assert state == "success", f"{summary(celery_cluster, run_id)}\n{celery_cluster.logs_tail()}"

    upserts = instances(celery_cluster, run_id, "upsert_batch")
    print("[scale-out] upsert_batch hosts: "
          + ", ".join(f"{t['map_index']}:{t['hostname']}" for t in upserts), flush=True)  # fmt: skip
    # 10 batch files of at most 20 products, dealt out to one instance per concurrent upsert (2).
    assert [(t["rendered_map_index"], t["state"]) for t in upserts] == [
        ("batches 1-5/10 · 100 create", "success"),
        ("batches 6-10/10 · 94 create", "success"),
    ]
    assert {t["hostname"] for t in upserts} == set(WORKERS)
    ran = [t for t in celery_cluster.api.task_instances(DAG_ID, run_id) if t["state"] != "skipped"]
    assert {t["hostname"] for t in ran} <= set(WORKERS)  # sync_stock, skipped, ran nowhere

    assert_store_exact(medusa_store_module, real_catalog)
    report = celery_cluster.report(run_id)
    assert report is not None
    assert (report["status"], report["products"]["created"]) == ("success", 194)
    # The report page's data (the api-server's plugin app) is that same report, read from the bucket.
    shown = celery_cluster.api.request("GET", f"/medusa-sync/api/{DAG_ID}/runs/{quote(run_id, safe='')}")
    assert shown["report"] == report and shown["no_report_because"] is None

    files = celery_cluster.run_keys(run_id)
    assert {
        "attempt.json",
        "fetch.json",
        "taxonomy.json",
        "plan.json",
        "report.json",
    } <= set(files)
    assert [f for f in files if f.startswith("pages/")] == ["pages/page-00001.json", "pages/page-00002.json"]
    assert [f for f in files if f.startswith("batches/")] == [
        f"batches/batch-{n:05d}.json" for n in range(1, 11)
    ]
    assert [f for f in files if f.startswith("results/")] == [
        f"results/batch-{n:05d}.json" for n in range(1, 11)
    ]
    # Nothing of the run on any local disk: no worker keeps a file another would need.
    local = [p for p in celery_cluster.home.rglob("*.json") if p.name in {"plan.json", "report.json"}]
    assert local == []

    # The control for the pool test: with 2 slots, two batches were at Medusa at once.
    print(f"[scale-out] 2 slots: {batches.count} batch requests, peak in flight {batches.peak_in_flight}")
    assert batches.count == 10
    assert batches.peak_in_flight == 2


def test_a_missing_bucket_fails_fetch_pages_at_once_naming_it_and_no_secret(
    celery_cluster: CeleryCluster, s3: S3Server, medusa_proxy: CountingProxy
) -> None:
    missing = s3.storage_url(celery_cluster.aws_conn_id, "medusa-sync-no-such-bucket")
    celery_cluster.api.set_variable(STORAGE_VARIABLE, missing)
    medusa_proxy.reset()
    try:
        run_id, state = run_to_end(celery_cluster, {})
    finally:
        celery_cluster.api.set_variable(STORAGE_VARIABLE, celery_cluster.storage_url)

    assert state == "failed"
    [fetch] = instances(celery_cluster, run_id, "fetch_pages")
    print(f"[scale-out] fetch_pages on a missing bucket: {fetch['state']} on try {fetch['try_number']} "
          f"after {fetch['duration']:.2f} s on {fetch['hostname']}", flush=True)  # fmt: skip
    assert (fetch["state"], fetch["try_number"]) == ("failed", 1)  # no retry burnt on a config error
    assert fetch["duration"] < 10
    log = celery_cluster.api.task_log(DAG_ID, run_id, "fetch_pages", try_number=1)
    assert f"run storage {missing}/{DAG_ID}/{run_id} is not usable" in log
    assert "bucket does not exist" in log
    assert s3.secret_key not in log
    leaked = [
        p for p in celery_cluster.home.rglob("*") if p.is_file() and s3.secret_key.encode() in p.read_bytes()
    ]
    assert leaked == []
    # Nothing went on to Medusa, and the missing bucket was not created by the attempt to write.
    assert {t["task_id"]: t["state"] for t in celery_cluster.api.task_instances(DAG_ID, run_id)}[
        "sync_categories"
    ] == "upstream_failed"
    assert medusa_proxy.writes() == []
    assert "medusa-sync-no-such-bucket" not in s3.buckets()


def test_a_1_slot_pool_keeps_medusa_to_one_batch_request_at_a_time_across_workers(
    celery_cluster: CeleryCluster,
    medusa_store_module: MedusaStore,
    medusa_proxy: CountingProxy,
    real_catalog: list[dict[str, Any]],
) -> None:
    run_id, state, batches = watched_run(
        celery_cluster, medusa_proxy, {"batch_size": 20, "full_refresh": True}, slots=1
    )
    assert state == "success", summary(celery_cluster, run_id)

    upserts = instances(celery_cluster, run_id, "upsert_batch")
    print(f"[scale-out] 1 slot: {batches.count} batch requests, peak in flight {batches.peak_in_flight}, "
          f"hosts {sorted(Counter(t['hostname'] for t in upserts).items())}", flush=True)  # fmt: skip
    assert batches.count == 10
    assert batches.peak_in_flight == 1
    assert medusa_proxy.peak_in_flight == 1  # nor any other request of the Medusa tasks
    pooled = [t for t in celery_cluster.api.task_instances(DAG_ID, run_id) if t["pool"] == MEDUSA_POOL]
    assert {t["task_id"] for t in pooled} == TALKS_TO_MEDUSA
    ran = [t for t in pooled if t["state"] != "skipped"]  # sync_stock: skipped as the fetch ended
    assert overlapping([(t["start_date"], t["end_date"]) for t in ran]) == []
    report = celery_cluster.report(run_id)
    assert report is not None
    assert (report["status"], report["products"]["updated"]) == ("success", 194)
    assert_store_exact(medusa_store_module, real_catalog)


def _delete_synced_products(store: MedusaStore) -> None:
    """An empty store again, so the next run creates (the case where a retry could duplicate)."""
    ids = [p["id"] for p in store_products(store, fields="id")]
    response = store.admin.post(BATCH_PATH, json={"delete": ids}, timeout=300)
    response.raise_for_status()
    assert store_products(store, fields="id") == []


def test_a_worker_killed_while_it_holds_a_batch_is_retried_on_the_other_without_duplicates(
    celery_cluster: CeleryCluster,
    medusa_store_module: MedusaStore,
    medusa_proxy: CountingProxy,
    real_catalog: list[dict[str, Any]],
) -> None:
    _delete_synced_products(medusa_store_module)
    medusa_proxy.reset()
    batches = medusa_proxy.watch(Watch("POST", BATCH_PATH, delay=BATCH_DELAY))
    # One slot: the batch request at the proxy when the worker dies is the victim's own, so Medusa
    # commits it after its sender is gone (the worst case for duplicates).
    celery_cluster.api.set_pool(MEDUSA_POOL, 1, POOL_DESCRIPTION)
    run_id = celery_cluster.api.trigger(DAG_ID, conf={"batch_size": 20})
    started = time.monotonic()

    # Wait for a batch request at Medusa's door, then kill the worker of a running upsert instance.
    victim: dict[str, Any] | None = None
    deadline = time.monotonic() + 300
    while victim is None and time.monotonic() < deadline:
        celery_cluster.check_alive()
        running = [
            t
            for t in instances(celery_cluster, run_id, "upsert_batch")
            if t["state"] == "running" and t["hostname"] in WORKERS
        ]
        if running and batches.in_flight:
            victim = running[0]
        else:
            time.sleep(0.2)
    assert victim is not None, summary(celery_cluster, run_id)
    dead = victim["hostname"]
    survivor = next(w for w in WORKERS if w != dead)
    held = [t["map_index"] for t in instances(celery_cluster, run_id, "upsert_batch")
            if t["state"] == "running" and t["hostname"] == dead]  # fmt: skip
    killed = celery_cluster.kill_worker(dead)
    killed_at = time.monotonic()
    print(f"\n[scale-out] killed {dead} ({len(killed)} processes) holding upsert_batch {held} "
          f"{killed_at - started:.1f} s into the run", flush=True)  # fmt: skip
    try:
        state = celery_cluster.wait_for_run(DAG_ID, run_id, timeout=420)
        print(f"[scale-out] run {state} {time.monotonic() - killed_at:.1f} s after the kill", flush=True)
        assert state == "success", summary(celery_cluster, run_id)

        upserts = {t["map_index"]: t for t in instances(celery_cluster, run_id, "upsert_batch")}
        for index in held:
            retried = upserts[index]
            print(f"[scale-out] upsert_batch {index}: try {retried['try_number']} on {retried['hostname']}")
            assert (retried["state"], retried["hostname"]) == ("success", survivor)
            assert retried["try_number"] >= 2
        assert all(t["state"] == "success" for t in upserts.values())
        assert_store_exact(medusa_store_module, real_catalog)  # 0 duplicates, 0 lost
        report = celery_cluster.report(run_id)
        assert report is not None
        products = report["products"]
        print(f"[scale-out] answers lost to the dead worker: {batches.replies_lost}; report: created "
              f"{products['created']}, resumed {products['resumed']}", flush=True)  # fmt: skip
        assert batches.replies_lost == 1  # Medusa committed a batch whose sender was dead ...
        assert products["resumed"] >= 1  # ... and the retry found those products instead of resending
        assert (report["status"], products["created"]) == ("success", 194)
    finally:
        celery_cluster.api.set_pool(MEDUSA_POOL, POOL_SLOTS, POOL_DESCRIPTION)
        celery_cluster.start_worker(dead)  # later scenarios (and a rerun of this module) need two
