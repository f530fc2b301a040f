"""When upsert_batch proves its drafts and deletes again: a retry or clear, or a plan older than
``[medusa_sync] missing_proof_max_age_minutes``; a fresh first try acts on the plan's proof."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from medusa_sync import settings
from medusa_sync.operators.upsert_batch import UpsertBatchOperator
from medusa_sync.rundata.run_folder import RunFolder, write_json

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def folder(tmp_path) -> RunFolder:
    return RunFolder.for_run(f"file://{tmp_path}", "medusa_product_sync", "run-1")


def because(folder: RunFolder, *, planned_ago: timedelta | None, retry: bool = False) -> str | None:
    if planned_ago is not None:
        write_json(folder.plan, {"planned_at": (NOW - planned_ago).isoformat()})
    operator = UpsertBatchOperator(task_id="upsert_batch", batch_path=str(folder.batch(1)))
    reproof = operator._reproof(folder, retry, now=NOW)
    return None if reproof is None else reproof.because


def test_a_first_try_within_the_bound_acts_on_the_plans_proof(folder, monkeypatch):
    monkeypatch.setattr(settings, "_configured", dict)
    assert because(folder, planned_ago=timedelta(minutes=59)) is None


def test_a_plan_older_than_the_bound_is_proven_again(folder, monkeypatch):
    monkeypatch.setattr(settings, "_configured", dict)
    assert (
        because(folder, planned_ago=timedelta(hours=2))
        == "planned 120 min ago, missing_proof_max_age_minutes=60"
    )


def test_a_retried_or_cleared_batch_is_proven_again_however_young_its_plan(folder, monkeypatch):
    monkeypatch.setattr(settings, "_configured", dict)
    assert because(folder, planned_ago=timedelta(minutes=1), retry=True) == "a retried or cleared batch"


def test_the_bound_is_a_setting_and_0_proves_every_send_again(folder, monkeypatch):
    monkeypatch.setattr(settings, "_configured", lambda: {"missing_proof_max_age_minutes": "0"})
    assert because(folder, planned_ago=timedelta(0)) == "planned 0 min ago, missing_proof_max_age_minutes=0"


def test_a_run_folder_planned_before_plans_had_a_time_is_dated_by_its_fetch(folder, monkeypatch):
    monkeypatch.setattr(settings, "_configured", dict)
    write_json(folder.fetch, {"started_at": (NOW - timedelta(days=3)).isoformat()})
    assert because(folder, planned_ago=None) == "planned 4320 min ago, missing_proof_max_age_minutes=60"


def variant_deletes(folder: RunFolder, *, planned_ago: timedelta, allowed: bool = True):
    decision = {
        "allowed": allowed,
        "because": "delete 1 of 40 synced variants (2.5 %) is within",
    }
    write_json(folder.plan, {"planned_at": (NOW - planned_ago).isoformat(), "variants": {"delete": decision}})
    operator = UpsertBatchOperator(task_id="upsert_batch", batch_path=str(folder.batch(1)))
    return operator._variant_deletes(folder, now=NOW)


def test_variants_removed_upstream_are_deleted_as_a_young_plan_decided_and_kept_once_it_is_old(
    folder, monkeypatch
):
    monkeypatch.setattr(settings, "_configured", dict)
    assert variant_deletes(folder, planned_ago=timedelta(minutes=59)).allowed
    assert not variant_deletes(folder, planned_ago=timedelta(minutes=59), allowed=False).allowed
    late = variant_deletes(folder, planned_ago=timedelta(hours=2))
    assert not late.allowed
    assert (
        late.because == "the plan's proof is too old: planned 120 min ago, missing_proof_max_age_minutes=60"
    )
