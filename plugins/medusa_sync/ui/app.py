"""The report app the api-server mounts at ``/medusa-sync``: HTML pages and the same data as JSON.

Every page and data route asks Airflow's auth manager whether the caller may read the DAG's runs
(the check Airflow's own run endpoints make), from the UI's session cookie or a bearer token. A
browser without a session is sent to the login page; the JSON routes answer 401.
"""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.utils.session import create_session
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from medusa_sync import settings
from medusa_sync.ui import pages
from medusa_sync.ui.report_link import REPORTING_DAGS, base_url
from medusa_sync.ui.run_reports import RunReport, one_run, recent_runs

RECENT_RUNS = 25
CanReadRuns = Depends(requires_access_dag("GET", DagAccessEntity.RUN))
Limit = Annotated[int, Query(ge=1, le=200, description="How many of the latest runs")]

app = FastAPI(title="Medusa sync reports", docs_url=None, redoc_url=None, openapi_url=None)


@app.exception_handler(StarletteHTTPException)
async def _login_first(request: Request, exc: StarletteHTTPException) -> Response:
    """A page asked for without a session goes to Airflow's login, and comes back after it."""
    if exc.status_code == 401 and "/api/" not in request.url.path:
        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)
    return await http_exception_handler(request, exc)


@app.get("/", include_in_schema=False)
def index(request: Request) -> RedirectResponse:
    return RedirectResponse(request.url_for("runs_page", dag_id=REPORTING_DAGS[0]), status_code=307)


@app.get("/{dag_id}/runs/", response_class=HTMLResponse, dependencies=[CanReadRuns], name="runs_page")
def runs_page(dag_id: str, limit: Limit = RECENT_RUNS) -> str:
    return pages.runs_page(dag_id, list_runs(dag_id, limit), base_url(), settings.load().retention_days)


@app.get("/{dag_id}/runs/{run_id:path}", response_class=HTMLResponse, dependencies=[CanReadRuns])
def run_page(dag_id: str, run_id: str) -> str:
    return pages.run_page(get_run(dag_id, run_id), base_url())


@app.get("/api/{dag_id}/runs", dependencies=[CanReadRuns])
def list_runs(dag_id: str, limit: Limit = RECENT_RUNS) -> list[RunReport]:
    """The latest runs, newest first, each with its report (or why there is none)."""
    _known(dag_id)
    with create_session() as session:
        return recent_runs(session, dag_id, limit)


@app.get("/api/{dag_id}/runs/{run_id:path}", dependencies=[CanReadRuns])
def get_run(dag_id: str, run_id: str) -> RunReport:
    """One run with its whole report: quarantined, rejected, superseded, not found, batches."""
    _known(dag_id)
    with create_session() as session:
        run = one_run(session, dag_id, run_id)
    if run is None:
        raise HTTPException(404, f"DAG {dag_id} has no run {run_id!r}")
    return run


def _known(dag_id: str) -> None:
    if dag_id not in REPORTING_DAGS:
        known = ", ".join(REPORTING_DAGS)
        raise HTTPException(404, f"no sync reports for DAG {dag_id!r}; reports exist for {known}")
