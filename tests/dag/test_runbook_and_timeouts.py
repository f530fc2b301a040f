"""What an on-call engineer relies on: the runbook in the UI, an owner, and no run that hangs forever."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from airflow.sdk import Asset, AssetAlias

DAGS = Path(__file__).resolve().parents[2] / "dags"


def test_the_runbook_covers_stages_params_outcomes_and_clearing(dag):
    runbook = dag.doc_md
    for task_id in dag.task_ids:
        assert f"`{task_id}`" in runbook, task_id
    for param in dag.params:
        assert f"`{param}`" in runbook, param
    for word in ("**quarantined**", "**rejected**", "**superseded**", "**not found**", "**deletion guard**"):
        assert word in runbook
    assert "## Clear and rerun a batch" in runbook
    assert "**Clear** with **Only failed** and **Downstream**" in runbook
    for setting in (
        "MEDUSA_SYNC_BATCH_TIMEOUT_MINUTES",
        "MEDUSA_SYNC_TASK_TIMEOUT_MINUTES",
        "MEDUSA_SYNC_DAGRUN_TIMEOUT_MINUTES",
    ):
        assert setting in runbook


def test_every_task_has_an_owner_and_a_time_limit_and_so_has_the_run(dag):
    assert dag.dagrun_timeout == timedelta(hours=12)
    limits = {task.task_id: (task.owner, task.execution_timeout) for task in dag.tasks}
    stage = ("catalog-team", timedelta(hours=2))
    assert limits == {
        "fetch_pages": stage,
        "read_store": stage,
        "sync_categories": stage,
        "compute_diff": stage,
        "upsert_batch": ("catalog-team", timedelta(minutes=30)),
        "sync_stock": stage,
        "report": stage,
    }


def test_the_limits_are_overridable_from_the_environment():
    """The components' environment sets them when the DAG file is parsed, as it does for retries."""
    probe = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"dag = DagBag({str(DAGS)!r}).dags['medusa_product_sync']\n"
        "limit = lambda t: dag.get_task(t).execution_timeout.total_seconds()\n"
        "print(dag.dagrun_timeout.total_seconds(), limit('compute_diff'), limit('upsert_batch'), dag.owner)"
    )
    env = {
        **os.environ,
        "MEDUSA_SYNC_DAGRUN_TIMEOUT_MINUTES": "90",
        "MEDUSA_SYNC_TASK_TIMEOUT_MINUTES": "20",
        "MEDUSA_SYNC_BATCH_TIMEOUT_MINUTES": "0.5",
        "MEDUSA_SYNC_OWNER": "night-shift",
    }
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-4:] == ["5400.0", "1200.0", "30.0", "night-shift"]


def test_the_report_announces_the_catalog_through_an_alias_not_on_every_success(dag):
    report = dag.get_task("report")
    assert report.outlets == [AssetAlias("medusa_product_catalog_changes")]
    assert report.catalog_asset == Asset(name="medusa_product_catalog", uri="medusa://catalog/products")
