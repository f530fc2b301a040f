"""The report page's HTML: what an on-call engineer reads, and nothing a record could inject."""

from __future__ import annotations

from datetime import UTC, datetime

from medusa_sync.core.report import build_report, stock_run_report
from medusa_sync.ui.pages import MAX_ROWS, run_page, runs_page
from medusa_sync.ui.run_reports import RunReport

AIRFLOW = "https://airflow.example.test"
RUN_ID = "manual__2026-11-29T05:00:00+00:00"


def a_report(**results) -> dict:
    plan = {
        "create": 3,
        "update": 0,
        "unchanged": 0,
        "batches": [{"batch_label": label} for label in results],
    }
    return build_report(
        dag_id="medusa_product_sync",
        run_id=RUN_ID,
        params={},
        fetch={"fetched": 5, "valid": 3},
        quarantine=[
            {"source_id": "7", "reason": "price: <script>alert(1)</script> is not a number"},
            {"source_id": "8", "reason": "title: empty"},
        ],
        taxonomy={},
        plan=plan,
        results=results,
        duration_seconds=4.2,
        stage_states={"fetch_pages": "success", "compute_diff": "success"},
    )


def a_run(report: dict | None, because: str | None = None) -> RunReport:
    return RunReport(
        dag_id="medusa_product_sync",
        run_id=RUN_ID,
        state="failed" if report and report["status"] == "failed" else "success",
        run_type="manual",
        run_after=datetime(2026, 11, 29, 5, tzinfo=UTC),
        start_date=datetime(2026, 11, 29, 5, tzinfo=UTC),
        end_date=None,
        report=report,
        no_report_because=because,
    )


def test_a_run_page_names_counts_reasons_messages_and_each_batch():
    report = a_report(
        **{
            "batch 1/2": {"created": 2, "rejected": [{"source_id": "9", "message": "sku HAND-1 exists"}]},
            "batch 2/2": None,
        }
    )
    html = run_page(a_run(report), AIRFLOW)

    assert "price: &lt;script&gt;alert(1)&lt;/script&gt; is not a number" in html
    assert "<script>" not in html
    assert "sku HAND-1 exists" in html
    assert "Why it failed" in html and "1 batch(es) did not land: batch 2/2" in html
    assert "Batches: 1 of 2 landed" in html and "FAILED" in html
    assert f'href="{AIRFLOW}/dags/medusa_product_sync/runs/manual__2026-11-29T05%3A00%3A00%2B00%3A00"' in html


def test_long_lists_are_cut_on_the_page_and_say_where_the_rest_is():
    report = a_report(**{"batch 1/1": {"created": 1}})
    report["quarantine"] = [{"source_id": str(n), "reason": f"price: bad {n}"} for n in range(MAX_ROWS + 7)]
    html = run_page(a_run(report), AIRFLOW)
    assert f"Quarantined: {MAX_ROWS + 7}" in html
    assert f"price: bad {MAX_ROWS - 1}<" in html and f"price: bad {MAX_ROWS}<" not in html
    assert "7 more: report.json and the JSON endpoint list the first 507" in html


def test_a_list_the_report_cut_short_shows_its_whole_count_and_where_every_entry_is():
    report = a_report(**{"batch 1/1": {"created": 1}})
    report["quarantine"] = [{"source_id": str(n), "reason": "stock: missing"} for n in range(1000)]
    report["source"]["quarantined"] = 250_000
    html = run_page(a_run(report), AIRFLOW)
    assert "Quarantined: 250000" in html
    assert (
        f"{250_000 - MAX_ROWS} more: report.json and the JSON endpoint list the first 1000, the run "
        "folder's quarantine/ every one" in html
    )


def test_a_run_without_a_report_says_why():
    html = run_page(a_run(None, "fetch_pages has not named a run folder for this run"), AIRFLOW)
    assert "No report: fetch_pages has not named a run folder for this run" in html


def test_the_runs_list_links_each_run_and_shows_its_counts():
    report = a_report(**{"batch 1/1": {"created": 3}})
    html = runs_page("medusa_product_sync", [a_run(report), a_run(None, "no report.json yet")], AIRFLOW)
    assert 'href="manual__2026-11-29T05%3A00%3A00%2B00%3A00"' in html
    assert "<td class='n'>3</td>" in html  # created
    assert "no report.json yet" in html


def test_the_runs_list_says_how_far_back_reports_are_kept():
    html = runs_page("medusa_product_sync", [], AIRFLOW, retention_days=30)
    assert "Reports of runs started over 30 days ago are removed" in html


def test_a_run_that_synced_inventory_shows_its_level_writes():
    report = a_report(**{"batch 1/1": {"created": 1}})
    report["stock"] = {"location_id": "sloc_1", "created": 2, "updated": 5, "unchanged": 187, "superseded": 0}
    html = run_page(a_run(report), AIRFLOW)
    assert "Stock levels at sloc_1" in html and "Levels updated</th><td class='n'>5<" in html
    assert "Stock levels" not in run_page(a_run(a_report(**{"batch 1/1": {"created": 1}})), AIRFLOW)


def test_superseded_items_name_the_newer_run_or_the_store_change():
    report = a_report(**{"batch 1/1": {"created": 1}})
    report["superseded"] = [
        {"external_id": "dummyjson:42", "action": "update", "superseded_by": "scheduled__tuesday"},
        {"external_id": "dummyjson:43", "action": "update", "superseded_by": None},
        {
            "external_id": "dummyjson:77",
            "action": "delete",
            "superseded_by": None,
            "reason": "back upstream: the source has source id 77 again (200)",
        },
    ]
    html = run_page(a_run(report), AIRFLOW)
    assert "<th>Superseded by</th>" in html
    assert "<td>scheduled__tuesday</td>" in html and "<td>a change in the store</td>" in html
    assert "<td>back upstream: the source has source id 77 again (200)</td>" in html


def a_stock_run(report: dict | None, why: str | None = None) -> RunReport:
    run = a_run(report, why)
    return run.model_copy(update={"dag_id": "medusa_stock_sync"})


def test_stock_runs_are_listed_with_their_level_writes_or_why_they_wrote_none():
    fetch = {"fetched": 194, "valid": 194, "quarantined": 0, "partial": False}
    stock = {"location_id": "sloc_1", "created": 0, "updated": 10, "unchanged": 184, "superseded": 0}
    wrote = stock_run_report(fetch=fetch, quarantine=[], stock=stock, skipped_because=None)
    skipped = stock_run_report(fetch=None, quarantine=[], stock=None, skipped_because="catalog busy")
    html = runs_page("medusa_stock_sync", [a_stock_run(wrote), a_stock_run(skipped)], AIRFLOW)
    assert "<th>Levels updated</th>" in html and "<th>Skipped because</th>" in html
    assert "<td class='n'>10</td><td class='n'>184</td>" in html  # updated, unchanged
    assert "catalog busy" in html and ">skipped<" in html
    assert 'href="../../medusa_product_sync/runs/"' in html  # to the catalog runs
    page = run_page(a_stock_run(wrote), AIRFLOW)
    assert "Stock levels at sloc_1" in page and "Levels updated</th><td class='n'>10<" in page
    assert "<h2>Products" not in page and "Skipped" not in page
    assert 'Skipped</h2><p class="note">catalog busy' in run_page(a_stock_run(skipped), AIRFLOW)


def test_a_run_page_shows_its_variants_and_the_ones_it_kept_with_why():
    report = a_report(
        **{
            "batch 1/1": {
                "created": 1,
                "variants_created": 12,
                "variants_updated": 3,
                "variants_deleted": 1,
                "variants_kept": 1,
                "kept_variants": [
                    {
                        "source_id": "7",
                        "source_variant_id": "71",
                        "variant_id": "variant_71",
                        "reason": "over the guard",
                    }
                ],
            }
        }
    )
    html = run_page(a_run(report), AIRFLOW)
    assert '<h2>Variants</h2><table id="variants">' in html
    for name, count in (("Created", 12), ("Updated", 3), ("Deleted", 1), ("Unchanged", 0)):
        assert f"<tr><th>{name}</th><td class='n'>{count}</td></tr>" in html
    assert "Variants kept: 1" in html and "over the guard" in html and "variant_71" in html
    assert "<h2>Variants</h2>" not in run_page(a_run(a_report(**{"batch 1/1": {"created": 1}})), AIRFLOW)
