"""Stage 5: merge what every stage left in the run folder into the run report."""

from __future__ import annotations

import json
from typing import Any

import pendulum
from airflow.sdk import BaseOperator, Context

from medusa_sync.report import build_report, summary
from medusa_sync.storage import RunFolder, read_json, write_json


class SyncReportFailed(Exception):
    """The run did not fully land; the report says which batches to clear."""


class SyncReportOperator(BaseOperator):
    """Writes ``report.json``, logs a readable summary, and fails the run when a batch failed.

    Runs whatever happened upstream (trigger rule ``all_done``), so the run's final state and its
    report always tell the truth.
    """

    template_fields = ("run_folder",)
    ui_color = "#f0f0f0"

    def __init__(self, *, run_folder: str | None, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.run_folder = run_folder

    def execute(self, context: Context) -> dict[str, Any]:
        if not self.run_folder or self.run_folder == "None":
            raise SyncReportFailed("fetch_pages never started: there is no run folder to report on")
        folder = RunFolder(self.run_folder)
        plan = _read_optional(folder.plan)
        results = {
            str(d["batch_path"]): _read_optional(folder.result_for(d["batch_path"]))
            for d in (plan or {}).get("batches", [])
        }
        start = context["dag_run"].start_date
        report = build_report(
            dag_id=context["dag"].dag_id,
            run_id=context["run_id"],
            params=context["params"],
            fetch=_read_optional(folder.root / "fetch.json"),
            quarantine=_read_optional(folder.quarantine) or [],
            taxonomy=_read_optional(folder.taxonomy),
            plan=plan,
            results={RunFolder.of_file(p).result_for(p).name: r for p, r in results.items()},
            duration_seconds=(pendulum.now("UTC") - start).total_seconds() if start else None,
        )
        write_json(folder.report, report)
        self.log.info("report written to %s\n%s", folder.report, summary(report))
        self.log.info(
            "report json: %s", json.dumps({k: report[k] for k in ("source", "products", "batches")})
        )
        if report["status"] != "success":
            raise SyncReportFailed(
                "the sync did not fully land: "
                + (
                    f"failed batches {', '.join(report['batches']['failed'])}; clear them to rerun"
                    if report["batches"]["failed"]
                    else "an upstream stage failed"
                )
            )
        return {
            "report": str(folder.report),
            **{k: report["products"][k] for k in ("created", "updated", "unchanged", "rejected")},
        }


def _read_optional(path: Any) -> Any:
    return read_json(path) if path.exists() else None
