"""The DAG as users meet it: id, schedule, params, the four stages and their wiring."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
from airflow.sdk.exceptions import ParamValidationError
from airflow.serialization.serialized_objects import DagSerialization

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
    talks_to_medusa = {"read_store", "sync_categories", "compute_diff", "upsert_batch", "sync_stock"}
    assert {t.task_id for t in dag.tasks if t.pool == "medusa_api"} == talks_to_medusa


def test_batches_are_dynamically_mapped_and_labelled(dag):
    upsert = dag.get_task("upsert_batch")
    assert upsert.is_mapped
    assert upsert.map_index_template == "{{ task.batch_label }}"


def test_the_report_runs_whatever_happened_upstream(dag):
    assert dag.get_task("report").trigger_rule == "all_done"


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


class _TaskInstance:
    """Just enough of a task instance for templates that pull the run folder from XCom."""

    def xcom_pull(self, **_kwargs):
        return "file:///tmp/runs/medusa_product_sync/manual__1"


def _rendered(dag, task_id: str, conf: dict, *, native: bool):
    rendering = copy.deepcopy(dag)
    rendering.render_template_as_native_obj = native
    task = copy.deepcopy(rendering.get_task(task_id))
    params = {name: rendering.params[name] for name in rendering.params} | conf
    task.render_template_fields({"params": params, "ti": _TaskInstance(), "var": {"value": {}}},
                                rendering.get_template_env())  # fmt: skip
    return task


@pytest.mark.parametrize(
    "conf",
    [
        {},
        {"dry_run": True, "full_refresh": True, "batch_size": 50, "max_missing_percent": 12.5},
        {"on_missing": "delete", "currency_code": "JPY", "sales_channel_id": "sc_1"},
    ],
)
def test_the_operators_read_their_params_the_same_with_native_rendering_on_or_off(dag, conf):
    assert dag.render_template_as_native_obj is False  # the DAG itself renders strings
    settings = {
        native: _rendered(dag, "compute_diff", conf, native=native).settings() for native in (True, False)
    }
    assert settings[True] == settings[False]
    assert settings[False].dry_run is conf.get("dry_run", False)
    assert settings[False].batch_size == conf.get("batch_size", 200)
    assert settings[False].max_missing_percent == conf.get("max_missing_percent", 10)
    assert settings[False].sales_channel_id == conf.get("sales_channel_id")


def test_a_bad_templated_value_fails_with_an_error_naming_the_param(dag):
    from medusa_sync.core.param_values import ParamValueError

    task = _rendered(dag, "compute_diff", {"batch_size": "two hundred"}, native=False)
    with pytest.raises(ParamValueError, match="param 'batch_size' must be an integer, got 'two hundred'"):
        task.settings()
