"""Stage 3: compare the desired catalog with the store and write the batches to send."""

from __future__ import annotations

import time
from typing import Any

import pendulum
from airflow.sdk import Context, SkipMixin

from medusa_sync.core.batching import DEFAULT_MAX_BYTES, BatchBuilder
from medusa_sync.core.diff import STORE_PRODUCT_FIELDS
from medusa_sync.core.mapping import MappingContext
from medusa_sync.core.newest_plan import PlanClaim
from medusa_sync.core.planning import PlanSettings, describe_plan, plan_sync
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.hooks.medusa import MedusaHook, StoreDefaults
from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.operators.run_folder_operator import RunFolderOperator
from medusa_sync.params import CatalogRunParams
from medusa_sync.run_params import read as read_params
from medusa_sync.rundata.run_folder import BatchFileWriter, RunFolder, read_json, write_json
from medusa_sync.rundata.store_snapshot import (
    STORE_DEFAULTS_KEY,
    STORE_PAGE_SIZE,
    STORE_READ_CONCURRENCY,
    first_try_summary,
    planning_index,
)
from medusa_sync.settings import load as load_settings


class ComputeDiffOperator(RunFolderOperator, SkipMixin):
    """Plans the run against the store as ``read_store`` saw it, with the store's default sales
    channel and shipping profile as it found them (both read again on a later try): streams the
    pages through ``core.planning`` into batch files.

    A real plan claims the DAG's newest-plan marker, so no older run's batch is sent after it.
    Returns the batch descriptors ``upsert_batch`` is mapped over; with none to send, or on a dry
    run, it marks skipped the tasks the DAG file named for that (``upsert_task_id``,
    ``stock_task_id``).

    :param run_folder: the run folder the fetch wrote (its ``run_folder`` XCom). Templated.
    :param medusa_conn_id: connection of the Medusa store.
    :param source_conn_id: connection of the source, asked for each product that would be drafted
        or deleted (only two 404s prove one gone).
    :param max_batch_bytes: largest request body a batch file may make (Medusa refuses over 2 MB).
    :param external_id_prefix: prefix of the source id in ``external_id``; None takes the one
        this run's fetch decided.
    :param upsert_concurrency: upsert instances a run sends at once; the batch files are dealt
        out in rounds of it.
    :param upsert_task_id: the mapped upsert task, skipped when no batch was planned.
    :param stock_task_id: the stock task, skipped too then unless the run's ``sync_inventory`` is
        on (a stock change alone writes levels).
    """

    ui_color = "#eef7e8"

    def __init__(
        self,
        *,
        run_folder: str | None,
        medusa_conn_id: str = MedusaHook.default_conn_name,
        source_conn_id: str = CatalogSourceHook.default_conn_name,
        max_batch_bytes: int = DEFAULT_MAX_BYTES,
        external_id_prefix: str | None = None,
        upsert_concurrency: int = 1,
        upsert_task_id: str | None = None,
        stock_task_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(run_folder=run_folder, medusa_conn_id=medusa_conn_id, **kwargs)
        self.source_conn_id = source_conn_id
        self.max_batch_bytes = max_batch_bytes
        # None: the prefix this run's fetch decided (``RunFolder.external_id_prefix``).
        self.external_id_prefix = external_id_prefix
        # The upsert instances a run sends at once: the batch files are dealt out in rounds of it.
        self.upsert_concurrency = upsert_concurrency
        self.upsert_task_id = upsert_task_id
        self.stock_task_id = stock_task_id

    def execute(self, context: Context) -> list[dict[str, Any]]:
        # What this run's params decide (``settings`` here are always ``[medusa_sync]``'s).
        run = read_params(CatalogRunParams, context["params"]).plan_settings()
        # Before the source is asked about what is missing: upsert_batch measures a proof's age from it.
        planned_at = pendulum.now("UTC").isoformat()
        folder = RunFolder(str(self.run_folder))
        folder.clear_plan()
        self.external_id_prefix = self.external_id_prefix or folder.external_id_prefix()
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)
        try_number = int(context["ti"].try_number or 1)
        summary = first_try_summary(folder, try_number)
        # The store's defaults as read_store found them beside its read (None: ask Medusa now).
        recorded = StoreDefaults.from_json((summary or {}).get(STORE_DEFAULTS_KEY))
        ctx = run.mapping_context(
            taxonomy=read_json(folder.taxonomy),
            sales_channel_id=run.sales_channel_id or hook.default_sales_channel_id(recorded),
            shipping_profile_id=hook.shipping_profile_for(run.shipping_profile_id, recorded),
            external_id_prefix=self.external_id_prefix,
        )
        prefix = ctx.external_id_prefix
        index = planning_index(
            folder,
            prefix=prefix,
            try_number=try_number,
            summary=summary,
            read_now=lambda: hook.read_all_products(
                lambda listing: StoreIndex.build(listing, prefix=prefix),
                fields=STORE_PRODUCT_FIELDS,
                page_size=STORE_PAGE_SIZE,
                concurrency=STORE_READ_CONCURRENCY,
            ),
        )
        with index:
            started = time.monotonic()
            plan, descriptors = self.plan(folder, ctx, index, run)
        plan["planned_at"] = planned_at
        write_json(folder.plan, plan)
        self.log.info("plan (%.1f s): %s", time.monotonic() - started, describe_plan(plan))
        if not run.dry_run:  # before a skip: a plan with nothing to send has decided too
            fetched_at = folder.fetched_at() or pendulum.now("UTC").isoformat()
            folder.claim_newest_plan(PlanClaim(run_id=context["run_id"], fetched_at=fetched_at))
        if run.dry_run or not descriptors:
            # Skipped now rather than skipping themselves: the scheduler sees it in the same pass as
            # this task's success and starts no process for nothing. ``skip`` ends this task by
            # raising, so only when the descriptors are not needed.
            idle = self._idle_without_batches(context, sync_inventory=run.sync_inventory)
            self.log.info("nothing to send: skipped %s", ", ".join(t.task_id for t in idle) or "nothing")
            self.skip(ti=context["ti"], tasks=idle)
        return descriptors

    def _idle_without_batches(self, context: Context, *, sync_inventory: bool) -> list[Any]:
        """The tasks with nothing to do when no batch was planned: the upserts, and the stock task
        unless ``sync_inventory`` is on (a stock change alone writes levels)."""
        idle = [self.upsert_task_id, None if sync_inventory else self.stock_task_id]
        return [context["dag"].get_task(task_id) for task_id in idle if task_id is not None]

    def plan(
        self, folder: RunFolder, ctx: MappingContext, index: StoreIndex, run: PlanSettings
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Everything after the store read; writes the batch files, returns the plan and descriptors."""
        writer = BatchFileWriter(
            folder,
            BatchBuilder(max_items=run.batch_size, max_bytes=self.max_batch_bytes),
            concurrency=self.upsert_concurrency,
        )
        source = CatalogSourceHook(source_conn_id=self.source_conn_id)
        pause = load_settings().missing_recheck_pause_seconds
        plan = plan_sync(
            pages=(read_json(page) for page in folder.pages()),
            quarantine=folder.quarantined(),
            fetch=read_json(folder.fetch),
            ctx=ctx,
            index=index,
            sink=writer,
            settings=run,
            # Each product that would be drafted or deleted, asked for by id: only two 404s prove it gone.
            confirm_absent=lambda products: source.confirm_absent(
                products,
                prefix=self.external_id_prefix,
                listed_source_id=folder.first_source_id(),
                pause=pause,
            ),
        )
        descriptors = writer.close()
        plan |= {
            "batches": [] if run.dry_run else descriptors,
            "batches_planned": sum(d["batch_count"] for d in descriptors),
            "instances_planned": len(descriptors),
        }
        return plan, descriptors
