"""Stage 1: page through the source catalog into the run folder, quarantining bad records."""

from __future__ import annotations

import socket
from typing import Any

import pendulum
from airflow.sdk import BaseOperator, Context, SkipMixin

from medusa_sync import dag_parts, settings
from medusa_sync.core.completeness import FetchAudit
from medusa_sync.core.currency import currency_decimals
from medusa_sync.core.scratch import ScratchDb
from medusa_sync.core.validation import Validator
from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.run_params import CatalogRunParams, RunParams
from medusa_sync.rundata.run_folder import (
    PageFileWriter,
    RunFolder,
    default_storage_url,
    write_json,
)

# The XCom key of a task's return value (Airflow's own name for it).
RETURN_VALUE = "return_value"


class SourceCatalogEmpty(Exception):
    """Nothing usable came from the source: syncing would only risk the store."""


class FetchPagesOperator(BaseOperator, SkipMixin):
    """Writes one file of valid records per source page, so memory holds one page at a time.

    Returns only the run folder and counts; the records stay in storage. ``partial`` in the result
    (and in ``fetch.json``) is true unless the fetch provably saw the whole catalog; then nothing
    is treated as missing upstream. ``page_concurrency`` pages are read at once after the first
    (which tells the total); a 429 pauses them all for its ``Retry-After``. With ``sync_inventory``
    off, it marks the run's ``sync_stock`` skipped as it ends.
    """

    template_fields = ("storage_url",)
    # The source's ``select``: None for whole records.
    select: str | None = None
    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        source_conn_id: str = CatalogSourceHook.default_conn_name,
        storage_url: str | None = None,
        page_concurrency: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # None: ``[medusa_sync] source_concurrency``, read when the task runs.
        self.page_concurrency = page_concurrency
        self.source_conn_id = source_conn_id
        self.storage_url = storage_url

    def execute(self, context: Context) -> dict[str, Any]:
        params = self._params(context)
        max_products = getattr(params, "max_products", None)
        folder = self._fresh_folder(context)
        self._skip_if_not_needed(context, folder)
        # When the source was read: a stock level from an earlier read never overwrites a later one.
        started_at = pendulum.now("UTC").isoformat()
        hook = CatalogSourceHook(source_conn_id=self.source_conn_id)
        pages = hook.iter_pages(
            page_size=params.page_size,
            max_products=max_products,
            concurrency=self.page_concurrency or settings.load().source_concurrency,
            select=self.select,
        )
        with ScratchDb() as scratch:
            writer = PageFileWriter(
                folder, self._validator(scratch, params), FetchAudit(max_products=max_products)
            )
            for page in pages:
                self.log.info("%s", writer.add(page))
            summary = writer.close(started_at=started_at)
        if summary["valid"] == 0:
            raise SourceCatalogEmpty(
                f"the source gave no valid product ({summary['fetched']} records, {summary['quarantined']} "
                "quarantined); refusing to sync an empty catalog, see quarantine/ in the run folder"
            )
        self._describe_source(folder, hook)
        write_json(folder.fetch, summary)
        self._skip_stock_stage(context, params, summary)
        return summary

    def _params(self, context: Context) -> RunParams:
        return CatalogRunParams.of(context["params"])

    def _skip_stock_stage(self, context: Context, params: RunParams, summary: dict[str, Any]) -> None:
        """With ``sync_inventory`` off, ``sync_stock`` has nothing to do in this run. Marked skipped
        now, the scheduler starts no process for it after the upserts, and ``report`` follows them
        at once. ``skip`` ends this task by raising, so the summary is pushed first as the return
        value it is."""
        dag = context["dag"]
        if params.sync_inventory or not dag.has_task(dag_parts.SYNC_STOCK):
            return
        context["ti"].xcom_push(key=RETURN_VALUE, value=summary)
        self.log.info(
            "sync_inventory is off: %s skipped, stock levels are left as they are", dag_parts.SYNC_STOCK
        )
        self.skip(ti=context["ti"], tasks=[dag.get_task(dag_parts.SYNC_STOCK)])

    def _validator(self, scratch: ScratchDb, params: Any) -> Validator:
        return Validator(
            currency=params.currency_code,
            decimals=currency_decimals(params.currency_code),
            scratch=scratch,
            check_stock=params.sync_inventory,
        )

    def _skip_if_not_needed(self, context: Context, folder: RunFolder) -> None:
        return None

    def _describe_source(self, folder: RunFolder, hook: CatalogSourceHook) -> None:
        """What the later stages need besides the records: the categories' names."""
        write_json(folder.source_categories, hook.categories())

    def _fresh_folder(self, context: Context) -> RunFolder:
        """The run's folder, emptied: nothing an earlier attempt left may pass for this one's data."""
        storage = (self.storage_url or "").strip() or default_storage_url()
        folder = RunFolder.for_run(storage, context["dag"].dag_id, context["run_id"])
        # Published first, so the report can find the folder even if fetching fails.
        context["ti"].xcom_push(key=dag_parts.RUN_FOLDER_KEY, value=folder.url)
        ti = context["ti"]
        # Fails at once, naming the storage, if it is unusable.
        folder.start_attempt(
            {"task": ti.task_id, "try_number": ti.try_number, "hostname": socket.gethostname()}
        )
        try:
            folder.prune_older_runs(settings.load().retention_days)
        except Exception as error:  # housekeeping: a run never fails for it
            self.log.warning("old run folders not removed this time: %s: %s", type(error).__name__, error)
        return folder
