"""The hourly stock DAG as users meet it: schedule, params, and its writes kept apart from the
catalog sync's Medusa tasks by the pool."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import AirflowSkipException

from medusa_sync import settings
from medusa_sync.alerts import FailureAlertNotifier
from medusa_sync.operators.fetch_pages import FetchStockOperator
from medusa_sync.rundata.run_folder import RunFolder, read_json
from tests.dag.conftest import DAGS


@pytest.fixture(scope="module")
def stock_dag():
    bag = DagBag(str(DAGS))
    assert bag.import_errors == {}
    return bag.dags["medusa_stock_sync"]


def test_it_runs_hourly_without_catchup_one_run_at_a_time_and_ends_within_the_hour(stock_dag):
    assert stock_dag.timetable.expression == "0 * * * *"
    assert stock_dag.catchup is False
    assert stock_dag.max_active_runs == 1
    assert stock_dag.dagrun_timeout == timedelta(minutes=55)


def test_it_reads_stock_then_writes_levels_taking_the_whole_medusa_pool(stock_dag):
    assert stock_dag.task_ids == ["fetch_stock", "sync_stock"]
    assert stock_dag.get_task("fetch_stock").select == "id,stock,variants"
    sync_stock = stock_dag.get_task("sync_stock")
    assert sync_stock.upstream_task_ids == {"fetch_stock"}
    defaults = settings.load({})
    assert (sync_stock.pool, sync_stock.pool_slots) == (defaults.pool, defaults.pool_slots)
    assert (defaults.pool, defaults.pool_slots) == ("medusa_api", 2)


def test_its_params_have_descriptions(stock_dag):
    assert set(stock_dag.params) == {"dry_run", "page_size", "stock_location_id", "sales_channel_id"}
    for name in stock_dag.params:
        assert stock_dag.params.get_param(name).description, name


def test_a_failed_stock_run_mails_the_same_alert_as_a_failed_catalog_run(stock_dag, dag):
    for one in (stock_dag, dag):
        [callback] = (
            one.on_failure_callback
            if isinstance(one.on_failure_callback, list)
            else [one.on_failure_callback]
        )
        assert isinstance(callback, FailureAlertNotifier), one.dag_id


def test_a_stock_run_started_while_a_catalog_run_is_in_progress_ends_skipped_saying_why(stock_dag, tmp_path):
    folder = RunFolder.for_run(f"file://{tmp_path}", "medusa_stock_sync", "manual__2026-12-01T03:00:00+00:00")
    ti = SimpleNamespace(
        task_id="fetch_stock",
        try_number=1,
        xcom_push=lambda **_: None,
        get_dr_count=lambda dag_id, states: int(dag_id == "medusa_product_sync" and states == ["running"]),
    )
    context = {"dag": SimpleNamespace(dag_id="medusa_stock_sync"), "run_id": folder.root.name, "ti": ti}
    wired = stock_dag.get_task("fetch_stock")
    assert wired.yield_to_dag_id == "medusa_product_sync"  # the DAG file tells the task whom to yield to
    operator = FetchStockOperator(
        task_id="fetch_stock", storage_url=f"file://{tmp_path}", yield_to_dag_id=wired.yield_to_dag_id
    )
    with pytest.raises(AirflowSkipException, match="medusa_product_sync has a run in progress"):
        operator.execute({**context, "params": dict(stock_dag.params)})
    assert "its sync_stock keeps the levels" in read_json(folder.skipped)["reason"]
