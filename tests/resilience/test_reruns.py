"""Reruns through a real Airflow (scheduler + LocalExecutor + api-server + dag-processor, PostgreSQL
metadata database), driven through its REST API as an operator does from the UI at 3 am.

Medusa sits behind the fault-injecting proxy so the tests can stop it, or lose an answer.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.stack.airflow_cluster import FAST_RETRIES
from tests.stack.airflow_local import DAG_ID, medusa_connection, source_connection
from tests.stack.counting_proxy import Fault
from tests.stack.store_view import exact_store_problems

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]


@pytest.fixture
def cluster(airflow_cluster_factory, medusa_store, fresh_medusa_proxy, fresh_catalog):
    connections = {
        "medusa_default": medusa_connection(fresh_medusa_proxy.url, api_key=medusa_store.api_key),
        "dummyjson_default": source_connection(fresh_catalog.url),
    }
    with airflow_cluster_factory(connections, env=FAST_RETRIES) as cluster:
        cluster.api.unpause(DAG_ID)
        yield cluster


def assert_each_product_exactly_once(store, catalog):
    assert exact_store_problems(store, catalog) == []


def states(cluster, run_id, task_id="upsert_batch"):
    return [
        (t["map_index"], t["state"], t["try_number"])
        for t in cluster.api.task_instances(DAG_ID, run_id)
        if t["task_id"] == task_id
    ]


def test_batches_failed_while_medusa_was_down_converge_after_clear(
    cluster, medusa_store, fresh_medusa_proxy, real_catalog
):
    stopped = []

    def stop_medusa(_headers, _body):
        if not stopped:  # Medusa goes down as the first batch arrives, once
            stopped.append(True)
            medusa_store.server.stop()
        return False

    fresh_medusa_proxy.inject(Fault("POST", "/admin/products/batch", when=stop_medusa, times=1))
    run_id = cluster.api.trigger(DAG_ID, conf={"batch_size": 50})

    assert cluster.wait_for_run(DAG_ID, run_id, timeout=600) == "failed"
    failed = states(cluster, run_id)
    print(f"\n[reruns] with Medusa down: {failed}; report: {cluster.report(run_id)['batches']}")
    assert [s for _, s, _ in failed] == ["failed"] * 2  # 4 batch files in 2 instances
    assert all(tries == 3 for _, _, tries in failed)  # the first try and both retries
    assert cluster.report(run_id)["status"] == "failed"

    medusa_store.server.start().wait_healthy(timeout=180)
    cleared = cluster.api.clear_failed(DAG_ID, run_id, task_ids=["upsert_batch"], include_downstream=True)
    print(f"[reruns] cleared: {sorted((t['task_id'], t.get('map_index')) for t in cleared)}")
    deadline = time.monotonic() + 60
    while cluster.api.run_state(DAG_ID, run_id) == "failed" and time.monotonic() < deadline:
        time.sleep(0.5)  # the clear puts the run back to queued; wait for it before waiting on it

    assert cluster.wait_for_run(DAG_ID, run_id, timeout=600) == "success", cluster.logs_tail()
    report = cluster.report(run_id)
    print(f"[reruns] after clear: {states(cluster, run_id)}; products: {report['products']}")
    assert report["status"] == "success" and report["batches"]["failed"] == []
    assert report["products"]["created"] + report["products"]["unchanged"] == 194
    assert_each_product_exactly_once(medusa_store, real_catalog)


def test_a_batch_process_killed_after_medusa_committed_creates_no_duplicate(
    cluster, medusa_store, fresh_medusa_proxy, real_catalog
):
    lost = fresh_medusa_proxy.inject(
        Fault("POST", "/admin/products/batch", status=504, forward=True, hold=120)
    )
    run_id = cluster.api.trigger(DAG_ID)

    assert lost.committed.wait(timeout=300), cluster.logs_tail()
    process = cluster.task_process(DAG_ID, run_id, "upsert_batch", map_index=0)
    assert process is not None
    os.kill(process.task_pid, signal.SIGKILL)
    killed_at = time.monotonic()

    assert cluster.wait_for_run(DAG_ID, run_id, timeout=600) == "success", cluster.logs_tail()
    report = cluster.report(run_id)
    print(
        f"\n[reruns] killed pid {process.task_pid}; recovered in {time.monotonic() - killed_at:.0f} s; "
        f"tries: {states(cluster, run_id)}; products: {report['products']}"
    )
    [(_, _, tries)] = states(cluster, run_id)
    assert tries == 2
    # The first attempt created them all; the second finds them in the store, exactly as planned.
    assert (report["products"]["created"], report["products"]["resumed"]) == (194, 194)
    assert report["products"]["updated"] == 0
    assert_each_product_exactly_once(medusa_store, real_catalog)


def test_two_runs_triggered_at_once_run_one_after_the_other(cluster, medusa_store, real_catalog):
    first = cluster.api.trigger(DAG_ID)
    second = cluster.api.trigger(DAG_ID)

    assert cluster.wait_for_run(DAG_ID, first, timeout=600) == "success"
    assert cluster.wait_for_run(DAG_ID, second, timeout=600) == "success"
    runs = sorted((cluster.api.dag_run(DAG_ID, r) for r in (first, second)), key=lambda r: r["start_date"])
    print(f"\n[reruns] runs: {[(r['dag_run_id'], r['start_date'], r['end_date']) for r in runs]}")
    assert runs[1]["start_date"] >= runs[0]["end_date"]
    reports = [cluster.report(r["dag_run_id"])["products"] for r in runs]
    assert (reports[0]["created"], reports[1]["created"], reports[1]["unchanged"]) == (194, 0, 194)
    assert_each_product_exactly_once(medusa_store, real_catalog)
