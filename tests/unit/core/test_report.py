from medusa_sync.core.report import MAX_LISTED, build_report, merge_results, summary


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
    assert report["source"] == {
        "fetched": 10,
        "valid": 9,
        "quarantined": 1,
        "complete": True,
        "incomplete_because": [],
        "missing_unconfirmed": [],
    }
    assert report["categories"] == {"created": 1, "existing": 2}
    second = report["batches"]["results"][1]
    assert (second["label"], second["created"], second["updated"], second["rejected"]) == (
        "batch-00002.json",
        1,
        2,
        1,
    )


def test_a_batch_without_result_fails_the_report_and_is_named():
    report = make({"batch-00001.json": {"created": 3}, "batch-00002.json": None})
    assert report["status"] == "failed"
    batches = report["batches"]
    assert (batches["total"], batches["succeeded"], batches["failed"]) == (2, 1, ["batch-00002.json"])
    assert [(b["label"], b["landed"]) for b in batches["results"]] == [
        ("batch-00001.json", True),
        ("batch-00002.json", False),
    ]
    assert batches["results"][0]["created"] == 3 and "created" not in batches["results"][1]
    assert "failed: batch-00002.json" in summary(report)


def test_no_plan_means_an_upstream_stage_failed():
    assert make({}, plan={})["status"] == "failed"


def test_summary_names_quarantined_and_rejected_items():
    text = summary(
        make({"batch-00001.json": {"rejected": [{"external_id": "dummyjson:9", "message": "bad"}]}})
    )
    assert "quarantined source id 7: price: price -1 is negative" in text
    assert "rejected dummyjson:9 (batch-00001.json): bad" in text


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


def test_a_failed_stage_of_this_run_fails_the_report_whatever_files_say():
    """A run cleared from fetch_pages whose fetch then fails: the earlier plan and results must not pass."""
    report = build_report(
        dag_id="d",
        run_id="r",
        params={},
        fetch={"fetched": 194, "valid": 194},
        quarantine=[],
        taxonomy=None,
        plan={"create": 0, "unchanged": 194},
        results={"batch 1/1 · 194 create": {"created": 194}},
        duration_seconds=1.0,
        stage_states={"fetch_pages": "failed", "sync_categories": "upstream_failed", "compute_diff": None},
    )
    assert report["status"] == "failed"
    assert report["failed_because"] == [
        "fetch_pages: failed",
        "sync_categories: upstream_failed",
        "compute_diff: not run",
    ]
    assert "FAILED      fetch_pages: failed" in summary(report)


def test_a_blocked_deletion_guard_fails_the_run_but_not_a_dry_run():
    guard = {
        "allowed": False,
        "reason": "delete 30 of 194 synced products (15.5 %) is over max_missing_percent=10",
    }
    plan = {"create": 0, "unchanged": 164, "missing_upstream": 30, "guard": guard}
    report = make({}, plan=plan)
    assert report["status"] == "failed"
    assert report["failed_because"] == [
        "deletion guard: delete 30 of 194 synced products (15.5 %) is over max_missing_percent=10; "
        "nothing was drafted or deleted"
    ]
    dry = make({}, plan={**plan, "dry_run": True}, params={"dry_run": True})
    assert dry["status"] == "success"
    assert "guard       delete 30 of 194" in summary(dry)


def test_resumed_superseded_and_not_found_items_are_counted_and_listed_with_their_batch():
    report = make(
        {
            "batch 1/2 · 2 create": {"created": 2, "resumed": 2},
            "batch 2/2 · 3 update": {
                "updated": 1,
                "superseded": [{"action": "update", "external_id": "dummyjson:42"}],
                "not_found": [{"action": "update", "external_id": "dummyjson:7"}],
            },
        }
    )
    assert report["status"] == "success"
    assert (report["products"]["created"], report["products"]["resumed"]) == (2, 2)
    assert (report["products"]["superseded"], report["products"]["not_found"]) == (1, 1)
    assert report["superseded"] == [
        {"action": "update", "external_id": "dummyjson:42", "batch_label": "batch 2/2 · 3 update"}
    ]
    text = summary(report)
    assert "superseded dummyjson:42 (batch 2/2 · 3 update): update" in text
    assert "not found dummyjson:7 (batch 2/2 · 3 update): update" in text


def test_the_results_of_an_instance_s_files_are_merged():
    merged = merge_results(
        [
            {"created": 200, "requests": 1, "rejected": []},
            {"created": 150, "resumed": 150, "superseded": [{"external_id": "dummyjson:9"}]},
        ]
    )
    assert (merged["created"], merged["resumed"]) == (350, 150)
    assert merged["superseded"] == [{"external_id": "dummyjson:9"}]


def test_a_run_that_rejects_thousands_counts_them_all_and_lists_the_first_thousand():
    def rejected(first: int, count: int) -> list[dict]:
        return [{"external_id": f"dummyjson:{n}", "message": "bad"} for n in range(first, first + count)]

    # Read as RunFolder.landed_results gives them: one instance at a time, its files merged.
    instances = (
        ("batch 1-5/9", merge_results([{"rejected": rejected(0, 700)}, {"rejected": rejected(700, 700)}])),
        ("batch 6-9/9", merge_results([{"rejected": rejected(1400, 900)}])),
    )
    report = make(instances)
    assert report["products"]["rejected"] == 2300
    assert len(report["rejected"]) == MAX_LISTED
    assert report["rejected"][-1]["external_id"] == f"dummyjson:{MAX_LISTED - 1}"
    assert [line["rejected"] for line in report["batches"]["results"]] == [1400, 900]


def test_the_source_counts_every_quarantined_record_though_the_report_lists_the_first():
    report = build_report(
        dag_id="medusa_product_sync",
        run_id="manual__1",
        params={},
        fetch={"fetched": 5000, "valid": 0, "quarantined": 5000},
        quarantine=[{"source_id": str(n), "reason": "stock: missing"} for n in range(MAX_LISTED)],
        taxonomy=None,
        plan=None,
        results={},
        duration_seconds=1.0,
    )
    assert report["source"]["quarantined"] == 5000 and len(report["quarantine"]) == MAX_LISTED


def test_the_asset_event_carries_the_counts_only_when_the_store_changed():
    from medusa_sync.core.report import catalog_event_extra

    changed = make({"batch-00001.json": {"created": 3, "updated": 2, "rejected": [{"message": "bad"}]}})
    extra = catalog_event_extra(changed)
    assert extra is not None
    assert {
        k: extra[k] for k in ("run_id", "created", "updated", "unchanged", "rejected", "quarantined")
    } == {
        "run_id": "manual__1",
        "created": 3,
        "updated": 2,
        "unchanged": 2,
        "rejected": 1,
        "quarantined": 1,
    }
    assert (extra["drafted"], extra["deleted"], extra["fetch_complete"]) == (0, 0, True)

    nothing = make({"batch-00001.json": {"created": 0, "updated": 0, "rejected": []}})
    assert catalog_event_extra(nothing) is None
    dry = make({}, plan={"create": 5, "update": 2, "dry_run": True}, params={"dry_run": True})
    assert catalog_event_extra(dry) is None


def test_a_product_the_paging_missed_but_the_source_still_has_makes_the_fetch_partial():
    reason = "1 product(s) the paging missed are still upstream (source id(s) 51): not drafted or deleted"
    plan = {
        "create": 0,
        "update": 0,
        "unchanged": 8,
        "missing_upstream": 2,
        "on_missing": "delete",
        "missing_action": "delete",
        "found_upstream": [
            {"external_id": "dummyjson:51", "id": "prod_51", "source_id": "51", "detail": "200"}
        ],
        "missing_unconfirmed_because": [reason],
    }
    report = make({"batch-00001.json": {"created": 0, "updated": 0, "deleted": 1}}, plan=plan)
    assert report["source"]["complete"] is False
    assert report["source"]["incomplete_because"] == [reason]
    assert [item["source_id"] for item in report["found_upstream"]] == ["51"]
    assert report["status"] == "success"  # the proven-absent one was deleted; nothing failed
    text = summary(report)
    assert f"incomplete fetch (confirmed by id): {reason}" in text
    assert "missing upstream not acted on" not in text


def test_a_run_s_metrics_are_its_counts_by_outcome_its_status_and_its_duration():
    from medusa_sync.core.report import run_metrics

    counts, duration_ms = run_metrics(
        make({"batch-00001.json": {"created": 3, "updated": 2, "rejected": [{"message": "bad"}]}})
    )
    assert {k: counts[k] for k in counts if not k.endswith(("resumed", "missing_upstream", "not_found"))} == {
        "medusa_sync.products.created": 3,
        "medusa_sync.products.updated": 2,
        "medusa_sync.products.unchanged": 2,
        "medusa_sync.products.drafted": 0,
        "medusa_sync.products.deleted": 0,
        "medusa_sync.products.rejected": 1,
        "medusa_sync.products.superseded": 0,
        "medusa_sync.products.quarantined": 1,
        "medusa_sync.runs.success": 1,
    }
    assert duration_ms == 12_300
    failed, _ = run_metrics(make({"batch-00001.json": None}))
    assert failed["medusa_sync.runs.failed"] == 1 and "medusa_sync.runs.success" not in failed


def test_variants_are_counted_apart_from_products_with_the_plans_unchanged_and_the_kept_listed():
    kept = {
        "external_id": "dummyjson:7",
        "action": "keep variant",
        "source_variant_id": "71",
        "variant_id": "variant_71",
        "reason": "guard",
    }
    report = make(
        {
            "batch-00001.json": {"created": 1, "variants_created": 12, "variants_unchanged": 2},
            "batch-00002.json": {
                "updated": 2,
                "variants_updated": 1,
                "variants_deleted": 1,
                "variants_kept": 1,
                "kept_variants": [kept],
            },
        },
        plan={
            "create": 1,
            "update": 2,
            "unchanged": 3,
            "variants": {
                "unchanged": 30,
                "missing_upstream": 2,
                "delete": {"allowed": True, "because": "within"},
            },
        },
    )
    assert report["variants"] == {
        "created": 12,
        "updated": 1,
        "deleted": 1,
        "unchanged": 32,
        "kept": 1,
        "missing_upstream": 2,
        "delete": {"allowed": True, "because": "within"},
        "guard": None,
    }
    assert not any(key.startswith("variants_") or key == "kept_variants" for key in report["products"])
    assert report["kept_variants"] == [{**kept, "batch_label": "batch-00002.json"}]
    text = summary(report)
    assert (
        "variants    created 12, updated 1, deleted 1, unchanged 32, kept 1 (2 removed upstream: within)"
        in text
    )
    assert "kept variants dummyjson:7 variant 71 (variant_71) (batch-00002.json): keep variant: guard" in text


def test_a_run_without_products_with_variants_says_nothing_of_variants():
    report = make({"batch-00001.json": {"created": 3}})
    assert report["variants"]["created"] == 0 and "variants " not in summary(report)


def test_a_blocked_variant_deletion_guard_fails_the_run_like_the_products_one():
    guard = {
        "allowed": False,
        "reason": "delete 9 of 40 synced variants (22.5 %) is over max_missing_percent=10",
    }
    plan = {"create": 0, "update": 9, "unchanged": 0, "variants": {"missing_upstream": 9, "guard": guard}}
    report = make({"batch-00001.json": {"updated": 9, "variants_kept": 9}}, plan=plan)
    assert report["status"] == "failed"
    assert report["failed_because"] == [f"variant deletion guard: {guard['reason']}; no variant was deleted"]
    assert make({}, plan=plan, params={"dry_run": True})["failed_because"] == []
