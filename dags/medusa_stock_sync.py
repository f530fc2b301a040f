"""Hourly: keep Medusa's stock levels in step with the source's stock, and nothing else.

Reads only ``id`` and ``stock`` from the source, compares them with the levels at the sync's
stock location, and writes only the levels that changed. Products themselves are never written
here, and products the catalog sync has not created yet are skipped. Wiring only; see the README.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from medusa_sync.deployment import (
    MEDUSA_CONN_ID,
    MEDUSA_POOL,
    MEDUSA_POOL_SLOTS,
    SOURCE_CONN_ID,
    default_args,
)
from medusa_sync.hooks.source import DEFAULT_PAGE_CONCURRENCY
from medusa_sync.operators.fetch_pages import FetchStockOperator
from medusa_sync.operators.sync_stock import SyncStockOperator
from medusa_sync.runbook import STOCK_RUNBOOK
from medusa_sync.storage import STORAGE_VARIABLE

RUN_FOLDER = "{{ ti.xcom_pull(task_ids='fetch_stock', key='run_folder') }}"
SCHEDULE = os.environ.get("MEDUSA_STOCK_SYNC_SCHEDULE", "@hourly")
# An hourly run that has not ended within the hour is failed, so the next one can start.
DAGRUN_TIMEOUT = timedelta(minutes=float(os.environ.get("MEDUSA_STOCK_SYNC_DAGRUN_TIMEOUT_MINUTES", "55")))

with DAG(
    dag_id="medusa_stock_sync",
    description="Keep Medusa's stock levels in step with the source's stock",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    default_args=default_args(),
    tags=["medusa", "inventory"],
    doc_md=STOCK_RUNBOOK,
    params={
        "dry_run": Param(False, type="boolean", description="Plan and log the level writes, write nothing."),
        "page_size": Param(
            500, type="integer", minimum=1, maximum=1000, description="Records per source API page."
        ),
        "stock_location_id": Param(
            "",
            type=["null", "string"],
            description="Stock location of the levels; empty = 'Catalog sync' (as medusa_product_sync).",
        ),
        "sales_channel_id": Param(
            "",
            type=["null", "string"],
            description="Sales channel the location is linked to; empty = the store's default.",
        ),
    },
) as dag:
    fetch_stock = FetchStockOperator(
        task_id="fetch_stock",
        source_conn_id=SOURCE_CONN_ID,
        storage_url="{{ var.value.get('" + STORAGE_VARIABLE + "', '') }}",
        page_size="{{ params.page_size }}",
        page_concurrency=DEFAULT_PAGE_CONCURRENCY,
    )
    # Takes every slot of the Medusa pool: it never writes while medusa_product_sync talks to Medusa.
    sync_stock = SyncStockOperator(
        task_id="sync_stock",
        pool=MEDUSA_POOL,
        pool_slots=MEDUSA_POOL_SLOTS,
        medusa_conn_id=MEDUSA_CONN_ID,
        run_folder=RUN_FOLDER,
        stock_location_id="{{ params.stock_location_id }}",
        sales_channel_id="{{ params.sales_channel_id }}",
        dry_run="{{ params.dry_run }}",
    )

    fetch_stock >> sync_stock
