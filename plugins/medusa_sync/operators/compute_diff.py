"""Stage 3: compare the desired catalog with the store and write the batches to send."""

from __future__ import annotations

import time
from typing import Any

import pendulum
from airflow.sdk import BaseOperator, Context, SkipMixin
from airflow.sdk.exceptions import AirflowFailException

from medusa_sync import dag_parts
from medusa_sync.core.batching import DEFAULT_MAX_BYTES, BatchBuilder
from medusa_sync.core.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.core.mapping import (
    DEFAULT_EXTERNAL_ID_PREFIX,
    MappingContext,
)
from medusa_sync.core.missing import Confirmation, confirm_absent
from medusa_sync.core.newest_plan import PlanClaim
from medusa_sync.core.planning import PlanSettings, plan_sync
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.errors import MedusaApiError
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.operators.read_store import STORE_PAGE_SIZE, STORE_READ_CONCURRENCY
from medusa_sync.run_params import CatalogRunParams
from medusa_sync.rundata.run_folder import BatchFileWriter, RunFolder, read_json, write_json
from medusa_sync.rundata.store_snapshot import StoreSnapshot

# Source lookups in flight at once while confirming products missing upstream.
LOOKUP_CONCURRENCY = 4


class ShippingProfileNotFound(AirflowFailException):
    """The ``shipping_profile_id`` param names no shipping profile: every create would be refused,
    and no retry changes that."""


class ComputeDiffOperator(BaseOperator, SkipMixin):
    """Takes the store as ``read_store`` saw it (or lists it once itself on a later try), then
    streams the pages: map, hash, classify, batch.

    Products missing upstream are acted on only after a complete fetch and within the deletion
    guard. Every update, draft and delete carries the store state it was planned against, and a
    real plan claims the DAG's newest-plan marker (``newest_plan``): no older run's batch is sent
    after it. Returns the batch descriptors that ``upsert_batch`` is mapped over; with none to send, or on
    a dry run, it skips ``upsert_batch`` instead.
    """

    template_fields = ("run_folder",)
    ui_color = "#eef7e8"

    def __init__(
        self,
        *,
        run_folder: str,
        medusa_conn_id: str = MedusaHook.default_conn_name,
        source_conn_id: str = CatalogSourceHook.default_conn_name,
        max_batch_bytes: int = DEFAULT_MAX_BYTES,
        external_id_prefix: str = DEFAULT_EXTERNAL_ID_PREFIX,
        store_page_size: int = STORE_PAGE_SIZE,
        store_read_concurrency: int = STORE_READ_CONCURRENCY,
        inventory_task_ids: tuple[str, ...] = (dag_parts.SYNC_STOCK,),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_folder = run_folder
        self.medusa_conn_id = medusa_conn_id
        self.source_conn_id = source_conn_id
        self.max_batch_bytes = max_batch_bytes
        self.external_id_prefix = external_id_prefix
        self.store_page_size = store_page_size
        self.store_read_concurrency = store_read_concurrency
        # Downstream tasks that only matter with ``sync_inventory`` on.
        self.inventory_task_ids = inventory_task_ids

    def execute(self, context: Context) -> list[dict[str, Any]]:
        settings = CatalogRunParams.of(context["params"]).plan_settings()
        folder = RunFolder(self.run_folder)
        for stale in [*folder.batches(), *folder.results()]:  # a rerun replans from scratch
            stale.unlink()
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)
        ctx = self._mapping_context(hook, folder, settings)
        try_number = int(context["ti"].try_number or 1)
        with self._store_index(hook, folder, ctx.external_id_prefix, try_number) as index:
            started = time.monotonic()
            plan, descriptors = self.plan(folder, ctx, index, settings)
        write_json(folder.plan, plan)
        self._log_plan(plan, time.monotonic() - started)
        if not settings.dry_run:  # before a skip: a plan with nothing to send has decided too
            self._claim_newest_plan(folder, context["run_id"])
        self._skip_what_is_not_needed(context, settings, upserts_needed=bool(descriptors))
        return descriptors

    def plan(
        self, folder: RunFolder, ctx: MappingContext, index: StoreIndex, settings: PlanSettings
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Everything after the store read; writes the batch files, returns the plan and descriptors."""
        writer = BatchFileWriter(
            folder, BatchBuilder(max_items=settings.batch_size, max_bytes=self.max_batch_bytes)
        )
        plan = plan_sync(
            pages=(read_json(page) for page in folder.pages()),
            quarantine=read_json(folder.quarantine),
            fetch=read_json(folder.fetch),
            ctx=ctx,
            index=index,
            sink=writer,
            settings=settings,
            confirm_absent=lambda products: self._confirm_absent(folder, products),
        )
        descriptors = writer.close()
        plan |= {
            "batches": [] if settings.dry_run else descriptors,
            "batches_planned": sum(d["batch_count"] for d in descriptors),
            "instances_planned": len(descriptors),
        }
        return plan, descriptors

    # -- steps -------------------------------------------------------------------------------------

    def _claim_newest_plan(self, folder: RunFolder, run_id: str) -> None:
        """Make this run's plan the DAG's newest, so no older run's batch is sent from now on."""
        fetched_at = read_json(folder.fetch).get("started_at") or pendulum.now("UTC").isoformat()
        holder = folder.claim_newest_plan(PlanClaim(run_id=run_id, fetched_at=fetched_at))
        if holder is None:
            self.log.info("newest plan of the DAG: this run (source read at %s)", fetched_at)
        else:
            self.log.warning(
                "run %s read the source later (%s) than this run (%s) and planned since: this run's "
                "batches will be reported superseded, none sent",
                holder.run_id,
                holder.fetched_at,
                fetched_at,
            )

    def _skip_what_is_not_needed(
        self, context: Context, settings: PlanSettings, upserts_needed: bool
    ) -> None:
        """With nothing to send (or on a dry run), skip the mapped upserts now, and with them the
        inventory tasks when ``sync_inventory`` is off, rather than have them skip themselves.

        Same outcome, but the scheduler sees it in the same pass as this task's success and no task
        process starts for nothing, so the report starts sooner (an unchanged run is seconds long;
        that is one of them). ``skip`` ends the task, successfully, by raising, so its return value
        is lost: with batches to send nothing is skipped here (``sync_stock`` skips itself).
        """
        if upserts_needed and not settings.dry_run:
            return
        downstream = context["task"].get_flat_relatives(upstream=False)
        skipped = [task for task in downstream if task.is_mapped]
        if not settings.sync_inventory:
            skipped += [task for task in downstream if task.task_id in self.inventory_task_ids]
        self.log.info("nothing to send: skipped %s", ", ".join(t.task_id for t in skipped) or "nothing")
        self.skip(ti=context["ti"], tasks=skipped)

    def _mapping_context(self, hook: MedusaHook, folder: RunFolder, settings: PlanSettings) -> MappingContext:
        taxonomy = read_json(folder.taxonomy)
        return MappingContext(
            currency_code=settings.currency_code,
            status=settings.product_status,
            sales_channel_id=settings.sales_channel_id or hook.default_sales_channel_id(),
            category_ids=taxonomy["categories"],
            tag_ids=taxonomy["tags"],
            external_id_prefix=self.external_id_prefix,
            manage_inventory=settings.sync_inventory,
            shipping_profile_id=self._shipping_profile(hook, settings.shipping_profile_id),
        )

    @staticmethod
    def _shipping_profile(hook: MedusaHook, given: str | None) -> str:
        """The param's profile, checked once per run, or the store's default one."""
        if not given:
            try:
                return hook.default_shipping_profile_id()
            except MedusaApiError as error:
                if error.transient:
                    raise
                raise ShippingProfileNotFound(
                    f"shipping_profile_id is empty and {error.message}: create a shipping profile in "
                    "Medusa or set the param to one"
                ) from None
        if hook.get_shipping_profile(given) is None:
            raise ShippingProfileNotFound(
                f"shipping_profile_id {given!r}: Medusa has no such shipping profile"
            )
        return given

    def _store_index(self, hook: MedusaHook, folder: RunFolder, prefix: str, try_number: int) -> StoreIndex:
        """The store as ``read_store`` saw it, on the first try; on any later one (a retry, a
        clear), the store as it is now: upserts of this run may have written since the snapshot."""
        started = time.monotonic()
        snapshot = StoreSnapshot(folder)
        summary = snapshot.summary() if try_number == 1 else None
        if summary is not None:
            index = StoreIndex.build(snapshot.products(summary), prefix=prefix)
            source = f"store as read_store saw it (its try {summary.get('try_number')})"
        else:
            why = "no store snapshot in the run folder" if try_number == 1 else f"try {try_number}"
            self.log.info("%s: reading the store now", why)
            index = hook.read_all_products(
                lambda listing: StoreIndex.build(listing, prefix=prefix),
                fields=STORE_PRODUCT_FIELDS,
                page_size=self.store_page_size,
                concurrency=self.store_read_concurrency,
            )
            source = "store read"
        self._log_index(index, source, time.monotonic() - started)
        return index

    def _log_index(self, index: StoreIndex, source: str, seconds: float) -> None:
        self.log.info(
            "%s, %.1f s: %d products of this sync, %d handles in all",
            source,
            seconds,
            index.owned,
            len(index.handles),
        )
        for external_id, ids in index.duplicated.items():
            self.log.error(
                "external id %s is on %d products (%s): only %s is kept in step",
                external_id,
                len(ids),
                ", ".join(ids),
                ids[0],
            )

    def _confirm_absent(self, folder: RunFolder, products: list[StoreProduct]) -> Confirmation:
        """The source asked by id (a few at once) for each product that would be drafted or deleted,
        after one product its pages listed (see ``core.missing.confirm_absent``)."""
        started = time.monotonic()
        source = CatalogSourceHook(source_conn_id=self.source_conn_id)
        confirmation = confirm_absent(
            products,
            prefix=self.external_id_prefix,
            listed_source_id=_a_listed_id(folder),
            lookup=lambda ids: source.lookup_products(ids, concurrency=LOOKUP_CONCURRENCY),
        )
        self.log.info(
            "missing upstream confirmed by id in %.1f s: %d absent (404), %d found upstream, %d unproven",
            time.monotonic() - started,
            len(confirmation.absent),
            len(confirmation.found),
            len(confirmation.unproven),
        )
        return confirmation

    def _log_plan(self, plan: dict[str, Any], seconds: float) -> None:
        self.log.info(
            "plan (%.1f s): %d to create, %d to update, %d unchanged, %d missing upstream (%s: %s) "
            "in %d batches",
            seconds,
            plan["create"],
            plan["update"],
            plan["unchanged"],
            plan["missing_upstream"],
            plan["on_missing"],
            plan["missing_action"],
            plan["batches_planned"],
        )
        if plan["dry_run"]:
            self.log.info("dry run: no batch will be sent")


def _a_listed_id(folder: RunFolder) -> str | None:
    """The source id of one product the fetch read (the first of the first page that has one)."""
    for page in folder.pages():
        records = read_json(page)
        if records:
            return str(records[0]["id"])
    return None
