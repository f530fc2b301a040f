"""What both DAG files are built from: their Params, default args and runbooks, each said once.

The Params are declared in ``params`` (type, bounds, description, default); their defaults
come from the ``[medusa_sync]`` settings, so a deployment sets what its scheduled runs do
(``AIRFLOW__MEDUSA_SYNC__CURRENCY_CODE=eur``) without editing a DAG file, and the Trigger form
still overrides them per run. The runbook (``runbooks/*.md``, the DAG's ``doc_md``) lists them
from the same declaration, so the two cannot drift.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from typing import Any

import pendulum
from airflow.sdk import Param

from medusa_sync.alerts import FailureAlertNotifier
from medusa_sync.names import PRODUCT_DAG_ID, RUN_FOLDER_KEY, STOCK_DAG_ID
from medusa_sync.params import (
    CatalogRunParams,
    RunParams,
    StockRunParams,
    form_order,
    form_schema,
    setting_of,
)
from medusa_sync.rundata.run_folder import STORAGE_VARIABLE
from medusa_sync.settings import MedusaSyncSettings


def run_folder_of(fetch_task_id: str) -> str:
    """The template of the run folder that ``fetch_task_id`` recorded (rendered per task)."""
    return f"{{{{ ti.xcom_pull(task_ids='{fetch_task_id}', key='{RUN_FOLDER_KEY}') }}}}"


START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
# Where a run's storage URL comes from, rendered when its first task starts.
STORAGE_URL = "{{ var.value.get('" + STORAGE_VARIABLE + "', '') }}"


def dag_arguments(dag_id: str, settings: MedusaSyncSettings, params: dict[str, Param]) -> dict[str, Any]:
    """What both DAGs are alike in: no catchup, one run at a time, the default args, the runbook,
    the failure alert; what each is, and its schedule and run timeout from the settings. Nothing
    hangs forever: a run not ended by its timeout is failed, so it cannot block the next one."""
    description, tag, schedule, timeout = {
        PRODUCT_DAG_ID: (
            "Keep the Medusa product catalog in step with the source product API",
            "catalog",
            settings.schedule,
            settings.dagrun_timeout,
        ),
        STOCK_DAG_ID: (
            "Keep Medusa's stock levels in step with the source's stock",
            "inventory",
            settings.stock_schedule,
            settings.stock_dagrun_timeout,
        ),
    }[dag_id]
    return {
        "dag_id": dag_id,
        "description": description,
        "tags": ["medusa", tag],
        "schedule": schedule,
        "dagrun_timeout": timeout,
        # One mail per failed run, whatever failed it; off until the Variable medusa_sync_alert_email is set.
        "on_failure_callback": FailureAlertNotifier(),
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "default_args": default_args(settings),
        "doc_md": runbook(dag_id, params),
        "params": params,
    }


def medusa_task(settings: MedusaSyncSettings) -> dict[str, Any]:
    """Arguments of every task that talks to Medusa: its connection, and a slot of the pool that
    bounds the load on the store whatever the number of workers."""
    return {"pool": settings.pool, "medusa_conn_id": settings.medusa_conn_id}


def source_task(settings: MedusaSyncSettings) -> dict[str, Any]:
    """Arguments of the task that reads the source into a new run folder."""
    return {
        "source_conn_id": settings.source_conn_id,
        "storage_url": STORAGE_URL,
        "page_concurrency": settings.source_concurrency,
    }


def default_args(settings: MedusaSyncSettings) -> dict[str, Any]:
    return {
        "owner": settings.owner,
        "execution_timeout": settings.task_timeout,
        "retries": settings.retries,
        "retry_delay": settings.retry_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
    }


def form_params(model: type[RunParams], settings: MedusaSyncSettings) -> dict[str, Param]:
    """The Trigger form's Params of a DAG, from its run model (``params``): each one's schema
    and description as declared there, its default the ``[medusa_sync]`` key it names, if any."""
    params = {}
    for name in form_order(model):
        field = model.model_fields[name]
        key = setting_of(field)
        default = getattr(settings, key) if key is not None else field.default
        params[name] = Param(default, **form_schema(model, name))
    return params


def product_params(settings: MedusaSyncSettings) -> dict[str, Param]:
    return form_params(CatalogRunParams, settings)


def stock_params(settings: MedusaSyncSettings) -> dict[str, Param]:
    return form_params(StockRunParams, settings)


def runbook(dag_id: str, params: dict[str, Param]) -> str:
    """The DAG's ``doc_md``: its runbook, with the Params listed from their own descriptions."""
    text = resources.files("medusa_sync").joinpath("runbooks", f"{dag_id}.md").read_text(encoding="utf-8")
    lines = [
        f"- `{name}` (default `{_shown(param.value)}`): {param.description}" for name, param in params.items()
    ]
    return text.replace("{{ params }}", "\n".join(lines))


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
