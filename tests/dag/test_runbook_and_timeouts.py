"""What an on-call engineer relies on: the runbook in the UI, an owner, and no run that hangs forever."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

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
    for setting in ("batch_timeout_minutes", "task_timeout_minutes", "dagrun_timeout_minutes"):
        assert f"`{setting}`" in runbook
    # Each Param is listed with its own description and default: the two cannot drift apart.
    for name in dag.params:
        assert f"- `{name}` (default " in runbook, name
        assert dag.params.get_param(name).description in runbook, name


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


def _parsed(settings: dict[str, str], expression: str) -> Any:
    """Parse ``dags/`` in a fresh process whose environment sets ``[medusa_sync]`` keys, as the
    dag-processor's would, and print ``expression`` (of ``bag``, ``dag`` and ``stock``)."""
    probe = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag({str(DAGS)!r})\n"
        "dag, stock = bag.dags.get('medusa_product_sync'), bag.dags.get('medusa_stock_sync')\n"
        f"print(repr(({expression})))"
    )
    env = {**os.environ, **{f"AIRFLOW__MEDUSA_SYNC__{key.upper()}": value for key, value in settings.items()}}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_the_limits_are_overridable_from_airflow_config():
    """``[medusa_sync]`` in the components' environment sets them when the DAG file is parsed."""
    limits = {"dagrun_timeout_minutes": "90", "task_timeout_minutes": "20", "batch_timeout_minutes": "0.5"}
    shown = _parsed(
        {**limits, "owner": "night-shift"},
        "dag.dagrun_timeout.total_seconds(), dag.get_task('compute_diff').execution_timeout.total_seconds(), "
        "dag.get_task('upsert_batch').execution_timeout.total_seconds(), dag.owner",
    )
    assert shown == (5400.0, 1200.0, 30.0, "night-shift")


def test_scheduled_runs_take_their_defaults_from_airflow_config():
    """What the nightly run does is set per deployment: no DAG edit, the Trigger form still overrides."""
    shown = _parsed(
        {
            "currency_code": "eur",
            "on_missing": "draft",
            "sync_inventory": "true",
            "shipping_profile_id": "sp_night",
            "schedule": "30 2 * * *",
            "stock_schedule": "@daily",
        },
        "[dag.params[k] for k in ('currency_code', 'on_missing', 'sync_inventory', 'shipping_profile_id')], "
        "dag.timetable.expression, stock.timetable.expression",
    )
    assert shown == (["eur", "draft", True, "sp_night"], "30 2 * * *", "0 0 * * *")


def test_a_bad_setting_fails_parsing_with_its_key_named():
    dags, errors = _parsed({"on_missing": "purge"}, "sorted(bag.dags), sorted(bag.import_errors.values())")
    assert dags == [] and len(errors) == 2
    for error in errors:
        assert "[medusa_sync] on_missing (AIRFLOW__MEDUSA_SYNC__ON_MISSING) = 'purge'" in error
        assert "'ignore', 'draft' or 'delete'" in error


def test_the_report_announces_the_catalog_through_an_alias_not_on_every_success(dag):
    report = dag.get_task("report")
    assert report.outlets == [AssetAlias("medusa_product_catalog_changes")]
    assert report.catalog_asset == Asset(name="medusa_product_catalog", uri="medusa://catalog/products")
