from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import DAG

from medusa_sync import alerts
from medusa_sync.alerts import (
    FailureAlertNotifier,
    build_alert,
    recipients,
    report_page_url,
    run_url,
)
from medusa_sync.core.report import build_report

DAG_ID = "medusa_product_sync"
RUN_ID = "manual__2026-11-28T12:00:00.123456+00:00"
BASE = "https://airflow.example.com/"
LABEL = "batch 1/2 · 200 create"


def failed_report() -> dict[str, Any]:
    return build_report(
        dag_id=DAG_ID,
        run_id=RUN_ID,
        params={"dry_run": False},
        fetch={"fetched": 394, "valid": 393},
        quarantine=[{"source_id": "7", "reason": "price: price -1 is negative"}],
        taxonomy={
            "categories_created": [],
            "categories_existing": 24,
            "tags_created": [],
            "tags_existing": 9,
        },
        plan={"create": 393, "update": 0, "unchanged": 0, "missing_upstream": 0, "on_missing": "ignore"},
        results={LABEL: None, "batch 2/2 · 193 create": {"created": 193}},
        duration_seconds=31.0,
        stage_states={"fetch_pages": "success", "compute_diff": "success"},
    )


def test_recipients_are_split_on_commas_or_semicolons_and_empty_means_off():
    assert recipients(" oncall@example.com, ops@example.com;lead@example.com ") == [
        "oncall@example.com",
        "ops@example.com",
        "lead@example.com",
    ]
    assert recipients(None) == recipients("") == recipients(" , ") == []


def test_the_links_point_at_the_run_in_the_ui_and_at_its_report_page():
    assert run_url(BASE, DAG_ID, RUN_ID) == (
        "https://airflow.example.com/dags/medusa_product_sync/runs/"
        "manual__2026-11-28T12%3A00%3A00.123456%2B00%3A00"
    )
    assert report_page_url(BASE, DAG_ID, "scheduled__2026-11-28T00:00:00+00:00") == (
        "https://airflow.example.com/medusa-sync/medusa_product_sync/runs/"
        "scheduled__2026-11-28T00%3A00%3A00%2B00%3A00"
    )


def test_a_run_with_a_report_names_why_the_failed_batches_and_the_counts():
    alert = build_alert(
        dag_id=DAG_ID,
        run_id=RUN_ID,
        base_url=BASE,
        report=failed_report(),
        task_states={"upsert_batch_0": "failed", "report": "failed"},
        reason="task_failure",
        run_folder=f"file:///data/runs/{DAG_ID}/{RUN_ID}",
    )
    assert alert.subject == f"Airflow DAG {DAG_ID} failed: run {RUN_ID}"
    assert f"1 batch(es) did not land: {LABEL}" in alert.html
    assert f"<li>{LABEL}</li>" in alert.html
    assert "fetched 394, valid 393, quarantined 1" in alert.html
    assert "created 193, updated 0" in alert.html
    assert "batches     1/2 succeeded" in alert.html
    assert run_url(BASE, DAG_ID, RUN_ID) in alert.html
    assert report_page_url(BASE, DAG_ID, RUN_ID) in alert.html
    assert "task_failure" in alert.html


def test_without_a_report_the_tasks_that_did_not_succeed_are_named():
    """A run past dagrun_timeout: report never ran, its unfinished tasks were skipped."""
    alert = build_alert(
        dag_id=DAG_ID,
        run_id=RUN_ID,
        base_url=BASE,
        report=None,
        task_states={"fetch_pages": "success", "upsert_batch_0": "skipped", "report": "skipped"},
        reason="timed_out",
    )
    assert "no run report was written" in alert.html
    assert "upsert_batch_0: skipped" in alert.html and "report: skipped" in alert.html
    assert "fetch_pages" not in alert.html
    assert "timed_out" in alert.html
    assert run_url(BASE, DAG_ID, RUN_ID) in alert.html


def test_no_credential_of_the_storage_url_and_no_markup_from_the_report_gets_through():
    report = failed_report()
    report["failed_because"].append('Medusa said <script>alert("x")</script> {{ conn.password }}')
    alert = build_alert(
        dag_id=DAG_ID,
        run_id=RUN_ID,
        base_url=BASE,
        report=report,
        task_states={},
        run_folder=f"s3://minio:s3cr3t-key@bucket/{DAG_ID}/{RUN_ID}",
    )
    assert "s3cr3t-key" not in alert.html and "s3://***@bucket/" in alert.html
    assert "<script>" not in alert.html and "&lt;script&gt;" in alert.html


class SentMails(list):
    def notifier(self, **kwargs: Any) -> Any:
        mails = self

        class Notifier:
            def notify(self, context: Any) -> None:
                mails.append(kwargs)

        return Notifier()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> SentMails:
    from airflow.providers.smtp.notifications import smtp

    mails = SentMails()
    monkeypatch.setattr(smtp, "SmtpNotifier", mails.notifier)
    monkeypatch.setattr(alerts, "_task_states", lambda dag_id, run_id: {"fetch_pages": "failed"})
    monkeypatch.setattr(alerts, "_run_folder", lambda dag_id, run_id: None)
    return mails


def context() -> dict[str, Any]:
    """What the dag-processor hands a DAG callback at least: the DAG, the run id, the reason."""
    return {"dag": DAG(dag_id=DAG_ID, schedule=None), "run_id": RUN_ID, "reason": "task_failure"}


@pytest.mark.parametrize("value", [None, "", " "])
def test_unset_or_empty_variable_sends_nothing_and_raises_nothing(sent, monkeypatch, value):
    monkeypatch.delenv("AIRFLOW_VAR_MEDUSA_SYNC_ALERT_EMAIL", raising=False)
    if value is not None:
        monkeypatch.setenv("AIRFLOW_VAR_MEDUSA_SYNC_ALERT_EMAIL", value)
    FailureAlertNotifier()(context())
    assert sent == []


def test_a_set_variable_sends_one_mail_on_the_configured_connection(sent, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_MEDUSA_SYNC_ALERT_EMAIL", "oncall@example.com,ops@example.com")
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__ALERT_SMTP_CONN_ID", "smtp_alerts")
    FailureAlertNotifier()(context())
    [mail] = sent
    assert mail["to"] == ["oncall@example.com", "ops@example.com"]
    assert mail["smtp_conn_id"] == "smtp_alerts"
    assert mail["subject"] == f"Airflow DAG {DAG_ID} failed: run {RUN_ID}"
    assert "fetch_pages: failed" in mail["html_content"]
