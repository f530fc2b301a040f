"""The report task judges a run by this run's task states (read through the task SDK), counts only the
result files of batch instances that succeeded, fails when the run did not land or the deletion guard
held it, and emits the catalog asset through its alias only when the run changed the store."""

from __future__ import annotations

import copy
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest
from airflow.sdk import AssetAlias
from airflow.sdk.execution_time.context import OutletEventAccessors

from medusa_sync import names
from medusa_sync.core.batch_outcome import BatchOutcome
from medusa_sync.core.missing import judge
from medusa_sync.operators.sync_report import SyncReportFailed, SyncReportOperator
from medusa_sync.rundata.run_folder import RunFolder, read_json, write_json

DAG_ID = names.PRODUCT_DAG_ID
RUN_ID = "manual__2026-12-06T12:00:00+00:00"
ALIAS = AssetAlias("medusa_product_catalog_changes")
ASSET_NAME = "medusa_product_catalog"
# The product DAG's tasks in its order (the mapped upsert task is listed once, as the DAG lists it).
TASK_IDS = [
    names.FETCH_PAGES,
    names.READ_STORE,
    names.SYNC_CATEGORIES,
    names.COMPUTE_DIFF,
    names.UPSERT_BATCH,
    names.SYNC_STOCK,
    names.REPORT,
]
ALL_LANDED = {
    names.FETCH_PAGES: "success",
    names.READ_STORE: "success",
    names.SYNC_CATEGORIES: "skipped",  # the fetch created the taxonomy itself
    names.COMPUTE_DIFF: "success",
    f"{names.UPSERT_BATCH}_0": "success",
    f"{names.UPSERT_BATCH}_1": "success",
    names.SYNC_STOCK: "success",
    names.REPORT: "running",
}
# stock.json as ``sync_stock`` writes it.
STOCK = {
    "location_id": "sloc_1",
    "dry_run": False,
    "created": 2,
    "updated": 1,
    "planned_create": 2,
    "planned_update": 1,
    "unchanged": 7,
    "superseded": 0,
    "not_in_store": 0,
    "unmanaged": 0,
    "requests": 2,
}
LABELS = ["batch 1 of 2 (create 3)", "batch 2 of 2 (update 3)"]


class Ti:
    """Stands in for the task SDK's task instance: answers ``get_task_states`` for this run only, as
    the execution API does (``{run_id: {task_id or "<task_id>_<map index>": state}}``)."""

    def __init__(self, states: dict[str, str | None]) -> None:
        self.states = states
        self.asked: list[dict[str, Any]] = []

    def get_task_states(self, **query: Any) -> dict[str, dict[str, str | None]]:
        self.asked.append(query)
        if query.get("dag_id") != DAG_ID or RUN_ID not in (query.get("run_ids") or []):
            return {}
        return {RUN_ID: dict(self.states)}


def outcome(*, rejected: int = 0, **counts: int) -> dict[str, Any]:
    """A batch result file as ``upsert_batch`` writes it."""
    refused = [{"action": "update", "external_id": f"x:{n}", "message": "bad"} for n in range(rejected)]
    return BatchOutcome(counts=Counter(counts), rejected=refused).to_json()


def plan(**changes: Any) -> dict[str, Any]:
    """``compute_diff``'s plan.json for ``folder``: 3 to create, 3 to update, 4 unchanged, in two
    mapped instances of one batch file each."""
    return {
        "create": 3,
        "update": 3,
        "unchanged": 4,
        "missing_upstream": 0,
        "missing_action": "none",
        "on_missing": "draft",
        "guard": None,
        "dry_run": False,
        "batches": [
            {"batch_path": "", "batch_count": 1, "batch_label": label} for label in LABELS
        ],  # paths filled in by ``write_run``
        **changes,
    }


@pytest.fixture
def folder(tmp_path) -> RunFolder:
    return RunFolder.for_run(f"file://{tmp_path}/runs", DAG_ID, RUN_ID)


def write_run(folder: RunFolder, run_plan: dict[str, Any] | None = None) -> None:
    """What the stages of a run that sent two batch files left: fetch.json, one quarantined record,
    plan.json, both result files, stock.json."""
    run_plan = plan() if run_plan is None else copy.deepcopy(run_plan)
    for number, descriptor in enumerate(run_plan["batches"], start=1):
        descriptor["batch_path"] = str(folder.batch(number))
    write_json(
        folder.fetch,
        {"fetched": 11, "valid": 10, "quarantined": 1, "partial": False, "incomplete_because": []},
    )
    write_json(folder.quarantine_part(1), [{"source_id": "7", "reason": "price: price -1 is negative"}])
    write_json(folder.plan, run_plan)
    if run_plan["batches"]:
        write_json(folder.result_for(folder.batch(1)), outcome(created=2, unchanged=1))
        write_json(folder.result_for(folder.batch(2)), outcome(updated=2, rejected=1))
    write_json(folder.stock, STOCK)


def report_task(run_folder: str | None) -> SyncReportOperator:
    return SyncReportOperator(
        task_id=names.REPORT,
        run_folder=run_folder,
        outlets=[ALIAS],
        catalog_asset_name=ASSET_NAME,
        catalog_asset_uri="medusa://catalog/products",
    )


def context_for(states: dict[str, str | None], *, dry_run: bool = False) -> dict[str, Any]:
    return {
        "dag": SimpleNamespace(dag_id=DAG_ID, task_ids=TASK_IDS),
        "dag_run": SimpleNamespace(start_date=pendulum.now("UTC").subtract(seconds=90)),
        "run_id": RUN_ID,
        "params": {"dry_run": dry_run, "full_refresh": False},
        "ti": Ti(states),
        "outlet_events": OutletEventAccessors(),
    }


def asset_events(context: dict[str, Any]) -> list[Any]:
    return context["outlet_events"][ALIAS].asset_alias_events


def test_a_run_that_landed_writes_a_success_report_summing_both_result_files_and_emits_the_asset(folder):
    write_run(folder)
    context = context_for(ALL_LANDED)

    returned = report_task(folder.url).execute(context)  # type: ignore[arg-type]

    assert context["ti"].asked == [{"dag_id": DAG_ID, "run_ids": [RUN_ID]}]
    report = read_json(folder.report)
    assert report["status"] == "success" and report["failed_because"] == []
    products = report["products"]
    # Batch 1 created 2 and found 1 in step; batch 2 updated 2 and had 1 rejected; the plan's 4 unchanged.
    assert {k: products[k] for k in ("created", "updated", "unchanged", "rejected")} == {
        "created": 2,
        "updated": 2,
        "unchanged": 4 + 1,
        "rejected": 1,
    }
    assert report["rejected"][0]["batch_label"] == LABELS[1]
    assert {k: report["batches"][k] for k in ("total", "succeeded", "failed")} == {
        "total": 2,
        "succeeded": 2,
        "failed": [],
    }
    assert report["source"]["fetched"] == 11 and report["source"]["complete"] is True
    assert report["quarantine"] == [{"source_id": "7", "reason": "price: price -1 is negative"}]
    assert report["stock"] == STOCK
    assert 90 <= report["duration_seconds"] < 120
    assert returned["report"] == str(folder.report) and returned["created"] == 2
    [event] = asset_events(context)
    assert event.dest_asset_key.name == ASSET_NAME
    assert event.extra["run_id"] == RUN_ID
    assert {k: event.extra[k] for k in ("created", "updated", "unchanged", "rejected", "drafted")} == {
        "created": 2,
        "updated": 2,
        "unchanged": 5,
        "rejected": 1,
        "drafted": 0,
    }
    assert event.extra["quarantined"] == 1 and event.extra["fetch_complete"] is True


def test_a_failed_batch_instance_is_not_counted_and_the_report_fails_naming_it(folder):
    write_run(folder)  # its result file is there all the same (an earlier attempt wrote it)
    states = ALL_LANDED | {f"{names.UPSERT_BATCH}_1": "failed", names.SYNC_STOCK: "upstream_failed"}
    context = context_for(states)

    with pytest.raises(SyncReportFailed, match="1 batch\\(es\\) did not land: batch 2 of 2"):
        report_task(folder.url).execute(context)  # type: ignore[arg-type]

    report = read_json(folder.report)
    assert report["status"] == "failed"
    assert report["batches"]["failed"] == [LABELS[1]] and report["batches"]["succeeded"] == 1
    # Only batch 1's counts: batch 2's update and rejection are not the run's.
    products = report["products"]
    assert (products["created"], products["updated"], products["rejected"]) == (2, 0, 0)
    assert "sync_stock: upstream_failed" in report["failed_because"]
    assert report["stock"] is None  # sync_stock did not succeed: its file is not this run's
    assert asset_events(context) == []


def test_a_run_cleared_from_the_fetch_whose_fetch_failed_ends_failed_despite_an_earlier_attempts_files(
    folder,
):
    write_run(folder)  # all an earlier, successful attempt left
    # Not in the DAG's order: the report puts the stages in it, the cause first.
    states = {task: "upstream_failed" for task in reversed(ALL_LANDED)} | {
        names.FETCH_PAGES: "failed",
        names.READ_STORE: "success",
        names.REPORT: "running",
    }

    with pytest.raises(SyncReportFailed, match="fetch_pages: failed"):
        report_task(folder.url).execute(context_for(states))  # type: ignore[arg-type]

    report = read_json(folder.report)
    assert report["failed_because"][0] == "fetch_pages: failed"  # the cause before what it held up
    assert report["source"]["fetched"] == 0 and report["products"]["created"] == 0
    assert report["batches"]["total"] == 0


@pytest.mark.parametrize(
    ("run_plan", "dry_run"),
    [
        # A dry run plans changes and sends no batch.
        (plan(dry_run=True, batches=[]), True),
        # A real run with nothing to send: everything in step.
        (plan(create=0, update=0, unchanged=10, batches=[]), False),
    ],
    ids=["dry run", "nothing changed"],
)
def test_a_dry_run_or_a_run_that_changed_nothing_succeeds_without_an_asset_event(
    folder, run_plan: dict[str, Any], dry_run: bool
):
    write_run(folder, run_plan)
    states = {k: v for k, v in ALL_LANDED.items() if not k.startswith(names.UPSERT_BATCH)}
    context = context_for(states | {names.UPSERT_BATCH: "skipped"}, dry_run=dry_run)

    report_task(folder.url).execute(context)  # type: ignore[arg-type]

    report = read_json(folder.report)
    assert report["status"] == "success" and report["dry_run"] is dry_run
    assert asset_events(context) == []


GUARD = judge(acting=40, owned=100, max_missing_percent=10, action="draft").to_json()
HELD = plan(missing_upstream=40, missing_action="blocked by the deletion guard", guard=GUARD)


def test_the_deletion_guard_holding_fails_the_run_with_its_reason_in_the_report(folder):
    write_run(folder, HELD)

    with pytest.raises(SyncReportFailed, match="deletion guard"):
        report_task(folder.url).execute(context_for(ALL_LANDED))  # type: ignore[arg-type]

    report = read_json(folder.report)
    assert report["status"] == "failed"
    assert report["failed_because"] == [
        "deletion guard: draft 40 of 100 synced products (40.0 %) is over max_missing_percent=10; "
        "nothing was drafted or deleted"
    ]
    assert report["guard"] == GUARD
    # The batches themselves landed: their counts are reported all the same.
    assert report["batches"]["succeeded"] == 2 and report["products"]["created"] == 2


def test_the_deletion_guard_holding_a_dry_run_is_reported_but_does_not_fail_it(folder):
    write_run(folder, HELD | {"dry_run": True, "batches": []})
    states = {k: v for k, v in ALL_LANDED.items() if not k.startswith(names.UPSERT_BATCH)}

    report_task(folder.url).execute(context_for(states, dry_run=True))  # type: ignore[arg-type]

    report = read_json(folder.report)
    assert report["status"] == "success" and report["guard"] == GUARD


@pytest.mark.parametrize("run_folder", [None, "None", ""], ids=["none", "rendered none", "empty"])
def test_fetch_pages_never_started_fails_naming_it_with_the_stage_states(run_folder: str | None):
    states = {names.FETCH_PAGES: None, names.READ_STORE: "success", names.REPORT: "running"}

    with pytest.raises(SyncReportFailed, match="fetch_pages never started") as raised:
        report_task(run_folder).execute(context_for(states))  # type: ignore[arg-type]

    assert "'fetch_pages': None" in str(raised.value)  # the stage states it judged


def test_the_task_log_shows_the_runs_verdict_and_counts(folder, capsys):
    """A person reading the task log sees what the run did without opening report.json."""
    write_run(folder)
    report_task(folder.url).execute(context_for(ALL_LANDED))  # type: ignore[arg-type]

    log = capsys.readouterr().out
    assert f"Medusa product sync {RUN_ID}: SUCCESS" in log
    assert "products    created 2, updated 2, unchanged 5" in log
    assert "batches     2/2 succeeded" in log
