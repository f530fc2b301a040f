"""The DAG as users meet it: id, schedule, params, the four stages and their wiring."""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException, ParamValidationError
from airflow.serialization.serialized_objects import DagSerialization

from medusa_sync.params import CatalogRunParams
from medusa_sync.run_params import ParamError, read
from tests.fixtures.airflow_runs import TALKS_TO_MEDUSA

DAGS = Path(__file__).resolve().parents[2] / "dags"


def test_it_runs_daily_without_catchup_one_run_at_a_time(dag):
    assert dag.timetable.expression == "0 0 * * *"
    assert dag.catchup is False
    assert dag.max_active_runs == 1


def test_the_stages_are_chained_in_order(dag):
    order = ["fetch_pages", "sync_categories", "compute_diff", "upsert_batch", "sync_stock", "report"]
    for upstream, downstream in itertools.pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids


def test_the_store_is_read_alongside_the_fetch_and_feeds_the_diff(dag):
    read_store = dag.get_task("read_store")
    assert read_store.upstream_task_ids == set()
    assert read_store.downstream_task_ids == {"compute_diff"}
    assert dag.get_task("fetch_pages").upstream_task_ids == set()


def test_every_task_that_talks_to_medusa_is_in_the_medusa_pool(dag):
    assert {t.task_id for t in dag.tasks if t.pool == "medusa_api"} == TALKS_TO_MEDUSA


def test_the_diff_follows_a_sync_categories_the_fetch_skipped_but_never_a_failure(dag):
    assert dag.get_task("compute_diff").trigger_rule == "none_failed"
    assert dag.get_task("compute_diff").upstream_task_ids == {"sync_categories", "read_store"}


def test_batches_are_dynamically_mapped_and_labelled(dag):
    upsert = dag.get_task("upsert_batch")
    assert upsert.is_mapped
    assert upsert.map_index_template == "{{ task.batch_label }}"


def test_the_report_runs_whatever_happened_upstream_once_the_upserts_and_stock_are_done(dag):
    report = dag.get_task("report")
    assert report.trigger_rule == "all_done"
    # Both: sync_stock may be skipped early (sync_inventory off), the upserts never are before compute_diff.
    assert report.upstream_task_ids == {"upsert_batch", "sync_stock"}


def test_stock_is_synced_after_the_upserts_even_when_there_was_none_to_send(dag):
    sync_stock = dag.get_task("sync_stock")
    assert sync_stock.upstream_task_ids == {"upsert_batch"}
    assert sync_stock.trigger_rule == "none_failed"  # upserts skipped: a stock-only change still lands
    assert dag.params["sync_inventory"] is False


def test_every_param_of_the_interface_is_in_the_trigger_form_with_a_description(dag):
    expected = {
        "dry_run",
        "full_refresh",
        "batch_size",
        "page_size",
        "max_products",
        "on_missing",
        "max_missing_percent",
        "product_status",
        "currency_code",
        "sales_channel_id",
        "sync_inventory",
        "stock_location_id",
        "shipping_profile_id",
    }
    assert set(dag.params) == expected
    for name in expected:
        assert dag.params.get_param(name).description, name


@pytest.mark.parametrize(
    ("conf", "valid"),
    [
        ({"on_missing": "draft"}, True),
        ({"on_missing": "archive"}, False),
        ({"batch_size": 0}, False),
        ({"max_products": 5}, True),
        ({"max_products": None}, True),
        ({"product_status": "proposed"}, False),
        ({"currency_code": "usdollar"}, False),
        ({"max_missing_percent": 50}, True),
        ({"max_missing_percent": 150}, False),
    ],
)
def test_the_trigger_form_schema_refuses_bad_values(dag, conf, valid):
    params = copy.deepcopy(dag.params)
    if valid:
        params.update(conf)
        params.validate()
    else:
        with pytest.raises(ParamValidationError, match=next(iter(conf))):
            params.update(conf)
            params.validate()


def test_it_survives_serialization_as_the_scheduler_sees_it(dag):
    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    assert restored.dag_id == "medusa_product_sync"
    assert set(restored.task_ids) == set(dag.task_ids)


def _run_params(dag, conf: dict) -> dict:
    """The params a run of the DAG gets: the Params' defaults, overridden by the trigger's conf."""
    params = copy.deepcopy(dag.params)
    params.update(conf)
    return dict(params.validate())


def test_no_operator_takes_a_param_through_a_template(dag):
    """Params reach the operators as values (``context["params"]``), never as rendered strings."""
    for task in dag.tasks:
        for field in task.template_fields:
            assert "params." not in str(getattr(task, field, "")), (task.task_id, field)


@pytest.mark.parametrize(
    "conf",
    [
        {},
        {"dry_run": True, "full_refresh": True, "batch_size": 50, "max_missing_percent": 12.5},
        {"on_missing": "delete", "currency_code": "JPY", "sales_channel_id": "sc_1"},
    ],
)
def test_the_operators_read_the_run_params_typed_once(dag, conf):
    params = read(CatalogRunParams, _run_params(dag, conf))
    assert params.dry_run is conf.get("dry_run", False)
    assert params.batch_size == conf.get("batch_size", 200)
    assert params.max_missing_percent == conf.get("max_missing_percent", 10)
    assert params.sales_channel_id == conf.get("sales_channel_id")  # empty in the form: the default
    assert params.currency_code == conf.get("currency_code", "usd").lower()
    plan = params.plan_settings()
    assert (plan.on_missing, plan.batch_size) == (conf.get("on_missing", "ignore"), params.batch_size)


@pytest.mark.parametrize(
    ("conf", "says"),
    [
        (
            {"batch_size": "two hundred"},
            "param 'batch_size' = 'two hundred': Input should be a valid integer",
        ),
        (
            {"currency_code": "xyz"},
            "param 'currency_code' = 'xyz': Value error, not an ISO 4217 currency code",
        ),
    ],
)
def test_a_bad_param_fails_the_task_at_once_naming_it(dag, conf, says):
    """What the form's schema lets through (a conf from the API, say) still fails by name, and
    without retries: no retry changes a param."""
    params = {name: dag.params[name] for name in dag.params} | conf
    with pytest.raises(ParamError, match=re.escape(says)) as raised:
        read(CatalogRunParams, params)
    assert isinstance(raised.value, AirflowFailException)
