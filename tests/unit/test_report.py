from medusa_sync.report import build_report, summary


def make(results, plan=None, params=None):
    return build_report(
        dag_id="medusa_product_sync",
        run_id="manual__1",
        params=params or {"dry_run": False},
        fetch={"fetched": 10, "valid": 9},
        quarantine=[{"source_id": "7", "reason": "price: price -1 is negative"}],
        taxonomy={
            "categories_created": ["beauty"],
            "categories_existing": 2,
            "tags_created": [],
            "tags_existing": 4,
        },
        plan=plan
        if plan is not None
        else {"create": 5, "update": 2, "unchanged": 2, "missing_upstream": 0, "on_missing": "ignore"},
        results=results,
        duration_seconds=12.34,
    )


def test_results_of_all_batches_are_added_up():
    report = make(
        {
            "batch-00001.json": {"created": 3, "updated": 0, "rejected": []},
            "batch-00002.json": {
                "created": 1,
                "updated": 2,
                "rejected": [{"external_id": "dummyjson:9", "message": "bad"}],
            },
        }
    )
    assert report["status"] == "success"
    assert report["products"]["created"] == 4
    assert report["products"]["updated"] == 2
    assert report["products"]["unchanged"] == 2
    assert report["products"]["rejected"] == 1
    assert report["source"] == {"fetched": 10, "valid": 9, "quarantined": 1, "incomplete_because": []}
    assert report["categories"] == {"created": 1, "existing": 2}


def test_a_batch_without_result_fails_the_report_and_is_named():
    report = make({"batch-00001.json": {"created": 3}, "batch-00002.json": None})
    assert report["status"] == "failed"
    assert report["batches"] == {"total": 2, "succeeded": 1, "failed": ["batch-00002.json"]}
    assert "failed: batch-00002.json" in summary(report)


def test_no_plan_means_an_upstream_stage_failed():
    assert make({}, plan={})["status"] == "failed"


def test_summary_names_quarantined_and_rejected_items():
    text = summary(
        make({"batch-00001.json": {"rejected": [{"external_id": "dummyjson:9", "message": "bad"}]}})
    )
    assert "quarantined source id 7: price: price -1 is negative" in text
    assert "rejected dummyjson:9: bad" in text


def test_an_incomplete_fetch_is_said_in_the_report():
    report = build_report(
        dag_id="d",
        run_id="r",
        params={},
        fetch={"fetched": 4, "valid": 4, "incomplete_because": ["max_products is set"]},
        quarantine=[],
        taxonomy=None,
        plan={"create": 4},
        results={},
        duration_seconds=1.0,
    )
    assert report["source"]["incomplete_because"] == ["max_products is set"]
    assert "incomplete fetch (missing upstream not acted on): max_products is set" in summary(report)
