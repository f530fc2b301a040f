"""What the report page reads: a DAG's recent runs from the metadata database, and each run's
``report.json`` (a stock run: its ``stock.json``) from the run storage (local files or S3, through
the run folder's URL).

The run folder is the URL ``fetch_pages`` recorded for that run (its ``run_folder`` XCom), not the
storage Variable as it is today: a run keeps its report where it wrote it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from medusa_sync import names
from medusa_sync.core.batch_outcome import LISTED
from medusa_sync.core.report import MAX_LISTED, stock_run_report
from medusa_sync.rundata.run_folder import RunFolder, display_url, read_json, read_optional_json


class RunReport(BaseModel):
    """One run as the page shows it: Airflow's view of the run, and the report if there is one."""

    dag_id: str
    run_id: str
    state: str | None
    run_type: str | None
    run_after: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    report: dict[str, Any] | None = None
    # Why there is no report: never fetched, not written yet, or the storage could not be read.
    no_report_because: str | None = None


# What a run's page lists item by item; the runs list keeps only the counts beside them, so it
# holds one run's lists at a time, however many runs it shows.
ITEM_LISTS = ("quarantine", *LISTED, "found_upstream", "duplicated_external_ids")


def recent_runs(session: Session, dag_id: str, limit: int) -> list[RunReport]:
    """The DAG's latest runs, newest first, each with its report's counts and verdict (a run's own
    page, ``one_run``, has its lists too)."""
    from airflow.models.dagrun import DagRun

    runs = session.scalars(
        select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.run_after.desc()).limit(limit)
    ).all()
    folders = run_folders(session, dag_id, [run.run_id for run in runs])
    return [counts_only(with_report(_run(run), folders.get(run.run_id))) for run in runs]


def counts_only(run: RunReport) -> RunReport:
    """The run with its report's per-product lists left out (what the runs list keeps)."""
    if run.report is not None:
        run.report = {key: value for key, value in run.report.items() if key not in ITEM_LISTS}
        if "batches" in run.report:
            run.report["batches"] = {k: v for k, v in run.report["batches"].items() if k != "results"}
    return run


def one_run(session: Session, dag_id: str, run_id: str) -> RunReport | None:
    from airflow.models.dagrun import DagRun

    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        return None
    return with_report(_run(run), run_folders(session, dag_id, [run_id]).get(run_id))


def run_folders(session: Session, dag_id: str, run_ids: list[str]) -> dict[str, str]:
    """``run_id -> run folder URL`` for the runs whose ``fetch_pages`` got as far as naming one."""
    from airflow.models.xcom import XComModel

    if not run_ids:
        return {}
    rows = session.execute(
        select(XComModel.run_id, XComModel.value).where(
            XComModel.dag_id == dag_id,
            XComModel.task_id == names.FETCH_TASK.get(dag_id, names.FETCH_PAGES),
            XComModel.key == names.RUN_FOLDER_KEY,
            XComModel.map_index == -1,
            XComModel.run_id.in_(run_ids),
        )
    ).all()
    return {row.run_id: str(XComModel.deserialize_value(row)) for row in rows}


def _run(run: Any) -> RunReport:
    return RunReport(
        dag_id=run.dag_id,
        run_id=run.run_id,
        state=str(run.state) if run.state else None,
        run_type=str(run.run_type) if run.run_type else None,
        run_after=run.run_after,
        start_date=run.start_date,
        end_date=run.end_date,
    )


def with_report(run: RunReport, folder_url: str | None) -> RunReport:
    """The run with its report read from ``folder_url`` (a stock run's put together from its
    files), or with why there is none."""
    if folder_url is None:
        fetch = names.FETCH_TASK.get(run.dag_id, names.FETCH_PAGES)
        run.no_report_because = f"{fetch} has not named a run folder for this run"
        return run
    folder = RunFolder(folder_url)
    try:
        if run.dag_id == names.STOCK_DAG_ID:
            run.report = _stock_report(folder)
            return run
        if not folder.report.exists():
            run.no_report_because = f"no report.json in {display_url(folder_url)} yet"
            return run
        run.report = read_json(folder.report)
    except Exception as exc:  # a storage problem is shown on the page, not a 500
        detail = " ".join(str(exc).split())[:200]
        run.no_report_because = f"{display_url(folder_url)} could not be read: {type(exc).__name__}: {detail}"
    return run


def _stock_report(folder: RunFolder) -> dict[str, Any]:
    """A stock run writes no report: what its fetch and ``sync_stock`` left, put together."""
    skipped = read_optional_json(folder.skipped)
    return stock_run_report(
        fetch=read_optional_json(folder.fetch),
        quarantine=list(folder.quarantined(limit=MAX_LISTED)),
        stock=read_optional_json(folder.stock),
        skipped_because=skipped.get("reason") if skipped else None,
    )
