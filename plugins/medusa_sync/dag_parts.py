"""What both DAG files are built from: their Params, default args and runbooks, each said once.

The Params' defaults come from the ``[medusa_sync]`` settings, so a deployment sets what its
scheduled runs do (``AIRFLOW__MEDUSA_SYNC__CURRENCY_CODE=eur``) without editing a DAG file, and the
Trigger form still overrides them per run. Each Param's description is written here only; the
runbook (``runbooks/*.md``, the DAG's ``doc_md``) lists them from here, so the two cannot drift.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from typing import Any

import pendulum
from airflow.sdk import Param

from medusa_sync.alerts import FailureAlertNotifier
from medusa_sync.core.planning import ON_MISSING, PRODUCT_STATUSES
from medusa_sync.names import PRODUCT_DAG_ID, RUN_FOLDER_KEY, STOCK_DAG_ID
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


def _optional_id(default: str, description: str) -> Param:
    return Param(default, type=["null", "string"], description=description)


def _shared_params(settings: MedusaSyncSettings) -> dict[str, Param]:
    """Params both DAGs take, with the same meaning in both."""
    return {
        "stock_location_id": _optional_id(
            settings.stock_location_id,
            "Stock location of the levels; empty = 'Catalog sync', created once and linked to the "
            "sales channel in use (the same in both DAGs).",
        ),
        "sales_channel_id": _optional_id(
            settings.sales_channel_id,
            "Sales channel of synced products, and the one the stock location is linked to; "
            "empty = the store's default.",
        ),
    }


def product_params(settings: MedusaSyncSettings) -> dict[str, Param]:
    return {
        "dry_run": Param(False, type="boolean", description="Plan and report, write nothing to Medusa."),
        "full_refresh": Param(
            False,
            type="boolean",
            description="Rewrite every product, even those whose content hash is unchanged.",
        ),
        "batch_size": Param(
            settings.batch_size,
            type="integer",
            minimum=1,
            maximum=2000,
            description="Products per batch request (batches are also capped at 1.5 MB of JSON).",
        ),
        "page_size": Param(
            settings.page_size,
            type="integer",
            minimum=1,
            maximum=1000,
            description="Products per source API page.",
        ),
        "max_products": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            description="Sync only the first N source products (smoke runs); empty = all. "
            "Products beyond N are never treated as missing upstream.",
        ),
        "on_missing": Param(
            settings.on_missing,
            type="string",
            enum=list(ON_MISSING),
            description="What to do with synced products proven gone upstream: acted on only after a "
            "complete fetch, each confirmed absent by the source, within max_missing_percent.",
        ),
        "max_missing_percent": Param(
            settings.max_missing_percent,
            type="number",
            minimum=0,
            maximum=100,
            description="Deletion guard: if on_missing would draft or delete more than this share (%) "
            "of the synced products, it acts on none and the run fails so someone looks. Raise it "
            "for one triggered run to let a real mass removal through.",
        ),
        "product_status": Param(
            settings.product_status,
            type="string",
            enum=list(PRODUCT_STATUSES),
            description="Status of synced products.",
        ),
        "currency_code": Param(
            settings.currency_code,
            type="string",
            pattern="^[a-zA-Z]{3}$",
            description="ISO 4217 currency of the variant prices; a source price with more decimals "
            "than the currency has (12.5 in jpy) is quarantined. The sync owns only its price in "
            "this currency.",
        ),
        "sync_inventory": Param(
            settings.sync_inventory,
            type="boolean",
            description="Manage variants by inventory and keep each one's stock level at the stock "
            "location equal to the source's stock. Turning it off later leaves levels as they are.",
        ),
        "shipping_profile_id": _optional_id(
            settings.shipping_profile_id,
            "Shipping profile given to new products, and to synced products that have none on "
            "their next write (one a merchant set is kept); empty = the store's default profile. "
            "Without one, Medusa cannot ship a product (with sync_inventory on, it cannot even be "
            "ordered).",
        ),
        **_shared_params(settings),
    }


def stock_params(settings: MedusaSyncSettings) -> dict[str, Param]:
    return {
        "dry_run": Param(False, type="boolean", description="Plan and log the level writes, write nothing."),
        "page_size": Param(
            settings.stock_page_size,
            type="integer",
            minimum=1,
            maximum=1000,
            description="Records per source API page.",
        ),
        **_shared_params(settings),
    }


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
