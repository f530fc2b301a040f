"""Hourly: keep Medusa's stock levels in step with the source's stock, and nothing else.

Reads only ``id`` and ``stock`` from the source, compares them with the levels at the sync's
stock location, and writes only the levels that changed. Products themselves are never written
here, and products the catalog sync has not created yet are skipped. Wiring only; see the README.
"""

from __future__ import annotations

from airflow.sdk import DAG

from medusa_sync import dag_parts, settings
from medusa_sync.operators.fetch_pages import FetchStockOperator
from medusa_sync.operators.sync_stock import SyncStockOperator

SETTINGS = settings.load()
PARAMS = dag_parts.stock_params(SETTINGS)
RUN_FOLDER = "{{ ti.xcom_pull(task_ids='fetch_stock', key='run_folder') }}"

with DAG(
    dag_id=dag_parts.STOCK_DAG_ID,
    description="Keep Medusa's stock levels in step with the source's stock",
    schedule=SETTINGS.stock_schedule,
    start_date=dag_parts.START_DATE,
    catchup=False,
    max_active_runs=1,
    # An hourly run that has not ended within the hour is failed, so the next one can start.
    dagrun_timeout=SETTINGS.stock_dagrun_timeout,
    default_args=dag_parts.default_args(SETTINGS),
    tags=["medusa", "inventory"],
    doc_md=dag_parts.runbook(dag_parts.STOCK_DAG_ID, PARAMS),
    params=PARAMS,
) as dag:
    fetch_stock = FetchStockOperator(
        task_id="fetch_stock",
        source_conn_id=SETTINGS.source_conn_id,
        storage_url=dag_parts.STORAGE_URL,
        page_size="{{ params.page_size }}",
        page_concurrency=SETTINGS.source_concurrency,
    )
    # Takes every slot of the Medusa pool: it never writes while medusa_product_sync talks to Medusa.
    sync_stock = SyncStockOperator(
        task_id="sync_stock",
        pool=SETTINGS.pool,
        pool_slots=SETTINGS.pool_slots,
        medusa_conn_id=SETTINGS.medusa_conn_id,
        run_folder=RUN_FOLDER,
        stock_location_id="{{ params.stock_location_id }}",
        sales_channel_id="{{ params.sales_channel_id }}",
        dry_run="{{ params.dry_run }}",
    )

    fetch_stock >> sync_stock
