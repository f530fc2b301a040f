"""The names the package shares: DAG ids, task ids and XCom keys, each said once.

A leaf: it imports nothing, so every module (the DAG kit, the operators, the alerts, the report
page) may import it without making a circle.
"""

PRODUCT_DAG_ID = "medusa_product_sync"
STOCK_DAG_ID = "medusa_stock_sync"

# Task ids: the report, the alerts and the report page look tasks up by them.
FETCH_PAGES = "fetch_pages"
READ_STORE = "read_store"
SYNC_CATEGORIES = "sync_categories"
COMPUTE_DIFF = "compute_diff"
UPSERT_BATCH = "upsert_batch"
SYNC_STOCK = "sync_stock"
REPORT = "report"
FETCH_STOCK = "fetch_stock"
# Each DAG's first task: the one that records the run folder.
FETCH_TASK = {PRODUCT_DAG_ID: FETCH_PAGES, STOCK_DAG_ID: FETCH_STOCK}

# The XCom key under which a run's first task records its run folder.
RUN_FOLDER_KEY = "run_folder"
# The XCom key of a task's return value (Airflow's own name for it).
RETURN_VALUE = "return_value"
