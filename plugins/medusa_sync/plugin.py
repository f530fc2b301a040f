"""The Airflow plugin: the report page (mounted in the api-server, in the UI's Browse menu), the
``Sync report`` link, and the listener that creates the ``medusa_api`` pool when it is missing.

Every Airflow process loads plugins, task processes included, so the app (FastAPI and the
api-server's auth) is imported only when the api-server asks for ``fastapi_apps``, and the pool
model only where the pool is checked.

The pool is checked when a component starts (the scheduler, the dag-processor, the triggerer) and
again each time a run of either DAG starts, so a pool deleted while the scheduler runs is back
before that run's first Medusa task is queued. The run-start check cannot write in the scheduler's
own session (its loop forbids any other commit there: "UNEXPECTED COMMIT"), so it runs beside the
loop, in a thread with a session of its own.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

from medusa_sync import names, settings
from medusa_sync.ui.report_link import REPORTING_DAGS, URL_PREFIX, SyncReportLink, report_path

log = logging.getLogger(__name__)

POOL_DESCRIPTION = "Tasks talking to the Medusa Admin API (created by medusa_sync: [medusa_sync] pool_slots)"


def ensure_pool(config: settings.MedusaSyncSettings) -> bool:
    """Create ``[medusa_sync] pool`` with ``pool_slots`` slots unless it exists; True if created.

    Airflow never queues a task of a pool that does not exist: its scheduler logs one warning and
    the run waits for its timeout (12 hours for the catalog). A pool that exists is left as it is,
    whatever its size.
    """
    from airflow.models.pool import Pool

    if Pool.get_pool(config.pool) is not None:
        return False
    Pool.create_or_update_pool(
        name=config.pool, slots=config.pool_slots, description=POOL_DESCRIPTION, include_deferred=False
    )
    log.warning(
        "created the pool %r with %d slots ([medusa_sync] pool_slots), which the medusa_sync DAGs use; "
        "to size it yourself: airflow pools set %s <slots> 'Medusa Admin API' (keep pool_slots equal)",
        config.pool,
        config.pool_slots,
        config.pool,
    )
    return True


@hookimpl
def on_starting(component: Any) -> None:
    """An Airflow component starts: the scheduler (and the dag-processor, the triggerer), before its
    loop, where a database write is allowed; never in a task process, which has no database."""
    jobs = sys.modules.get("airflow.jobs.job")  # never imported in a task process: no Job there
    if jobs is not None and isinstance(component, jobs.Job):
        ensure_pool(settings.load())


def _ensure_pool_beside_the_loop(run: str) -> None:
    try:
        if ensure_pool(settings.load()):
            log.warning("the pool was missing when %s started; its Medusa tasks queue now", run)
    except Exception:  # the run then waits on the pool as it would have; the scheduler goes on
        log.exception("could not check the [medusa_sync] pool as %s started", run)


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    """A run of a medusa_sync DAG starts (in the scheduler): make sure its pool exists.

    One read of the pool table per run, in a thread that never holds up the scheduler's loop; the
    run's first Medusa task is queued in a later loop, by when the pool is there.
    """
    if dag_run.dag_id in (names.PRODUCT_DAG_ID, names.STOCK_DAG_ID):
        run = f"{dag_run.dag_id} run {dag_run.run_id}"
        threading.Thread(target=_ensure_pool_beside_the_loop, args=(run,), name="medusa_sync pool").start()


class MedusaSyncPlugin(AirflowPlugin):
    name = "medusa_sync"
    operator_extra_links = [SyncReportLink()]
    listeners = [sys.modules[__name__]]
    external_views = [
        {
            "name": "Medusa sync reports",
            # Relative to the UI's base URL, so it works behind a proxy path too.
            "href": report_path(REPORTING_DAGS[0]).lstrip("/"),
            "destination": "nav",
            "category": "browse",
            "url_route": "medusa-sync-reports",
        }
    ]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        from medusa_sync.ui.app import app

        return [{"app": app, "url_prefix": URL_PREFIX, "name": "Medusa sync reports"}]
