"""Daily sync of the product catalog from a DummyJSON-style API into a Medusa v2 store.

Wiring only: the stages live in ``medusa_sync.operators``; every Param is in docs/configure.md.
"""

from __future__ import annotations

from airflow.sdk import DAG, AssetAlias

from medusa_sync import dag_parts, names, settings
from medusa_sync.operators.compute_diff import ComputeDiffOperator
from medusa_sync.operators.fetch_pages import FetchPagesOperator
from medusa_sync.operators.read_store import ReadStoreOperator
from medusa_sync.operators.sync_categories import SyncCategoriesOperator
from medusa_sync.operators.sync_report import SyncReportOperator
from medusa_sync.operators.sync_stock import SyncStockOperator
from medusa_sync.operators.upsert_batch import UpsertBatchOperator

SETTINGS = settings.load()
PARAMS = dag_parts.product_params(SETTINGS)
RUN_FOLDER = dag_parts.run_folder_of(names.FETCH_PAGES)
# The report emits the catalog asset through this alias only when a run changed the catalog: an Asset
# declared in ``outlets`` would get an event on every successful report, dry runs included.
CATALOG_CHANGES = AssetAlias("medusa_product_catalog_changes")

MEDUSA_TASK = dag_parts.medusa_task(SETTINGS)

with DAG(**dag_parts.dag_arguments(names.PRODUCT_DAG_ID, SETTINGS, PARAMS)) as dag:
    # In the pool too: it looks up each category and tag in Medusa, and creates the missing ones,
    # as the pages name them (then sync_categories is skipped and compute_diff follows at once).
    fetch_pages = FetchPagesOperator(
        task_id=names.FETCH_PAGES,
        **dag_parts.source_task(SETTINGS),
        **MEDUSA_TASK,
        taxonomy_task_id=names.SYNC_CATEGORIES,
        # Skipped as the fetch ends when the run's sync_inventory is off.
        stock_task_id=names.SYNC_STOCK,
    )
    # Reads the store while the source is fetched: it needs nothing from the source.
    read_store = ReadStoreOperator(
        task_id=names.READ_STORE,
        **MEDUSA_TASK,
        storage_url=dag_parts.STORAGE_URL,
    )
    sync_categories = SyncCategoriesOperator(
        task_id=names.SYNC_CATEGORIES,
        **MEDUSA_TASK,
        run_folder=RUN_FOLDER,
    )
    compute_diff = ComputeDiffOperator(
        task_id=names.COMPUTE_DIFF,
        **MEDUSA_TASK,
        source_conn_id=SETTINGS.source_conn_id,
        run_folder=RUN_FOLDER,
        upsert_concurrency=SETTINGS.upsert_concurrency,
        # With no batch to send they have nothing to do: skipped with it (sync_stock only when the
        # run's sync_inventory is off: a change of stock alone writes levels).
        upsert_task_id=names.UPSERT_BATCH,
        stock_task_id=names.SYNC_STOCK,
        # Also after a sync_categories the fetch skipped (nothing to create); never after a failure.
        trigger_rule="none_failed",
    )
    upsert_batch = UpsertBatchOperator.partial(
        task_id=names.UPSERT_BATCH,
        **MEDUSA_TASK,
        # A draft or delete sent late (a clear, a retry) asks the source again whether it is gone.
        source_conn_id=SETTINGS.source_conn_id,
        map_index_template="{{ task.batch_label }}",
        max_active_tis_per_dagrun=SETTINGS.upsert_concurrency,
        execution_timeout=SETTINGS.batch_timeout,
    ).expand_kwargs(compute_diff.output)
    # After the upserts (the variants it stocks must exist), also when there was none to send: a
    # change of stock alone writes levels, never products.
    sync_stock = SyncStockOperator(
        task_id=names.SYNC_STOCK,
        **MEDUSA_TASK,
        run_folder=RUN_FOLDER,
        trigger_rule="none_failed",
    )
    # No retries: a report that fails says the run did not land; trying again changes nothing.
    report = SyncReportOperator(
        task_id=names.REPORT,
        run_folder=RUN_FOLDER,
        outlets=[CATALOG_CHANGES],
        # Built by the report when it emits it: an Asset built here would cost every task's parse.
        catalog_asset_name="medusa_product_catalog",
        catalog_asset_uri="medusa://catalog/products",
        retries=0,
    )

    fetch_pages >> sync_categories >> compute_diff >> upsert_batch >> sync_stock >> report
    read_store >> compute_diff
    # The report waits for the upserts themselves too: with sync_inventory off, sync_stock is marked
    # skipped as the fetch ends, and a skipped upstream alone would let the report start then.
    upsert_batch >> report
