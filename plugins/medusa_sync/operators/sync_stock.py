"""Stock levels: bring each synced variant's level at the sync's stock location in step with the
source's ``stock``, writing only levels that differ, in batches.

Used by both DAGs: after the upserts in ``medusa_product_sync`` (with ``sync_inventory`` on), and
as the hourly ``medusa_stock_sync``. The store's levels are read right before they are planned,
in the same attempt, so a retry or a clear plans from the store as it is then.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from medusa_sync import settings
from medusa_sync.core.mapping import DEFAULT_EXTERNAL_ID_PREFIX
from medusa_sync.core.stock import (
    STORE_LEVEL_FIELDS,
    LevelPlan,
    chunks,
    hold_back_older,
    plan_levels,
    raised_watermark,
    store_level,
)
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.run_params import RunParams
from medusa_sync.rundata.run_folder import RunFolder, read_json, write_json

STOCK_LOCATION_NAME = "Catalog sync"
# Levels per request: about 135 bytes each, far below the 2 MB body limit; 1,000 took 1.2 s.
STORE_PAGE_SIZE = 1000
# A dry run's location when "Catalog sync" does not exist yet: no level is there, all are creates.
UNCREATED_LOCATION = "(not created yet)"


class StockLocationNotFound(AirflowFailException):
    """The ``stock_location_id`` param names no stock location (Medusa would write levels there
    anyway, where no storefront looks)."""


class SyncStockOperator(BaseOperator):
    """Writes ``stocked_quantity`` of the levels that differ from the source; never reservations.

    A product the store does not hold yet (the catalog sync creates it) is skipped. A stock the
    source gave in a form Medusa cannot hold was quarantined by the fetch and its level is left
    as it is. Stock read from the source before the newest stock planned for real (a run cleared
    or retried later) creates missing levels but updates none: it never overwrites newer stock.
    The watermark moves before the first level write, so this holds even when that newer run
    failed halfway; the newer run itself, retried, reads the same time and still writes.
    """

    template_fields = ("run_folder",)
    ui_color = "#eaf7ea"

    def __init__(
        self,
        *,
        run_folder: str | None,
        medusa_conn_id: str = MedusaHook.default_conn_name,
        external_id_prefix: str = DEFAULT_EXTERNAL_ID_PREFIX,
        level_batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_folder = run_folder
        self.medusa_conn_id = medusa_conn_id
        self.external_id_prefix = external_id_prefix
        # None: ``[medusa_sync] level_batch_size``, read when the task runs.
        self.level_batch_size = level_batch_size

    def execute(self, context: Context) -> dict[str, Any]:
        params = RunParams.of(context["params"])
        if not params.sync_inventory:
            raise AirflowSkipException("sync_inventory is off: stock levels are left as they are")
        folder = RunFolder(str(self.run_folder))
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)
        location_id = self._location(hook, params)
        source = self._source_stock(folder)
        plan = self._plan(hook, source, location_id)
        fetched_at = read_json(folder.fetch).get("started_at")
        superseded = self._hold_back_older_stock(folder, plan, fetched_at)
        if fetched_at and not params.dry_run:
            # Before the first write: a run that fails halfway (or writes nothing, the store being
            # right) has still decided, and an older read replayed later must not undo that.
            self._raise_watermark(folder, context, fetched_at)
        requests = 0 if params.dry_run else self._write(hook, plan)
        return self._finish(folder, location_id, plan, superseded, requests, dry_run=params.dry_run)

    # -- steps -------------------------------------------------------------------------------------

    def _location(self, hook: MedusaHook, params: RunParams) -> str:
        """The given location (checked), or "Catalog sync", created the first time; linked to the
        sales channel in use either way, so storefronts on that channel see the stock. A dry run
        creates and links nothing: it plans against the location as it is (or would be)."""
        dry_run, given = params.dry_run, params.stock_location_id
        if given:
            location = hook.get_stock_location(given)
            if location is None:
                raise StockLocationNotFound(f"stock_location_id {given!r}: Medusa has no such stock location")
        else:
            location = hook.find_stock_location(STOCK_LOCATION_NAME)
            if location is None and dry_run:
                self.log.info("dry run: stock location %r would be created", STOCK_LOCATION_NAME)
                return UNCREATED_LOCATION
            if location is None:
                location = hook.create_stock_location(STOCK_LOCATION_NAME)
                self.log.info("created stock location %r (%s)", STOCK_LOCATION_NAME, location["id"])
        channel = params.sales_channel_id or hook.default_sales_channel_id()
        if channel not in {c["id"] for c in location.get("sales_channels") or []} and not dry_run:
            hook.link_stock_location(location["id"], channel)
            self.log.info("linked stock location %s to sales channel %s", location["id"], channel)
        self.log.info(
            "stock location %s (%s), sales channel %s", location["id"], location.get("name"), channel
        )
        return location["id"]

    def _source_stock(self, folder: RunFolder) -> dict[str, int]:
        """``external id -> stock`` of every record the fetch kept with a stock Medusa can hold."""
        stock: dict[str, int] = {}
        for page in folder.pages():
            for record in read_json(page):
                if record.get("stock") is not None:
                    stock[f"{self.external_id_prefix}{record['id']}"] = int(record["stock"])
        return stock

    def _plan(self, hook: MedusaHook, source: dict[str, int], location_id: str) -> LevelPlan:
        started = time.monotonic()
        store = {}
        for product in hook.list_products(fields=STORE_LEVEL_FIELDS, page_size=STORE_PAGE_SIZE):
            if str(product.get("external_id") or "").startswith(self.external_id_prefix):
                store[product["external_id"]] = store_level(product, location_id)
        plan = plan_levels(source, store, location_id)
        self.log.info(
            "levels: %d to create, %d to update, %d unchanged, %d products not in the store yet, "
            "%d variants not managed by inventory (store read in %.1f s)",
            len(plan.create),
            len(plan.update),
            plan.unchanged,
            len(plan.not_in_store),
            len(plan.unmanaged),
            time.monotonic() - started,
        )
        return plan

    def _hold_back_older_stock(self, folder: RunFolder, plan: LevelPlan, fetched_at: str | None) -> int:
        """Drop the updates when newer stock has been written since this run read the source."""
        mark = read_json(folder.stock_watermark) if folder.stock_watermark.exists() else None
        held = hold_back_older(plan, fetched_at, mark)
        if held:
            self.log.warning(
                "the source was read at %s, before the stock %s/%s wrote (read at %s): %d level "
                "updates held back so older stock never overwrites newer; missing levels are still created",
                fetched_at,
                mark.get("dag_id"),
                mark.get("run_id"),
                mark["fetched_at"],
                held,
            )
        return held

    def _write(self, hook: MedusaHook, plan: LevelPlan) -> int:
        size = self.level_batch_size or settings.load().level_batch_size
        requests = 0
        for kind in ("create", "update"):
            items = getattr(plan, kind)
            for number, chunk in enumerate(chunks(items, size), start=1):
                started = time.monotonic()
                hook.batch_inventory_levels(**{kind: chunk})
                requests += 1
                self.log.info(
                    "%s levels: request %d of %d, %d levels, %.2f s",
                    kind,
                    number,
                    -(-len(items) // size),
                    len(chunk),
                    time.monotonic() - started,
                )
        return requests

    def _raise_watermark(self, folder: RunFolder, context: Context, fetched_at: str) -> None:
        """Move the watermark forward to this run's read (never back). Read, then write, without a
        lock: the two DAGs' stock writers never run at once (``sync_stock`` takes the whole pool)."""
        mark = read_json(folder.stock_watermark) if folder.stock_watermark.exists() else None
        raised = raised_watermark(mark, fetched_at, dag_id=context["dag"].dag_id, run_id=context["run_id"])
        if raised is not None:
            write_json(folder.stock_watermark, raised)

    def _finish(
        self,
        folder: RunFolder,
        location_id: str,
        plan: LevelPlan,
        superseded: int,
        requests: int,
        *,
        dry_run: bool,
    ) -> dict[str, Any]:
        result = plan.outcome(
            location_id=location_id, dry_run=dry_run, superseded=superseded, requests=requests
        )
        write_json(folder.stock, result)
        self.log.info("stock: %s", result)
        return result
