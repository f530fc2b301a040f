"""Older stock never overwrites newer: a run whose source read is older than the newest stock
written creates missing levels but holds back its updates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from medusa_sync.core.stock import LevelPlan
from medusa_sync.operators.sync_stock import SyncStockOperator
from medusa_sync.rundata.run_folder import RunFolder, write_json

EARLY, LATE = "2026-11-29T01:00:00+00:00", "2026-11-29T02:00:00.500000+00:00"


def folder(tmp_path, run_id: str) -> RunFolder:
    return RunFolder.for_run(f"file://{tmp_path}", "medusa_stock_sync", run_id)


def plan() -> LevelPlan:
    level = {"inventory_item_id": "iitem_1", "location_id": "sloc_1", "stocked_quantity": 4}
    return LevelPlan(create=[dict(level, inventory_item_id="iitem_2")], update=[level])


def operator() -> SyncStockOperator:
    return SyncStockOperator(task_id="sync_stock", run_folder=None)


def context(run_id: str):
    params = {"dry_run": False, "page_size": 500, "stock_location_id": "", "sales_channel_id": ""}
    return {"dag": SimpleNamespace(dag_id="medusa_stock_sync"), "run_id": run_id, "params": params}


def test_a_replayed_older_read_creates_missing_levels_but_updates_none(tmp_path):
    newer = folder(tmp_path, "newer")
    operator()._raise_watermark(newer, context("newer"), LATE)
    older, planned = folder(tmp_path, "older"), plan()

    held = operator()._hold_back_older_stock(older, planned, EARLY)

    assert held == 1 and planned.update == [] and len(planned.create) == 1


def test_a_newer_read_writes_everything_and_moves_the_watermark_forward_only(tmp_path):
    run = folder(tmp_path, "run")
    write_json(run.stock_watermark, {"fetched_at": EARLY, "dag_id": "x", "run_id": "old"})
    planned = plan()
    assert operator()._hold_back_older_stock(run, planned, LATE) == 0 and len(planned.update) == 1

    operator()._raise_watermark(run, context("run"), LATE)
    operator()._raise_watermark(run, context("stale"), EARLY)  # an older read never moves it back
    assert run.stock_watermark.read_text().count(LATE) == 1


def test_without_any_stock_written_yet_nothing_is_held_back(tmp_path):
    planned = plan()
    assert operator()._hold_back_older_stock(folder(tmp_path, "first"), planned, EARLY) == 0
    assert len(planned.update) == 1


def test_the_watermark_moves_before_the_first_level_write_so_a_run_failing_halfway_still_holds(
    tmp_path, monkeypatch
):
    """A newer run whose second level request fails has raised the watermark already: an older
    read replayed later holds back its updates; the newer run, retried (same read), still writes."""
    newer = folder(tmp_path, "newer")
    write_json(newer.fetch, {"started_at": LATE})
    sent: list[dict] = []

    class Hook:
        def __init__(self, **_):
            pass

        def batch_inventory_levels(self, **body):
            if sent:
                raise RuntimeError("502 on the second request")
            sent.append(body)

    op = SyncStockOperator(task_id="sync_stock", run_folder=newer.url, level_batch_size=1)
    monkeypatch.setattr("medusa_sync.operators.sync_stock.MedusaHook", Hook)
    monkeypatch.setattr(SyncStockOperator, "_location", lambda self, hook, params: "sloc_1")
    monkeypatch.setattr(SyncStockOperator, "_source_stock", lambda self, folder: {})
    monkeypatch.setattr(SyncStockOperator, "_plan", lambda self, hook, source, location: plan())
    with pytest.raises(RuntimeError):
        op.execute(context("newer"))
    assert len(sent) == 1  # half of its writes landed, then it failed

    older, replayed = folder(tmp_path, "older"), plan()
    assert operator()._hold_back_older_stock(older, replayed, EARLY) == 1 and replayed.update == []
    retried = plan()
    assert operator()._hold_back_older_stock(newer, retried, LATE) == 0 and len(retried.update) == 1
