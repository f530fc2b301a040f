from __future__ import annotations

from medusa_sync.ui.report_link import SyncReportLink, report_path


class Key:
    dag_id = "medusa_product_sync"
    run_id = "scheduled__2026-11-28T00:00:00+00:00"


def test_the_link_opens_the_run_page_under_the_ui_base_url(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.test/ops/")
    link = SyncReportLink().get_link(None, ti_key=Key())
    assert link == (
        "https://airflow.example.test/ops/medusa-sync/medusa_product_sync/runs/"
        "scheduled__2026-11-28T00%3A00%3A00%2B00%3A00"
    )


def test_a_run_id_with_a_slash_stays_one_path_segment():
    assert (
        report_path("medusa_product_sync", "manual/odd")
        == "/medusa-sync/medusa_product_sync/runs/manual%2Fodd"
    )
