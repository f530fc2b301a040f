"""Stock levels: bring each synced variant's level at the sync's stock location in step with the
source's ``stock``, writing only levels that differ, in batches.

Used by both DAGs: after the upserts in ``medusa_product_sync`` (with ``sync_inventory`` on), and
as the hourly ``medusa_stock_sync``. The store's levels are read right before they are planned,
in the same attempt, so a retry or a clear plans from the store as it is then.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSkipException

from medusa_sync import settings
from medusa_sync.core.stock import STORE_LEVEL_FIELDS, WRITE_KINDS, LevelIndex, LevelPlan, hold_back_older
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.operators.run_folder_operator import RunFolderOperator
from medusa_sync.params import RunParams
from medusa_sync.run_params import read as read_params
from medusa_sync.rundata.run_folder import RunFolder, write_json

STOCK_LOCATION_NAME = "Catalog sync"
# Levels per request: about 135 bytes each, far below the 2 MB body limit.
STORE_PAGE_SIZE = 1000
# A dry run's location when "Catalog sync" does not exist yet: no level is there, all are creates.
UNCREATED_LOCATION = "(not created yet)"


class SyncStockOperator(RunFolderOperator):
    """Writes ``stocked_quantity`` of the levels that differ from the source; never reservations.

    A product the store does not hold yet (the catalog sync creates it) is skipped. A stock the
    source gave in a form Medusa cannot hold was quarantined by the fetch and its level is left
    as it is. Stock read from the source before the newest stock planned for real (a run cleared
    or retried later) creates missing levels but updates none: it never overwrites newer stock.
    The watermark moves before the first level write, so this holds even when that newer run
    failed halfway; the newer run itself, retried, reads the same time and still writes.

    :param run_folder: the run folder the fetch wrote (its ``run_folder`` XCom). Templated.
    :param medusa_conn_id: connection of the Medusa store.
    :param external_id_prefix: prefix of the source id in ``external_id``; None takes the one
        this run's fetch decided.
    :param level_batch_size: stock levels per inventory batch request; None reads
        ``[medusa_sync] level_batch_size`` when the task runs.
    """

    ui_color = "#eaf7ea"

    def __init__(
        self,
        *,
        run_folder: str | None,
        medusa_conn_id: str = MedusaHook.default_conn_name,
        external_id_prefix: str | None = None,
        level_batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(run_folder=run_folder, medusa_conn_id=medusa_conn_id, **kwargs)
        # None: the prefix this run's fetch decided (``RunFolder.external_id_prefix``).
        self.external_id_prefix = external_id_prefix
        # None: ``[medusa_sync] level_batch_size``, read when the task runs.
        self.level_batch_size = level_batch_size

    def execute(self, context: Context) -> dict[str, Any]:
        params = read_params(RunParams, context["params"])
        if not params.sync_inventory:
            raise AirflowSkipException("sync_inventory is off: stock levels are left as they are")
        folder = RunFolder(str(self.run_folder))
        self.external_id_prefix = self.external_id_prefix or folder.external_id_prefix()
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)
        location_id = (
            hook.stock_location_for(
                params.stock_location_id,
                name=STOCK_LOCATION_NAME,
                sales_channel_id=params.sales_channel_id or hook.default_sales_channel_id(),
                dry_run=params.dry_run,
            )
            or UNCREATED_LOCATION
        )
        # The index holds both sides and the writes until they are sent; its file is gone when the
        # task ends, whether it succeeds or fails.
        with LevelIndex() as index:
            plan = self._plan(hook, folder, index, location_id)
            fetched_at, mark = folder.fetched_at(), folder.read_stock_watermark()
            held = hold_back_older(plan, fetched_at, mark)
            if fetched_at and not params.dry_run:
                # Before the first write: a run that fails halfway (or writes nothing, the store
                # being right) has still decided, and an older read replayed later must not undo that.
                folder.raise_stock_watermark(
                    fetched_at, dag_id=context["dag"].dag_id, run_id=context["run_id"]
                )
            requests = 0 if params.dry_run else self._write(hook, plan)
        result = plan.outcome(
            location_id=location_id, dry_run=params.dry_run, superseded=held, requests=requests
        )
        write_json(folder.stock, result)
        self.log.info("stock: %s", result)
        return result

    def _plan(self, hook: MedusaHook, folder: RunFolder, index: LevelIndex, location_id: str) -> LevelPlan:
        """The source's stock (from the run folder) against the store's levels, read now; both are
        streamed into ``index``, a page at a time."""
        started = time.monotonic()
        index.add_source(folder.records(), self.external_id_prefix)
        listing = hook.list_products(fields=STORE_LEVEL_FIELDS, page_size=STORE_PAGE_SIZE)
        index.add_store(listing, location_id, self.external_id_prefix)
        plan = index.plan(location_id)
        self.log.info("levels: %s (planned in %.1f s)", plan.describe(), time.monotonic() - started)
        return plan

    def _write(self, hook: MedusaHook, plan: LevelPlan) -> int:
        """Creates, then updates, ``[medusa_sync] level_batch_size`` levels per request."""
        size = self.level_batch_size or settings.load().level_batch_size
        requests = 0
        for kind in WRITE_KINDS:
            for chunk in plan.chunks(kind, size):
                started = time.monotonic()
                hook.batch_inventory_levels(**{kind: chunk})
                requests += 1
                self.log.info(
                    "%s levels: request %d, %d levels, %.2f s",
                    kind,
                    requests,
                    len(chunk),
                    time.monotonic() - started,
                )
        return requests
