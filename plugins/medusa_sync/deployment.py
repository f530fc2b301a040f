"""Settings both DAGs read from the environment when they are parsed: one deployment, one set.

Each has a default that works on a single machine; the README lists them all.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

MEDUSA_CONN_ID = "medusa_default"
SOURCE_CONN_ID = "dummyjson_default"
# Task retries (exponential backoff from this delay); the environment can tune them per deployment.
RETRIES = int(os.environ.get("MEDUSA_SYNC_RETRIES", "3"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("MEDUSA_SYNC_RETRY_DELAY_SECONDS", "30")))
# Every task that talks to Medusa takes a slot of this pool, so adding workers never adds load on
# the store: create it once per deployment (``airflow pools set medusa_api 2 "Medusa Admin API"``).
MEDUSA_POOL = os.environ.get("MEDUSA_SYNC_POOL", "medusa_api")
# The pool's size. The stock sync's writes take every slot, so they never run beside a task of
# the catalog sync that talks to Medusa: keep this equal to the pool's slots.
MEDUSA_POOL_SLOTS = int(os.environ.get("MEDUSA_SYNC_POOL_SLOTS", "2"))
# Each attempt of a whole-catalog stage (fetch, store read, diff, report) is failed after this long.
TASK_TIMEOUT = timedelta(minutes=float(os.environ.get("MEDUSA_SYNC_TASK_TIMEOUT_MINUTES", "120")))
OWNER = os.environ.get("MEDUSA_SYNC_OWNER", "catalog-team")


def default_args() -> dict[str, Any]:
    return {
        "owner": OWNER,
        "execution_timeout": TASK_TIMEOUT,
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
    }
