"""The stock DAG's first stage: page through the source's ``id`` and ``stock`` only (and, for a
product with variants, its variants' ``id`` and ``stock``)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSkipException

from medusa_sync import names
from medusa_sync.core.scratch import ScratchDb
from medusa_sync.core.validation import StockValidator, Validator
from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.operators.fetch_pages import FetchPagesOperator
from medusa_sync.run_params import RunParams
from medusa_sync.rundata.run_folder import RunFolder, write_json


class FetchStockOperator(FetchPagesOperator):
    """Reads only ``id`` and ``stock`` of every source product (the source's ``select``), for the
    hourly stock sync: a fraction of the bytes of whole records, and the same run folder layout.

    ``variants`` is asked for too: a product with variants keeps its stock there, a level per
    variant (``StockValidator`` keeps each variant's ``id`` and ``stock`` only). A source without
    the field sends none (DummyJSON leaves a selected key it does not have out of the record), so
    a DummyJSON record is ``{id, stock}`` as before.
    """

    select = "id,stock,variants"

    def _params(self, context: Context) -> RunParams:
        return RunParams.of(context["params"])

    def _validator(self, scratch: ScratchDb, params: Any) -> Validator:
        return StockValidator(scratch=scratch)

    def _skip_if_not_needed(self, context: Context, folder: RunFolder) -> None:
        """While a catalog run is in progress, this run ends at once, skipped: the catalog run's own
        ``sync_stock`` writes the levels, and this one's would wait for the pool behind its upserts."""
        if context["ti"].get_dr_count(dag_id=names.PRODUCT_DAG_ID, states=["running"]):
            reason = (
                f"{names.PRODUCT_DAG_ID} has a run in progress: its sync_stock keeps the levels "
                "(with sync_inventory on), and the next stock run picks up what is left"
            )
            write_json(folder.skipped, {"reason": reason})
            raise AirflowSkipException(reason)

    def _source_category_list(self, hook: CatalogSourceHook) -> list[dict[str, str]] | None:
        return None  # stock records carry no category: the source's list is not asked for

    def _describe_source(
        self, folder: RunFolder, hook: CatalogSourceHook, source_categories: list[dict[str, str]] | None
    ) -> None:
        return None
