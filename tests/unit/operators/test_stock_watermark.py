"""Older stock never overwrites newer: a run whose source read is older than the newest stock
written creates missing levels but holds back its updates, even when the newer run failed halfway."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest

from medusa_sync.core.stock import LevelIndex, LevelPlan, hold_back_older
from medusa_sync.operators.sync_stock import SyncStockOperator
from medusa_sync.rundata.run_folder import RunFolder, write_json

EARLY, LATE = "2026-11-29T01:00:00+00:00", "2026-11-29T02:00:00.500000+00:00"


def folder(tmp_path, run_id: str, fetched_at: str | None = None) -> RunFolder:
    run = RunFolder.for_run(f"file://{tmp_path}", "medusa_stock_sync", run_id)
    if fetched_at:
        write_json(run.fetch, {"started_at": fetched_at})
    return run


@pytest.fixture
def plan() -> Iterator[Callable[[], LevelPlan]]:
    """Fresh plans of one level to update (iitem_1, 1 -> 4) and one to create (iitem_2, 7)."""
    with LevelIndex(in_memory=True) as index:
        index.add_source([{"id": 1, "stock": 4}, {"id": 2, "stock": 7}], "dummyjson:")
        index.add_store(HalfFailingStore().list_products(), "sloc_1", "dummyjson:")
        yield lambda: index.plan("sloc_1")


def sent(planned: LevelPlan, kind: str) -> list[str]:
    """The inventory items the plan would write, of ``kind``."""
    return [level["inventory_item_id"] for chunk in planned.chunks(kind, 10) for level in chunk]


def held_back(run: RunFolder, planned: LevelPlan) -> int:
    return hold_back_older(planned, run.fetched_at(), run.read_stock_watermark())


def test_a_replayed_older_read_creates_missing_levels_but_updates_none(tmp_path, plan):
    newer = folder(tmp_path, "newer", LATE)
    newer.raise_stock_watermark(LATE, dag_id="medusa_stock_sync", run_id="newer")
    older, planned = folder(tmp_path, "older", EARLY), plan()

    assert held_back(older, planned) == 1 and planned.update == 0
    assert sent(planned, "update") == [] and sent(planned, "create") == ["iitem_2"]
    assert planned.outcome(location_id="sloc_1", dry_run=False, superseded=1, requests=1)["updated"] == 0


def test_a_newer_read_writes_everything_and_moves_the_watermark_forward_only(tmp_path, plan):
    run = folder(tmp_path, "run", LATE)
    write_json(run.stock_watermark, {"fetched_at": EARLY, "dag_id": "x", "run_id": "old"})
    planned = plan()
    assert held_back(run, planned) == 0 and sent(planned, "update") == ["iitem_1"]

    run.raise_stock_watermark(LATE, dag_id="medusa_stock_sync", run_id="run")
    run.raise_stock_watermark(EARLY, dag_id="medusa_stock_sync", run_id="stale")  # never moves back
    assert run.read_stock_watermark() == {"fetched_at": LATE, "dag_id": "medusa_stock_sync", "run_id": "run"}


def test_without_any_stock_written_yet_nothing_is_held_back(tmp_path, plan):
    planned = plan()
    assert held_back(folder(tmp_path, "first", EARLY), planned) == 0 and sent(planned, "update") == [
        "iitem_1"
    ]


class HalfFailingStore:
    """A store with one synced product whose level exists (an update) and one without (a create);
    the second level request fails."""

    def __init__(self, **_):
        self.sent: list[dict] = []

    def default_sales_channel_id(self) -> str:
        return "sc_1"

    def stock_location_for(self, given, **_) -> str:
        return "sloc_1"

    def list_products(self, **_):
        def product(n: int, level: list[dict]) -> dict:
            inventory = {"location_levels": level}
            item = {"inventory_item_id": f"iitem_{n}", "inventory": inventory}
            return {
                "id": f"prod_{n}",
                "external_id": f"dummyjson:{n}",
                "variants": [{"id": f"variant_{n}", "inventory_items": [item]}],
            }

        return [
            product(1, [{"id": "ilev_1", "location_id": "sloc_1", "stocked_quantity": 1}]),
            product(2, []),
        ]

    def batch_inventory_levels(self, **body):
        if self.sent:
            raise RuntimeError("502 on the second request")
        self.sent.append(body)


def test_the_watermark_moves_before_the_first_level_write_so_a_run_failing_halfway_still_holds(
    tmp_path, monkeypatch, plan
):
    """A newer run whose second level request fails has raised the watermark already: an older
    read replayed later holds back its updates; the newer run, retried (same read), still writes."""
    newer = folder(tmp_path, "newer", LATE)
    write_json(newer.page(1), [{"id": 1, "stock": 4}, {"id": 2, "stock": 7}])
    store = HalfFailingStore()
    monkeypatch.setattr("medusa_sync.operators.sync_stock.MedusaHook", lambda **_: store)
    op = SyncStockOperator(task_id="sync_stock", run_folder=newer.url, level_batch_size=1)
    params = {"dry_run": False, "page_size": 500, "stock_location_id": "", "sales_channel_id": ""}
    context = {"dag": SimpleNamespace(dag_id="medusa_stock_sync"), "run_id": "newer", "params": params}

    with pytest.raises(RuntimeError):
        op.execute(context)

    assert store.sent == [
        {"create": [{"inventory_item_id": "iitem_2", "location_id": "sloc_1", "stocked_quantity": 7}]}
    ]
    assert json.loads(newer.stock_watermark.read_text())["run_id"] == "newer"
    older, replayed = folder(tmp_path, "older", EARLY), plan()
    assert held_back(older, replayed) == 1 and sent(replayed, "update") == []
    retried = plan()
    assert held_back(newer, retried) == 0 and sent(retried, "update") == ["iitem_1"]
