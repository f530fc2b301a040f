"""The Airflow plugin: mounts the report app in the api-server, puts it in the UI's Browse menu,
and registers the ``Sync report`` link.

Every Airflow process loads plugins, task processes included, so the app (FastAPI and the
api-server's auth) is imported only when the api-server asks for ``fastapi_apps``.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from medusa_sync.ui.report_link import REPORTING_DAGS, URL_PREFIX, SyncReportLink, report_path


class MedusaSyncPlugin(AirflowPlugin):
    name = "medusa_sync"
    operator_extra_links = [SyncReportLink()]
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
