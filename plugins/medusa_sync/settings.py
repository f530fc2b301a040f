"""The deployment's settings: one ``[medusa_sync]`` section of Airflow's own configuration.

Set them where Airflow users set everything else: in ``airflow.cfg`` under ``[medusa_sync]``, or
as ``AIRFLOW__MEDUSA_SYNC__<KEY>`` in the environment of every Airflow component (scheduler,
dag-processor, workers). Each setting is declared once, below, with its type, default and
description; the provider metadata hands the same table to Airflow (``airflow config list``), and
docs/configure.md is generated from it (a test checks it is current).

Two kinds live here:

- **deployment settings** (connections, pool, retries, timeouts, concurrency), read when the DAG
  files are parsed or when a task starts;
- **defaults of scheduled runs** (currency, sales channel, inventory, on_missing, …): they become
  the defaults of the DAGs' Params, so the nightly run uses them and the Trigger form still
  overrides them per run. They are declared with their Params, in ``params``, not here.

A value that cannot be read fails with the key's name and what it must be, never a bare ``int()``
error: at parse time that is an import error on the DAG, shown in the UI.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from medusa_sync import params
from medusa_sync.core.missing import DEFAULT_RECHECK_PAUSE_SECONDS

SECTION = "medusa_sync"

log = logging.getLogger(__name__)

# Names read before the ``[medusa_sync]`` section existed; still honoured (with a warning, and
# below ``AIRFLOW__MEDUSA_SYNC__*``) so an upgrade does not silently drop a deployment's tuning.
LEGACY_ENVIRONMENT = {
    "retries": "MEDUSA_SYNC_RETRIES",
    "retry_delay_seconds": "MEDUSA_SYNC_RETRY_DELAY_SECONDS",
    "pool": "MEDUSA_SYNC_POOL",
    "pool_slots": "MEDUSA_SYNC_POOL_SLOTS",
    "task_timeout_minutes": "MEDUSA_SYNC_TASK_TIMEOUT_MINUTES",
    "owner": "MEDUSA_SYNC_OWNER",
    "upsert_concurrency": "MEDUSA_SYNC_UPSERT_CONCURRENCY",
    "source_concurrency": "MEDUSA_SYNC_SOURCE_CONCURRENCY",
    "dagrun_timeout_minutes": "MEDUSA_SYNC_DAGRUN_TIMEOUT_MINUTES",
    "batch_timeout_minutes": "MEDUSA_SYNC_BATCH_TIMEOUT_MINUTES",
    "stock_schedule": "MEDUSA_STOCK_SYNC_SCHEDULE",
    "stock_dagrun_timeout_minutes": "MEDUSA_STOCK_SYNC_DAGRUN_TIMEOUT_MINUTES",
    "level_batch_size": "MEDUSA_SYNC_LEVEL_BATCH_SIZE",
    "alert_smtp_conn_id": "MEDUSA_SYNC_ALERT_SMTP_CONN_ID",
}


class SettingsError(ValueError):
    """A ``[medusa_sync]`` value that cannot be used; the message names the key and the fix."""


# The defaults of scheduled runs: one key per Param that has one, declared with the Param
# (``params``: same type, bounds, default and description); the Trigger form overrides them.
_RunDefaults: type[BaseModel] = create_model(
    "RunDefaults",
    __config__=ConfigDict(frozen=True, extra="forbid"),
    **{key: (annotation, field) for key, annotation, field in params.run_defaults()},  # type: ignore[call-overload]
)


class MedusaSyncSettings(_RunDefaults):  # type: ignore[misc,valid-type]
    """Every key of ``[medusa_sync]``: its type, default and what it is for. The defaults of
    scheduled runs come first (from ``params``), the deployment's own settings below."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- connections and load on the store ---
    medusa_conn_id: str = Field("medusa_default", min_length=1, description="Connection of the Medusa store.")
    source_conn_id: str = Field(
        "dummyjson_default", min_length=1, description="Connection of the source product API."
    )
    source_format: str = Field(
        "dummyjson",
        min_length=1,
        description="Format of the source feed: dummyjson, shopify (Shopify's products.json), or the "
        "class path package.module:ClassName of your own adapter (docs/adapters.md). The source "
        "connection's source_format extra, when set, wins.",
    )
    external_id_prefix: str = Field(
        "",
        description="Prefix of the source id in each synced product's external_id; empty = the source "
        "format's own (dummyjson:, shopify:). Changing it on a synced store makes every product new.",
    )
    pool: str = Field(
        "medusa_api",
        min_length=1,
        description="Pool every task that talks to Medusa takes a slot of, so more workers never mean "
        "more load on the store. When it is missing, the plugin creates it with pool_slots slots as "
        "a scheduler, dag-processor or triggerer starts, and in the scheduler as a run of either DAG "
        "starts; one that exists is never resized.",
    )
    pool_slots: int = Field(
        2,
        ge=1,
        description="The pool's size. The stock sync's writes take every slot, so they never run beside "
        "a catalog task that talks to Medusa: keep this equal to the pool's slots.",
    )
    upsert_concurrency: int = Field(
        2,
        ge=1,
        description="Batches one catalog run sends at once (more does not help a single 2-core Medusa); "
        "the batch files are dealt out to upsert_batch instances in rounds of this many.",
    )
    source_concurrency: int = Field(
        4,
        ge=1,
        description="Source pages read at once after the first has told the total; a 429 pauses all of "
        "them for its Retry-After; set 1 for a source with a tight rate limit.",
    )
    level_batch_size: int = Field(
        1000, ge=1, le=10000, description="Stock levels per inventory batch request."
    )
    store_full_read_days: float = Field(
        7.0,
        ge=0,
        description="read_store reads only the products updated since the last run's store read "
        "(merged with what that read kept), and the whole store when its last whole read is older "
        "than this; 0 reads the whole store every run.",
    )
    retention_days: float = Field(
        30.0,
        ge=0,
        description="Run folders of runs started longer ago are removed when a run of the same DAG "
        "starts; never the newest successful run's.",
    )
    # --- proof that a product is gone upstream ---
    missing_proof_max_age_minutes: float = Field(
        60.0,
        ge=0,
        description="A draft or delete sent longer than this after its plan (and any sent by a retried "
        "or cleared upsert_batch) asks the source for the product again first, and is sent only on a "
        "fresh 404; 0 asks again on every send.",
    )
    missing_recheck_pause_seconds: float = Field(
        DEFAULT_RECHECK_PAUSE_SECONDS,
        ge=0,
        le=60,
        description="A product the source answers 404 for is asked for again after this pause: only a "
        "second 404 proves it gone.",
    )
    # --- retries and timeouts ---
    retries: int = Field(
        3, ge=0, description="Retries of a failed task, with exponential backoff capped at 10 min."
    )
    retry_delay_seconds: float = Field(30.0, ge=0, description="First retry delay; it doubles each retry.")
    task_timeout_minutes: float = Field(
        120.0,
        gt=0,
        description="Each attempt of fetch_pages, read_store, sync_categories, compute_diff, sync_stock, "
        "report and the stock DAG's tasks.",
    )
    batch_timeout_minutes: float = Field(
        30.0,
        gt=0,
        description="Each attempt of one upsert_batch instance (at most 25 batch files of 200: about a "
        "minute normally, a few more through the hook's own retries).",
    )
    schedule: str = Field("0 0 * * *", min_length=1, description="Schedule of medusa_product_sync.")
    dagrun_timeout_minutes: float = Field(
        720.0, gt=0, description="A catalog run still going after this long is failed (next day's run)."
    )
    stock_schedule: str = Field("@hourly", min_length=1, description="Schedule of medusa_stock_sync.")
    stock_dagrun_timeout_minutes: float = Field(
        55.0, gt=0, description="A stock run still going after this long is failed (the next one starts)."
    )
    owner: str = Field("catalog-team", min_length=1, description="Owner shown on both DAGs' tasks.")
    alert_smtp_conn_id: str = Field(
        "smtp_default", min_length=1, description="SMTP connection the failure alerts are sent through."
    )

    @property
    def retry_delay(self) -> timedelta:
        return timedelta(seconds=self.retry_delay_seconds)

    @property
    def task_timeout(self) -> timedelta:
        return timedelta(minutes=self.task_timeout_minutes)

    @property
    def batch_timeout(self) -> timedelta:
        return timedelta(minutes=self.batch_timeout_minutes)

    @property
    def dagrun_timeout(self) -> timedelta:
        return timedelta(minutes=self.dagrun_timeout_minutes)

    @property
    def stock_dagrun_timeout(self) -> timedelta:
        return timedelta(minutes=self.stock_dagrun_timeout_minutes)


def environment_name(key: str) -> str:
    return f"AIRFLOW__{SECTION.upper()}__{key.upper()}"


def load(values: dict[str, Any] | None = None) -> MedusaSyncSettings:
    """The settings as Airflow's configuration has them now (``values`` instead, for tests).

    Read on every call: cheap, and a task sees the configuration of the worker it runs on.
    """
    if values is None:
        values = _configured()
    try:
        return MedusaSyncSettings.model_validate(values)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            key = ".".join(str(part) for part in problem["loc"])
            if problem["type"] == "extra_forbidden":
                problems.append(
                    f"[{SECTION}] {key} ({environment_name(key)}) is not a setting of this package"
                )
                continue
            problems.append(
                f"[{SECTION}] {key} ({environment_name(key)}) = {problem.get('input')!r}: {problem['msg']}"
            )
        raise SettingsError("; ".join(problems) + " — fix it in airflow.cfg or the environment") from None


def _configured() -> dict[str, Any]:
    from airflow.sdk import conf

    # Every key the section holds, so a misspelt one fails by name instead of being ignored.
    values: dict[str, Any] = {
        key: str(value).strip() for key, value in (conf.getsection(SECTION) or {}).items()
    }
    for key in MedusaSyncSettings.model_fields:
        value = conf.get(SECTION, key, fallback=None)
        legacy = LEGACY_ENVIRONMENT.get(key)
        if legacy and legacy in os.environ and environment_name(key) not in os.environ:
            log.warning("%s is deprecated: set %s instead", legacy, environment_name(key))
            value = os.environ[legacy]
        if value is not None:
            values[key] = value.strip()
    return values


def provider_config() -> dict[str, Any]:
    """The section as Airflow's provider metadata declares configuration (``airflow config list``)."""
    kinds = {int: "integer", float: "float", bool: "boolean"}
    options = {}
    for key, field in MedusaSyncSettings.model_fields.items():
        default = "" if field.default is None else field.default
        options[key] = {
            "description": field.description,
            "version_added": None,
            "type": kinds.get(type(default), "string"),
            "example": None,
            "default": str(default).lower() if isinstance(default, bool) else str(default),
        }
    return {
        SECTION: {"description": "Medusa product and stock sync (see docs/configure.md).", "options": options}
    }
