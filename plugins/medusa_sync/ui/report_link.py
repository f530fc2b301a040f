"""Where a run's report page lives, and the ``Sync report`` button on the ``report`` task.

Kept free of FastAPI and the api-server's modules: workers import it with the operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink, conf

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator

# Where the api-server mounts the report app (a plugin's ``fastapi_apps`` entry).
URL_PREFIX = "/medusa-sync"
# The DAGs whose runs the page shows: the catalog sync's report.json, the stock sync's stock.json.
REPORTING_DAGS = ("medusa_product_sync", "medusa_stock_sync")


def report_path(dag_id: str, run_id: str | None = None) -> str:
    """``/medusa-sync/<dag_id>/runs/`` or one run's page under it; the run id is quoted whole."""
    runs = f"{URL_PREFIX}/{quote(dag_id, safe='')}/runs/"
    return runs if run_id is None else runs + quote(run_id, safe="")


def base_url() -> str:
    """The UI's own address (``[api] base_url``), as Airflow uses it for a task's log link."""
    return conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")


class SyncReportLink(BaseOperatorLink):
    """Opens the run's report page from the ``report`` task, whether the run landed or not."""

    name = "Sync report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return base_url() + report_path(ti_key.dag_id, ti_key.run_id)
