"""The first stage of both DAGs: page through the source into the run folder, quarantining bad
records. ``FetchPagesOperator`` reads whole records for the catalog sync; ``FetchStockOperator``
only ``id`` and ``stock`` (and, for a product with variants, its variants' ``id`` and ``stock``)
for the hourly stock sync."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pendulum
from airflow.sdk import BaseOperator, Context, SkipMixin
from airflow.sdk.exceptions import AirflowSkipException

from medusa_sync import names, settings
from medusa_sync.core.completeness import FetchAudit
from medusa_sync.core.currency import currency_decimals
from medusa_sync.core.mapping import category_namer
from medusa_sync.core.scratch import ScratchDb
from medusa_sync.core.validation import StockValidator, Validator
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.hooks.retries import RetryPolicy
from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.hooks.taxonomy import TaxonomyMaker
from medusa_sync.params import CatalogRunParams, StockRunParams
from medusa_sync.run_params import read as read_params
from medusa_sync.rundata.run_folder import (
    PageFileWriter,
    RunFolder,
    default_storage_url,
    read_json,
    write_json,
)

# The Params of either DAG a fetch runs in.
FetchParams = CatalogRunParams | StockRunParams


class SourceCatalogEmpty(Exception):
    """Nothing usable came from the source: syncing would only risk the store."""


class FetchPagesOperator(BaseOperator, SkipMixin):
    """Writes one file of valid records per source page, so memory holds one page at a time.

    Returns only the run folder and counts; the records stay in storage. ``partial`` in the result
    (and in ``fetch.json``) is true unless the fetch provably saw the whole catalog; then nothing
    is treated as missing upstream. ``page_concurrency`` pages are read at once after the first
    (which tells the total); a 429 pauses them all for its ``Retry-After``. As it ends, it marks
    skipped the stages the DAG file named that have nothing to do in this run: ``stock_task_id``
    with ``sync_inventory`` off, and ``taxonomy_task_id`` when every category and tag the records
    need is in the store already (found, or created by this fetch as the pages named them).

    :param source_conn_id: connection of the source feed (its ``source_format`` extra picks the
        adapter).
    :param storage_url: where run folders live (``s3://bucket/prefix`` or a local path); empty
        means the default local folder. Templated.
    :param page_concurrency: source pages read at once after the first; None reads
        ``[medusa_sync] source_concurrency`` when the task runs.
    :param medusa_conn_id: connection of the Medusa store, with ``taxonomy_task_id``: the fetch
        looks up and creates the categories and tags as it reads.
    :param taxonomy_task_id: the task that otherwise makes the categories and tags; skipped when
        the fetch made them.
    :param stock_task_id: the task that writes stock levels; skipped when the run's
        ``sync_inventory`` is off.
    """

    template_fields = ("storage_url",)
    # The source's ``select``: None for whole records.
    select: str | None = None
    # Whether the records carry categories, whose names the later stages need from the source.
    names_categories = True
    # The DAG's Params, as this fetch reads them.
    params_model: type[FetchParams] = CatalogRunParams
    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        source_conn_id: str = CatalogSourceHook.default_conn_name,
        storage_url: str | None = None,
        page_concurrency: int | None = None,
        medusa_conn_id: str | None = None,
        taxonomy_task_id: str | None = None,
        stock_task_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.medusa_conn_id = medusa_conn_id
        self.taxonomy_task_id = taxonomy_task_id
        self.stock_task_id = stock_task_id
        # None: ``[medusa_sync] source_concurrency``, read when the task runs.
        self.page_concurrency = page_concurrency
        self.source_conn_id = source_conn_id
        self.storage_url = storage_url
        # Set from the source adapter when the task runs.
        self.category_optional = False

    def execute(self, context: Context) -> dict[str, Any]:
        params = read_params(self.params_model, context["params"])
        max_products = getattr(params, "max_products", None)
        folder = self._fresh_folder(context)
        self._skip_if_not_needed(context, folder)
        # When the source was read: a stock level from an earlier read never overwrites a later one.
        started_at = pendulum.now("UTC").isoformat()
        hook = CatalogSourceHook(source_conn_id=self.source_conn_id)
        # A feed whose products may lack a category (its adapter says so) syncs them without one.
        self.category_optional = hook.adapter.category_optional
        pages = hook.iter_pages(
            page_size=params.page_size,
            max_products=max_products,
            concurrency=self.page_concurrency or settings.load().source_concurrency,
            select=self.select,
        )
        source_categories = self._source_category_list(hook)
        maker = self._taxonomy_maker(params)
        try:
            with ScratchDb() as scratch:
                writer = PageFileWriter(
                    folder, self._validator(scratch, params), FetchAudit(max_products=max_products)
                )
                name_of = self._category_names(hook, source_categories)
                for page in pages:
                    self.log.info("%s", writer.add(page))
                    if maker is not None:
                        new = writer.newly_needed
                        maker.need({c: name_of(c) for c in new.categories}, list(new.tags))
                summary = writer.close(started_at=started_at)
            if summary["valid"] == 0:
                raise SourceCatalogEmpty(
                    f"the source gave no valid product ({summary['fetched']} records, "
                    f"{summary['quarantined']} quarantined); refusing to sync an empty catalog, see "
                    "quarantine/ in the run folder"
                )
            self._describe_source(folder, hook, source_categories)
            # Decided once per run, here: every later stage of the run reads it from ``fetch.json``.
            summary |= {
                "source_format": type(hook.adapter).__name__,
                "external_id_prefix": hook.external_id_prefix,
            }
            write_json(folder.fetch, summary)
        except BaseException:  # the run stops here: what the fetch created in the store goes again
            if maker is not None:
                maker.abandon()
            raise
        idle = [
            *self._idle_taxonomy_stage(context, folder, maker),
            *self._idle_stock_stage(context, params),
        ]
        if idle:
            # ``skip`` ends this task by raising, so the summary is pushed first as the return value it is.
            context["ti"].xcom_push(key=names.RETURN_VALUE, value=summary)
            self.skip(ti=context["ti"], tasks=idle)
        return summary

    def _idle_stock_stage(self, context: Context, params: FetchParams) -> list[Any]:
        """With ``sync_inventory`` off, the stock task has nothing to do in this run. Marked skipped
        now, the scheduler starts no process for it after the upserts, and ``report`` follows them
        at once."""
        if params.sync_inventory or self.stock_task_id is None:
            return []
        self.log.info(
            "sync_inventory is off: %s skipped, stock levels are left as they are", self.stock_task_id
        )
        return [context["dag"].get_task(self.stock_task_id)]

    @staticmethod
    def _category_names(
        hook: CatalogSourceHook, source_categories: list[dict[str, str]] | None
    ) -> Callable[[str], str]:
        """How a category the records use is named in the store, as ``sync_categories`` names it
        (``category_namer``); a feed without a category list names it as its adapter says."""
        if source_categories is None:
            return lambda category: hook.categories([category])[0]["name"]
        return category_namer(source_categories)

    def _taxonomy_maker(self, params: FetchParams) -> TaxonomyMaker | None:
        """Given ``medusa_conn_id`` and a ``taxonomy_task_id`` to spare, the categories and tags the
        records need are looked up, and the missing ones created, while the pages are read: on a
        first sync they are made as the source is read, on most days only looked up. A dry run only
        looks up."""
        if not self.medusa_conn_id or self.taxonomy_task_id is None:
            return None
        # One attempt a request, no backoff: the fetch never waits on a store that is down; what it
        # could not do, ``sync_categories`` does with its retries.
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id, retry=RetryPolicy(max_attempts=1), timeout=10)
        return TaxonomyMaker(hook, create=not params.dry_run)

    def _idle_taxonomy_stage(
        self, context: Context, folder: RunFolder, maker: TaxonomyMaker | None
    ) -> list[Any]:
        """When every category and tag the records need is in the store (found, or made by this
        fetch), writes the ``taxonomy.json`` that the taxonomy task would have written and returns
        that task (``taxonomy_task_id``) to be skipped: the scheduler then starts ``compute_diff``
        straight after the fetch and its store read. Best effort: if a lookup or a creation failed,
        what this fetch created is deleted again and that task runs as usual (and fails there,
        with its own message and retries, if Medusa is unreachable)."""
        if maker is None:
            return []
        try:
            taxonomy = maker.finish()
        except Exception as error:  # the stage that owns it will say what is wrong
            self.log.warning(
                "could not look up or create the categories and tags (%s: %s): %s will",
                type(error).__name__,
                error,
                self.taxonomy_task_id,
            )
            return []
        write_json(folder.taxonomy, taxonomy)
        self.log.info(
            "categories: %d needed, %d created here, %d to create (dry run); tags: %d needed, "
            "%d created here, %d to create (dry run): %s skipped",
            len(taxonomy["categories"]) + len(taxonomy["categories_to_create"]),
            len(taxonomy["categories_created"]),
            len(taxonomy["categories_to_create"]),
            len(taxonomy["tags"]) + len(taxonomy["tags_to_create"]),
            len(taxonomy["tags_created"]),
            len(taxonomy["tags_to_create"]),
            self.taxonomy_task_id,
        )
        return [context["dag"].get_task(self.taxonomy_task_id)]

    def _validator(self, scratch: ScratchDb, params: Any) -> Validator:
        return Validator(
            currency=params.currency_code,
            decimals=currency_decimals(params.currency_code),
            scratch=scratch,
            check_stock=params.sync_inventory,
            category_optional=self.category_optional,
        )

    def _skip_if_not_needed(self, context: Context, folder: RunFolder) -> None:
        return None

    def _source_category_list(self, hook: CatalogSourceHook) -> list[dict[str, str]] | None:
        """The source's own list of category names, when it has one: read before the pages, so that
        each category can be created under its name as soon as a page uses it."""
        return hook.categories() if self.names_categories and hook.adapter.categories_path else None

    def _describe_source(
        self, folder: RunFolder, hook: CatalogSourceHook, source_categories: list[dict[str, str]] | None
    ) -> None:
        """What the later stages need besides the records: the categories' names (the source's
        list, or, for a feed that has none, those the records use, as given)."""
        if not self.names_categories:
            return
        if source_categories is None:
            source_categories = hook.categories(read_json(folder.needed_taxonomy)["categories"])
        write_json(folder.source_categories, source_categories)

    def _fresh_folder(self, context: Context) -> RunFolder:
        """The run's folder, emptied: nothing an earlier attempt left may pass for this one's data."""
        storage = (self.storage_url or "").strip() or default_storage_url()
        folder = RunFolder.for_run(storage, context["dag"].dag_id, context["run_id"])
        # Published first, so the report can find the folder even if fetching fails.
        context["ti"].xcom_push(key=names.RUN_FOLDER_KEY, value=folder.url)
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


class FetchStockOperator(FetchPagesOperator):
    """Reads only ``id`` and ``stock`` of every source product (the source's ``select``), for the
    hourly stock sync: a fraction of the bytes of whole records, and the same run folder layout.

    ``variants`` is asked for too: a product with variants keeps its stock there, a level per
    variant (``StockValidator`` keeps each variant's ``id`` and ``stock`` only). A source without
    the field sends none (DummyJSON leaves a selected key it does not have out of the record), so
    a DummyJSON record is ``{id, stock}`` as before.

    :param yield_to_dag_id: the catalog DAG: while one of its runs is in progress, this run ends
        at once, skipped (that run's own stock task keeps the levels).
    The other parameters are ``FetchPagesOperator``'s.
    """

    select = "id,stock,variants"
    names_categories = False  # stock records carry no category: no list asked for, no names written
    params_model = StockRunParams

    def __init__(self, *, yield_to_dag_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.yield_to_dag_id = yield_to_dag_id

    def _validator(self, scratch: ScratchDb, params: Any) -> Validator:
        return StockValidator(scratch=scratch)

    def _skip_if_not_needed(self, context: Context, folder: RunFolder) -> None:
        """While a catalog run is in progress, this run ends at once, skipped: the catalog run's own
        ``sync_stock`` writes the levels, and this one's would wait for the pool behind its upserts."""
        catalog = self.yield_to_dag_id
        if catalog and context["ti"].get_dr_count(dag_id=catalog, states=["running"]):
            reason = (
                f"{catalog} has a run in progress: its sync_stock keeps the levels "
                "(with sync_inventory on), and the next stock run picks up what is left"
            )
            write_json(folder.skipped, {"reason": reason})
            raise AirflowSkipException(reason)
