"""Daily sync of the product catalog from a DummyJSON-style API into a Medusa v2 store.

Wiring only: the stages live in ``medusa_sync.operators``; see the README for every param.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Asset, AssetAlias, Param

from medusa_sync.deletion_guard import DEFAULT_MAX_MISSING_PERCENT
from medusa_sync.deployment import MEDUSA_CONN_ID, MEDUSA_POOL, SOURCE_CONN_ID, default_args
from medusa_sync.failure_alert import FailureAlertNotifier
from medusa_sync.operators.compute_diff import ComputeDiffOperator
from medusa_sync.operators.fetch_pages import FetchPagesOperator
from medusa_sync.operators.read_store import ReadStoreOperator
from medusa_sync.operators.report import SyncReportOperator
from medusa_sync.operators.sync_categories import SyncCategoriesOperator
from medusa_sync.operators.sync_stock import SyncStockOperator
from medusa_sync.operators.upsert_batch import UpsertBatchOperator
from medusa_sync.runbook import RUNBOOK
from medusa_sync.storage import STORAGE_VARIABLE

RUN_FOLDER = "{{ ti.xcom_pull(task_ids='fetch_pages', key='run_folder') }}"
# Batches sent at once per run: 2 is Medusa's sweet spot on 2 cores (183 products/s vs 152 with 1).
UPSERT_CONCURRENCY = int(os.environ.get("MEDUSA_SYNC_UPSERT_CONCURRENCY", "2"))
# Source pages read at once after the first; lower it for a source with a tight rate limit.
SOURCE_CONCURRENCY = int(os.environ.get("MEDUSA_SYNC_SOURCE_CONCURRENCY", "4"))
# Nothing hangs forever: a run that has not ended after this long is failed, so it cannot block the
# next day's run (max_active_runs=1). A first sync of 1,000,000 products takes about 4 h here.
DAGRUN_TIMEOUT = timedelta(minutes=float(os.environ.get("MEDUSA_SYNC_DAGRUN_TIMEOUT_MINUTES", "720")))
# Each attempt of one upsert_batch instance (about 5 batch files, a few minutes at most even
# through the hook's own retries) is failed after this long.
BATCH_TIMEOUT = timedelta(minutes=float(os.environ.get("MEDUSA_SYNC_BATCH_TIMEOUT_MINUTES", "30")))
CATALOG_ASSET = Asset(name="medusa_product_catalog", uri="medusa://catalog/products")
# The report emits CATALOG_ASSET through this alias only when a run changed the catalog: an Asset
# declared in ``outlets`` would get an event on every successful report, dry runs included.
CATALOG_CHANGES = AssetAlias("medusa_product_catalog_changes")

with DAG(
    dag_id="medusa_product_sync",
    description="Keep the Medusa product catalog in step with the source product API",
    schedule="0 0 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    # One mail per failed run, whatever failed it; off until the Variable medusa_sync_alert_email is set.
    on_failure_callback=FailureAlertNotifier(),
    default_args=default_args(),
    tags=["medusa", "catalog"],
    doc_md=RUNBOOK,
    params={
        "dry_run": Param(False, type="boolean", description="Plan and report, write nothing to Medusa."),
        "full_refresh": Param(
            False,
            type="boolean",
            description="Rewrite every product, even those whose content hash is unchanged.",
        ),
        "batch_size": Param(
            200,
            type="integer",
            minimum=1,
            maximum=2000,
            description="Products per batch request (batches are also capped at 1.5 MB of JSON).",
        ),
        "page_size": Param(
            100, type="integer", minimum=1, maximum=1000, description="Products per source API page."
        ),
        "max_products": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            description="Sync only the first N source products (smoke runs); empty = all. "
            "Products beyond N are never treated as missing upstream.",
        ),
        "on_missing": Param(
            "ignore",
            type="string",
            enum=["ignore", "draft", "delete"],
            description="What to do with synced products that vanished upstream.",
        ),
        "max_missing_percent": Param(
            DEFAULT_MAX_MISSING_PERCENT,
            type="number",
            minimum=0,
            maximum=100,
            description="Deletion guard: if on_missing would draft or delete more than this share (%) "
            "of the synced products, it acts on none and the run fails so someone looks. Raise it "
            "for one triggered run to let a real mass removal through.",
        ),
        "product_status": Param(
            "published", type="string", enum=["published", "draft"], description="Status of synced products."
        ),
        "currency_code": Param(
            "usd",
            type="string",
            pattern="^[a-zA-Z]{3}$",
            description="ISO 4217 currency of the variant prices; a source price with more decimals "
            "than the currency has (12.5 in jpy) is quarantined.",
        ),
        "sales_channel_id": Param(
            "",
            type=["null", "string"],
            description="Sales channel for synced products; empty = the store's default.",
        ),
        "sync_inventory": Param(
            False,
            type="boolean",
            description="Manage variants by inventory and keep each one's stock level at the stock "
            "location equal to the source's stock. Turning it off later leaves levels as they are.",
        ),
        "stock_location_id": Param(
            "",
            type=["null", "string"],
            description="Stock location of the levels; empty = 'Catalog sync', created once and "
            "linked to the sales channel in use.",
        ),
        "shipping_profile_id": Param(
            "",
            type=["null", "string"],
            description="Shipping profile given to new products, and to synced products that have "
            "none on their next write (one a merchant set is kept); empty = the store's default "
            "profile. Without one, Medusa cannot ship a product (with sync_inventory on, it cannot "
            "even be ordered).",
        ),
    },
) as dag:
    fetch_pages = FetchPagesOperator(
        task_id="fetch_pages",
        source_conn_id=SOURCE_CONN_ID,
        storage_url="{{ var.value.get('" + STORAGE_VARIABLE + "', '') }}",
        page_size="{{ params.page_size }}",
        max_products="{{ params.max_products }}",
        currency_code="{{ params.currency_code }}",
        page_concurrency=SOURCE_CONCURRENCY,
        sync_inventory="{{ params.sync_inventory }}",
    )
    # Reads the store while the source is fetched: it needs nothing from the source.
    read_store = ReadStoreOperator(
        task_id="read_store",
        pool=MEDUSA_POOL,
        medusa_conn_id=MEDUSA_CONN_ID,
        storage_url="{{ var.value.get('" + STORAGE_VARIABLE + "', '') }}",
    )
    sync_categories = SyncCategoriesOperator(
        task_id="sync_categories",
        pool=MEDUSA_POOL,
        medusa_conn_id=MEDUSA_CONN_ID,
        run_folder=RUN_FOLDER,
        dry_run="{{ params.dry_run }}",
    )
    compute_diff = ComputeDiffOperator(
        task_id="compute_diff",
        pool=MEDUSA_POOL,
        medusa_conn_id=MEDUSA_CONN_ID,
        source_conn_id=SOURCE_CONN_ID,
        run_folder=RUN_FOLDER,
        dry_run="{{ params.dry_run }}",
        full_refresh="{{ params.full_refresh }}",
        batch_size="{{ params.batch_size }}",
        on_missing="{{ params.on_missing }}",
        max_missing_percent="{{ params.max_missing_percent }}",
        product_status="{{ params.product_status }}",
        currency_code="{{ params.currency_code }}",
        sales_channel_id="{{ params.sales_channel_id }}",
        sync_inventory="{{ params.sync_inventory }}",
        shipping_profile_id="{{ params.shipping_profile_id }}",
    )
    upsert_batch = UpsertBatchOperator.partial(
        task_id="upsert_batch",
        pool=MEDUSA_POOL,
        medusa_conn_id=MEDUSA_CONN_ID,
        map_index_template="{{ task.batch_label }}",
        max_active_tis_per_dagrun=UPSERT_CONCURRENCY,
        execution_timeout=BATCH_TIMEOUT,
    ).expand_kwargs(compute_diff.output)
    # After the upserts (the variants it stocks must exist), also when there was none to send: a
    # change of stock alone writes levels, never products.
    sync_stock = SyncStockOperator(
        task_id="sync_stock",
        pool=MEDUSA_POOL,
        medusa_conn_id=MEDUSA_CONN_ID,
        run_folder=RUN_FOLDER,
        enabled="{{ params.sync_inventory }}",
        stock_location_id="{{ params.stock_location_id }}",
        sales_channel_id="{{ params.sales_channel_id }}",
        dry_run="{{ params.dry_run }}",
        trigger_rule="none_failed",
    )
    # No retries: a report that fails says the run did not land; trying again changes nothing.
    report = SyncReportOperator(
        task_id="report",
        run_folder=RUN_FOLDER,
        outlets=[CATALOG_CHANGES],
        catalog_asset=CATALOG_ASSET,
        retries=0,
    )

    fetch_pages >> sync_categories >> compute_diff >> upsert_batch >> sync_stock >> report
    read_store >> compute_diff
