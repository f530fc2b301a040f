"""The hourly stock DAG as users meet it: schedule, params, and its writes kept apart from the
catalog sync's Medusa tasks by the pool."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.dag_processing.dagbag import DagBag

from medusa_sync import settings
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
    assert stock_dag.get_task("fetch_stock").select == "id,stock"
    sync_stock = stock_dag.get_task("sync_stock")
    assert sync_stock.upstream_task_ids == {"fetch_stock"}
    defaults = settings.load({})
    assert (sync_stock.pool, sync_stock.pool_slots) == (defaults.pool, defaults.pool_slots)
    assert (defaults.pool, defaults.pool_slots) == ("medusa_api", 2)


def test_its_params_have_descriptions(stock_dag):
    assert set(stock_dag.params) == {"dry_run", "page_size", "stock_location_id", "sales_channel_id"}
    for name in stock_dag.params:
        assert stock_dag.params.get_param(name).description, name
