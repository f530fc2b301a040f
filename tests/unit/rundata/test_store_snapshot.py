"""The store snapshot ``read_store`` leaves for ``compute_diff``, and when the diff may use it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from medusa_sync.core.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.errors import StoreMovedError
from medusa_sync.hooks.medusa import STORE_READ_TRIES, MedusaHook, StoreDefaults
from medusa_sync.rundata.run_folder import RunFolder, RunStorageError, write_json
from medusa_sync.rundata.store_snapshot import StoreSnapshot, planning_index
from tests.fixtures.store_records import store_product

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # "now" by the store's clock


def products(n: int) -> list[StoreProduct]:
    return [
        StoreProduct.from_api(store_product(f"prod_{i}", f"dummyjson:{i}", f"h-{i}", "abc")) for i in range(n)
    ]


@pytest.fixture
def folder(tmp_path) -> RunFolder:
    return RunFolder(f"file://{tmp_path}/run")


@pytest.mark.parametrize("count", [0, 1, 4, 5])
def test_what_is_written_is_read_back_in_order(folder, count):
    snapshot = StoreSnapshot(folder)
    summary = snapshot.write(products(count), page_size=2, marker={"try_number": 1})
    assert summary["products"] == count
    assert summary["pages"] == max(1, -(-count // 2))
    assert list(snapshot.products(snapshot.summary())) == products(count)


def test_a_new_attempt_starts_from_an_empty_snapshot(folder):
    snapshot = StoreSnapshot(folder)
    snapshot.write(products(3), page_size=2, marker={})
    snapshot.start({"try_number": 2})
    assert snapshot.summary() is None
    assert sorted(p.name for p in snapshot.root.iterdir()) == ["attempt.json"]


def test_storage_that_cannot_be_written_fails_before_the_store_is_read(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage root should be")
    with pytest.raises(RunStorageError, match="not-a-folder"):
        StoreSnapshot(RunFolder(f"file://{blocker}/run")).start({})


def test_pages_without_their_summary_are_no_snapshot(folder):
    snapshot = StoreSnapshot(folder)
    snapshot.write(products(3), page_size=2, marker={})
    snapshot.summary_path.unlink()
    assert snapshot.summary() is None


def test_a_page_that_lost_rows_fails_the_read(folder):
    snapshot = StoreSnapshot(folder)
    snapshot.write(products(4), page_size=2, marker={})
    write_json(snapshot.page(2), [])
    with pytest.raises(ValueError, match="holds 2 products, its summary says 4"):
        list(snapshot.products(snapshot.summary()))


def test_a_new_attempt_of_the_fetch_leaves_the_snapshot_alone(folder):
    StoreSnapshot(folder).write(products(3), page_size=2, marker={})
    write_json(folder.page(1), [])
    assert folder.start_attempt({"try_number": 2}) == 1  # the old page went, the store pages stayed
    assert StoreSnapshot(folder).summary()["products"] == 3


class ListingHook:
    """Stands in for MedusaHook's HTTP: records whether the store was listed. The first
    ``moved_reads`` listings stop after two products with ``StoreMovedError``, as a read does when a
    product is deleted under it; MedusaHook's own ``read_all_products`` runs the repeats."""

    log = logging.getLogger(__name__)
    read_all_products = MedusaHook.read_all_products

    def __init__(
        self, listing: list[dict[str, Any]], moved_reads: int = 0, now: datetime | None = NOON
    ) -> None:
        self.listing = listing
        self.calls = 0
        self.moved_reads = moved_reads
        self.now = now
        self.since: list[str | None] = []  # each listing's updated_at[$gte], None for a whole read

    def product_count_at(self) -> tuple[int, datetime | None]:
        return len(self.listing), self.now

    def store_defaults(self) -> StoreDefaults:
        return StoreDefaults("sc_1", "sp_1")

    def paginate(self, path: str, key: str, **kwargs: Any):
        self.calls += 1
        assert kwargs["overlap"] is True and ("order", "id") in kwargs["params"]
        since = dict(kwargs["params"]).get("updated_at[$gte]")
        self.since.append(since)
        listing = [p for p in self.listing if since is None or p["updated_at"] >= since]
        if self.calls <= self.moved_reads:
            yield from listing[:2]
            raise StoreMovedError("the list moved while it was read", path)
        yield from listing


def index_for(folder: RunFolder, hook: ListingHook, try_number: int, **summary: Any) -> StoreIndex:
    """What compute_diff plans against on that try, the store read as it reads it (``summary=``:
    the snapshot summary as compute_diff found it)."""
    return planning_index(
        folder,
        prefix="dummyjson:",
        try_number=try_number,
        read_now=lambda: hook.read_all_products(
            lambda listing: StoreIndex.build(listing, prefix="dummyjson:"), fields=STORE_PRODUCT_FIELDS
        ),
        **summary,
    )


def test_the_first_try_plans_from_the_snapshot_without_listing_the_store(folder):
    StoreSnapshot(folder).write(products(3), page_size=2, marker={"try_number": 1})
    hook = ListingHook([store_product("prod_9", "dummyjson:9", "other")])
    with index_for(folder, hook, try_number=1) as index:
        assert hook.calls == 0
        assert index.owned == 3 and index.get("dummyjson:2").id == "prod_2"


def test_a_later_try_lists_the_store_again_because_upserts_may_have_written(folder, caplog):
    caplog.set_level(logging.INFO)
    StoreSnapshot(folder).write(products(3), page_size=2, marker={"try_number": 1})
    hook = ListingHook([store_product("prod_9", "dummyjson:9", "other")])
    with index_for(folder, hook, try_number=2) as index:
        assert hook.calls == 1
        assert index.owned == 1 and index.get("dummyjson:9") is not None
    assert "try 2: reading the store now" in caplog.text  # the task log


def test_without_a_snapshot_the_first_try_lists_the_store(folder):
    hook = ListingHook([store_product("prod_9", "dummyjson:9", "other")])
    with index_for(folder, hook, try_number=1) as index:
        assert hook.calls == 1 and index.owned == 1


def test_a_summary_the_caller_found_missing_is_not_looked_for_again(folder):
    # compute_diff reads the summary first (for the store's defaults): its None stands, even if a
    # snapshot were there by the time the index is built.
    StoreSnapshot(folder).write(products(3), page_size=2, marker={"try_number": 1})
    hook = ListingHook([store_product("prod_9", "dummyjson:9", "other")])
    with index_for(folder, hook, try_number=1, summary=None) as index:
        assert hook.calls == 1 and index.owned == 1


FIVE = [store_product(f"prod_{i}", f"dummyjson:{i}", f"h-{i}") for i in range(5)]


def run_read_store(
    folder, monkeypatch, hook, run_id: str = "run", params: dict | None = None
) -> tuple[dict, list[str]]:
    """read_store with ``hook`` as its Medusa, in pages of 2: its result and the snapshot's ids."""
    from medusa_sync.operators import read_store

    monkeypatch.setattr(read_store, "MedusaHook", lambda **kwargs: hook)
    storage = folder.url.rsplit("/run", 1)[0]
    operator = read_store.ReadStoreOperator(task_id="read_store", storage_url=storage, page_size=2)
    context = {
        "dag": SimpleNamespace(dag_id="dag"),
        "run_id": run_id,
        "ti": SimpleNamespace(task_id="read_store", try_number=1),
        "params": params or {},
    }
    result = operator.execute(context)
    snapshot = StoreSnapshot(RunFolder(f"{storage}/dag/{run_id}"))
    return result, [p.id for p in snapshot.products(snapshot.summary())]


def stamped(i: int, updated_at: str, **changes: Any) -> dict[str, Any]:
    return {
        **store_product(f"prod_{i}", f"dummyjson:{i}", f"h-{i}", "abc"),
        "updated_at": updated_at,
        **changes,
    }


YESTERDAY = "2026-11-30T12:00:00+00:00"


def test_the_next_run_reads_only_what_changed_and_merges_it_into_the_last_read(folder, monkeypatch):
    store = [stamped(i, YESTERDAY) for i in range(6)]
    first = ListingHook(store, now=NOON - timedelta(days=1, hours=-1))  # read at 13:00 yesterday
    run_read_store(folder, monkeypatch, first, run_id="run-1")
    # Since: a product edited and one created; the merge keeps the other four from run-1's read.
    store[2] = stamped(2, "2026-12-01T09:00:00+00:00", handle="edited-by-hand")
    store.append(stamped(7, "2026-12-01T10:00:00+00:00"))
    second = ListingHook(store)
    result, ids = run_read_store(folder, monkeypatch, second, run_id="run-2")
    assert second.since == ["2026-11-30T12:50:00+00:00"]  # 13:00 less the clock margin
    assert result == {"products": 7, "pages": 4}
    assert ids == [f"prod_{i}" for i in (0, 1, 2, 3, 4, 5, 7)]
    snapshot = StoreSnapshot(RunFolder(folder.url.rsplit("/run", 1)[0] + "/dag/run-2"))
    summary = snapshot.summary()
    held = {p.id: p for p in snapshot.products(summary)}
    assert held["prod_2"].handle == "edited-by-hand"
    assert summary["read"].startswith("2 changed since 2026-11-30T12:50:00+00:00, merged into run run-1")
    assert summary["full_read_at"] == first.now.isoformat()  # still yesterday's whole read


def test_a_product_deleted_since_the_last_read_makes_the_run_read_the_whole_store(folder, monkeypatch):
    store = [stamped(i, YESTERDAY) for i in range(6)]
    run_read_store(folder, monkeypatch, ListingHook(store, now=NOON - timedelta(hours=20)), run_id="run-1")
    del store[3]  # deleted: no updated_at to find it by; the merge comes to 6, the store holds 5
    second = ListingHook(store)
    result, ids = run_read_store(folder, monkeypatch, second, run_id="run-2")
    assert second.since == ["2026-11-30T15:50:00+00:00", None]  # changes, then the whole store
    assert result["products"] == 5 and "prod_3" not in ids


@pytest.mark.parametrize(
    ("why", "setting", "params", "last_read"),
    [
        ("a full refresh", 7, {"full_refresh": True}, timedelta(hours=20)),
        ("the setting is 0", 0, {}, timedelta(hours=20)),
        ("the last whole read is too old", 7, {}, timedelta(days=8)),
    ],
)
def test_the_whole_store_is_read_when(folder, monkeypatch, why, setting, params, last_read):
    from medusa_sync import settings

    monkeypatch.setattr(settings, "_configured", lambda: {"store_full_read_days": str(setting)})
    store = [stamped(i, YESTERDAY) for i in range(3)]
    run_read_store(folder, monkeypatch, ListingHook(store, now=NOON - last_read), run_id="run-1")
    second = ListingHook(store)
    run_read_store(folder, monkeypatch, second, run_id="run-2", params=params)
    assert second.since == [None], why


def test_too_many_changes_are_read_whole(folder, monkeypatch):
    from medusa_sync.rundata import store_snapshot

    monkeypatch.setattr(store_snapshot, "MIN_CHANGED_LIMIT", 2)
    store = [stamped(i, YESTERDAY) for i in range(6)]
    run_read_store(folder, monkeypatch, ListingHook(store, now=NOON - timedelta(hours=20)), run_id="run-1")
    for i in range(3):
        store[i] = stamped(i, "2026-12-01T09:00:00+00:00", status="draft")
    second = ListingHook(store)
    run_read_store(folder, monkeypatch, second, run_id="run-2")
    assert second.since == ["2026-11-30T15:50:00+00:00", None]


def test_a_last_read_whose_folder_is_gone_is_not_used(folder, monkeypatch):
    import shutil

    store = [stamped(i, YESTERDAY) for i in range(3)]
    run_read_store(folder, monkeypatch, ListingHook(store, now=NOON - timedelta(hours=20)), run_id="run-1")
    shutil.rmtree(folder.root.path.rsplit("/run", 1)[0] + "/dag/run-1")  # removed by retention
    second = ListingHook(store)
    result, ids = run_read_store(folder, monkeypatch, second, run_id="run-2")
    assert second.since[-1] is None and result["products"] == 3 and ids == ["prod_0", "prod_1", "prod_2"]


def test_the_read_store_operator_writes_what_the_hook_lists(folder, monkeypatch):
    result, snapshot_ids = run_read_store(folder, monkeypatch, ListingHook(FIVE))
    assert result == {"products": 5, "pages": 3}
    assert snapshot_ids == [f"prod_{i}" for i in range(5)]


def test_a_store_read_that_moved_is_repeated_and_the_snapshot_holds_each_product_once(folder, monkeypatch):
    hook = ListingHook(FIVE, moved_reads=2)
    result, snapshot_ids = run_read_store(folder, monkeypatch, hook)
    assert result == {"products": 5, "pages": 3}
    assert hook.calls == 3
    assert snapshot_ids == [f"prod_{i}" for i in range(5)]


def test_a_store_that_keeps_moving_fails_the_try_with_a_transient_error(folder):
    hook = ListingHook([store_product("prod_9", "dummyjson:9", "other")] * 3, moved_reads=STORE_READ_TRIES)
    with pytest.raises(StoreMovedError) as raised:
        index_for(folder, hook, try_number=2)
    assert raised.value.transient and hook.calls == STORE_READ_TRIES


def test_a_marker_that_cannot_be_used_means_a_whole_read_not_a_failed_task():
    from medusa_sync.rundata.store_snapshot import FORMAT, changes_since

    broken = {"format": FORMAT, "read_started": "yesterday", "full_read_at": "2026-11-30T12:00:00"}
    since, why = changes_since(broken, NOON, full_read_days=7, full_refresh=False)
    assert since is None and why.startswith("the last read's marker cannot be used (ValueError")
    naive = {**broken, "read_started": "2026-11-30T13:00:00", "run_id": "run-1"}  # read as UTC
    since, _ = changes_since(naive, NOON, full_read_days=7, full_refresh=False)
    assert since == datetime(2026, 11, 30, 12, 50, tzinfo=UTC)


class EditedDuringReads(ListingHook):
    """A store a merchant keeps editing: every read of what changed since (``updated_at[$gte]``)
    moves under it, as edits made during it add products to that listing; a whole read, whose
    membership edits cannot change, goes through."""

    def paginate(self, path: str, key: str, **kwargs: Any):
        since = dict(kwargs["params"]).get("updated_at[$gte]")
        self.moved_reads = self.calls + 1 if since is not None else 0
        return super().paginate(path, key, **kwargs)


def test_a_store_that_keeps_moving_under_the_read_of_changes_is_read_whole(folder, monkeypatch):
    from structlog.testing import capture_logs

    store = [stamped(i, YESTERDAY) for i in range(6)]
    run_read_store(folder, monkeypatch, ListingHook(store, now=NOON - timedelta(hours=20)), run_id="run-1")
    store[4] = stamped(4, "2026-12-01T09:00:00+00:00", handle="edited-by-hand")
    second = EditedDuringReads(store)
    with capture_logs() as task_log:  # the operator's log, as the task log shows it
        result, ids = run_read_store(folder, monkeypatch, second, run_id="run-2")
    # Every repeat of the read of changes moved; then one whole read, which did not.
    assert second.since == ["2026-11-30T15:50:00+00:00"] * STORE_READ_TRIES + [None]
    assert result["products"] == 6 and ids == [f"prod_{i}" for i in range(6)]
    snapshot = StoreSnapshot(RunFolder(folder.url.rsplit("/run", 1)[0] + "/dag/run-2"))
    summary = snapshot.summary()
    assert summary["read"] == "whole"
    assert {p.id: p.handle for p in snapshot.products(summary)}["prod_4"] == "edited-by-hand"
    said = [entry["event"] for entry in task_log if "kept moving" in entry["event"]]
    assert said == [
        "the store kept moving under the read of what changed (the list moved while it was read): "
        "reading the whole store instead"
    ]
    assert any(entry["event"].endswith("pages (whole)") for entry in task_log)
