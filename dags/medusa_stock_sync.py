"""Hourly: keep Medusa's stock levels in step with the source's stock, and nothing else.

Reads only ``id`` and ``stock`` from the source, compares them with the levels at the sync's
stock location, and writes only the levels that changed. Products themselves are never written
here, and products the catalog sync has not created yet are skipped. Wiring only; see docs/how-it-works.md.
"""

from __future__ import annotations

from airflow.sdk import DAG

from medusa_sync import dag_parts, names, settings
from medusa_sync.operators.fetch_pages import FetchStockOperator
from medusa_sync.operators.sync_stock import SyncStockOperator

SETTINGS = settings.load()
PARAMS = dag_parts.stock_params(SETTINGS)
RUN_FOLDER = dag_parts.run_folder_of(names.FETCH_STOCK)

with DAG(**dag_parts.dag_arguments(names.STOCK_DAG_ID, SETTINGS, PARAMS)) as dag:
    fetch_stock = FetchStockOperator(
        task_id=names.FETCH_STOCK,
        **dag_parts.source_task(SETTINGS),
        # While a catalog run runs, its own sync_stock keeps the levels: this run is skipped.
        yield_to_dag_id=names.PRODUCT_DAG_ID,
    )
    # Takes every slot of the Medusa pool: it never writes while medusa_product_sync talks to Medusa.
    sync_stock = SyncStockOperator(
        task_id=names.SYNC_STOCK,
        **dag_parts.medusa_task(SETTINGS),
        pool_slots=SETTINGS.pool_slots,
        run_folder=RUN_FOLDER,
    )

    fetch_stock >> sync_stock
