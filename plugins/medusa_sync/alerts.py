"""Failure alerts: one mail per failed run, sent through Airflow's SMTP notifier.

The DAG's ``on_failure_callback``. Airflow 3 runs DAG callbacks in the dag-processor (the scheduler
queues one request per run it marks failed), so a run failed for any reason mails exactly once: a
failed stage or batch, the deletion guard, or ``dagrun_timeout``, where ``report`` never runs.

The message is built by pure functions (``build_alert``) from the run's ``report.json`` when this
run's ``report`` task wrote one, else from the run's task states. It carries only what the report
and Airflow already show a user: no connection, key or password ever goes into it.

Off unless the Variable ``medusa_sync_alert_email`` names recipients: an unset or empty Variable
sends nothing and raises nothing.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseNotifier, Context, Variable, conf

from medusa_sync import names, settings
from medusa_sync.core.report import summary
from medusa_sync.rundata.run_folder import RunFolder, display_url, read_optional_json
from medusa_sync.ui.report_link import report_path

log = logging.getLogger(__name__)

ALERT_VARIABLE = "medusa_sync_alert_email"
# Airflow's own default when ``[api] base_url`` is unset (the task log links use the same).
DEFAULT_BASE_URL = "http://localhost:8080"
# Task states that say the report task ran in this run, so its report.json is this run's.
REPORT_RAN = ("success", "failed")


@dataclass(frozen=True)
class Alert:
    subject: str
    html: str


def recipients(value: str | None) -> list[str]:
    """``"a@x, b@y"`` (commas or semicolons) as a list; empty when unset, so alerts are off."""
    return [address.strip() for address in re.split(r"[,;]", value or "") if address.strip()]


def run_url(base_url: str, dag_id: str, run_id: str) -> str:
    """The run in the Airflow UI; the run id quoted as Airflow quotes it in its own log links."""
    return f"{base_url.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id)}"


def report_page_url(base_url: str, dag_id: str, run_id: str) -> str:
    """The run's report page that the medusa_sync UI plugin serves (the Sync report link's URL)."""
    return base_url.rstrip("/") + report_path(dag_id, run_id)


def not_succeeded(task_states: Mapping[str, str | None]) -> list[str]:
    """``"task: state"`` for each task instance of the run that did not succeed, mapped instances as
    ``upsert_batch_<map index>``; a run past ``dagrun_timeout`` shows its unfinished tasks skipped."""
    return [
        f"{task}: {state or 'not run'}" for task, state in sorted(task_states.items()) if state != "success"
    ]


def build_alert(
    *,
    dag_id: str,
    run_id: str,
    base_url: str,
    report: Mapping[str, Any] | None,
    task_states: Mapping[str, str | None],
    reason: str | None = None,
    run_folder: str | None = None,
) -> Alert:
    """The mail for a failed run: why (the report's ``failed_because`` and failed batch labels, or the
    tasks that did not succeed when no report was written), the report's counts and the links."""
    subject = f"Airflow DAG {dag_id} failed: run {run_id}"
    why: list[str]
    if report is not None:
        why = list(report.get("failed_because") or []) or ["the report found nothing wrong"]
        failed_batches = list((report.get("batches") or {}).get("failed") or [])
    else:
        tasks = ", ".join(not_succeeded(task_states)) or "unknown (see the run in Airflow)"
        # Only the catalog DAG has a report task to miss.
        missed = "no run report was written; " if names.REPORT in task_states else ""
        why = [f"{missed}tasks that did not succeed: {tasks}"]
        failed_batches = []
    parts = [
        f"<p>Run <b>{_e(run_id)}</b> of DAG <b>{_e(dag_id)}</b> failed"
        + (f" (Airflow's reason: {_e(reason)})" if reason else "")
        + ".</p>",
        "<p>Why:</p><ul>" + "".join(f"<li>{_e(line)}</li>" for line in why) + "</ul>",
    ]
    if failed_batches:
        parts.append(
            "<p>Failed batches (clear them with Only failed and Downstream once the cause is fixed):</p>"
            "<ul>" + "".join(f"<li>{_e(label)}</li>" for label in failed_batches) + "</ul>"
        )
    if report is not None:
        parts.append(f"<p>Report:</p><pre>{_e(summary(report))}</pre>")
    links = {
        "Run in Airflow": run_url(base_url, dag_id, run_id),
        "Run report": report_page_url(base_url, dag_id, run_id),
    }
    parts.append(
        "<ul>"
        + "".join(f'<li>{name}: <a href="{_e(u)}">{_e(u)}</a></li>' for name, u in links.items())
        + "</ul>"
    )
    if run_folder:
        parts.append(f"<p>Run folder: {_e(display_url(run_folder))}</p>")
    return Alert(subject=subject, html="\n".join(parts))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


class FailureAlertNotifier(BaseNotifier):
    """Mails a failed run's alert through ``SmtpNotifier`` on the SMTP connection
    (``MEDUSA_SYNC_ALERT_SMTP_CONN_ID``, default ``smtp_default``; the sender is its ``from_email``
    extra). Reads its settings when a run fails, not when the DAG file is parsed."""

    def notify(self, context: Context) -> None:
        to = recipients(Variable.get(ALERT_VARIABLE, default=None))
        if not to:
            log.info("no failure alert: Variable %s is unset or empty", ALERT_VARIABLE)
            return
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        states = _task_states(dag_id, run_id)
        run_folder = _run_folder(dag_id, run_id)
        report = _report(run_folder) if states.get(names.REPORT) in REPORT_RAN else None
        alert = build_alert(
            dag_id=dag_id,
            run_id=run_id,
            base_url=conf.get("api", "base_url", fallback=None) or DEFAULT_BASE_URL,
            report=report,
            task_states=states,
            reason=context.get("reason"),
            run_folder=run_folder,
        )
        smtp_conn_id = settings.load().alert_smtp_conn_id
        # notify(), not __call__: the subject and body are final text, never Jinja templates (a
        # Medusa message with braces in the report must not be rendered).
        SmtpNotifier(to=to, subject=alert.subject, html_content=alert.html, smtp_conn_id=smtp_conn_id).notify(
            context
        )
        log.info("failure alert for %s sent to %d recipient(s) via %s", run_id, len(to), smtp_conn_id)


def _task_states(dag_id: str, run_id: str) -> dict[str, str | None]:
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        return dict(RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id]).get(run_id, {}))
    except Exception:
        log.exception("failure alert: could not read the run's task states")
        return {}


def _run_folder(dag_id: str, run_id: str) -> str | None:
    """The run folder ``fetch_pages`` pushed as XCom: the storage this run used, whatever the
    storage Variable says now."""
    from airflow.sdk.execution_time.xcom import XCom

    try:
        folder = XCom.get_one(
            key=names.RUN_FOLDER_KEY,
            dag_id=dag_id,
            task_id=names.FETCH_TASK.get(dag_id, names.FETCH_PAGES),
            run_id=run_id,
            map_index=-1,
        )
    except Exception:
        log.exception("failure alert: could not read the run folder from XCom")
        return None
    return str(folder) if folder else None


def _report(run_folder: str | None) -> dict[str, Any] | None:
    """This run's ``report.json``, or None (no folder, no file, unreadable): the alert still goes out."""
    if not run_folder:
        return None
    try:
        return read_optional_json(RunFolder(run_folder).report)
    except Exception:
        log.exception("failure alert: could not read the report in %s", display_url(run_folder))
        return None
