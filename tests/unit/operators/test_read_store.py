"""The store-read task leaves compute_diff every product of the store: read whole on a DAG's first
run, later merged from the previous run's read and what changed since, and read whole again
whenever a merge cannot be trusted or is not wanted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.ownership import HASH_KEY
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.errors import StoreMovedError
from medusa_sync.hooks.medusa import StoreDefaults
from medusa_sync.operators.read_store import ReadStoreOperator
from medusa_sync.rundata.run_folder import RunFolder
from medusa_sync.rundata.store_snapshot import (
    CLOCK_MARGIN,
    MIN_CHANGED_LIMIT,
    STORE_DEFAULTS_KEY,
    StoreSnapshot,
    planning_index,
)

DAG_ID = "medusa_product_sync"
PREFIX = "dummyjson:"
FIRST_RUN = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)  # the store's clock when the first run reads it
DEFAULTS = StoreDefaults("sc_default", "sp_default")  # the store's default channel and profile


def product(n: int, *, at: datetime, sync_hash: str = "h1") -> dict[str, Any]:
    """Store product ``n`` of the sync, as the Admin API lists it, last updated ``at``."""
    return {
        "id": f"prod_{n:05d}",
        "external_id": f"{PREFIX}{n}",
        "handle": f"item-{n}",
        "status": "published",
        "updated_at": at.isoformat(),
        "metadata": {HASH_KEY: sync_hash},
        "variants": [{"id": f"variant_{n}"}],
    }


class Store:
    """A store listed in id order; ``updated_since`` lists only products updated at or after it.
    Notes the ``updated_since`` of each read and the ids each read listed; ``moving`` makes every
    read of what changed raise ``StoreMovedError`` (a store edited all through it)."""

    def __init__(self, products: list[dict[str, Any]], now: datetime | None) -> None:
        self.products = {p["id"]: p for p in products}
        self.now = now
        self.moving = False
        self.reads: list[datetime | None] = []
        self.listed: list[list[str]] = []

    def put(self, item: dict[str, Any]) -> None:
        self.products[item["id"]] = item

    def product_count_at(self) -> tuple[int, datetime | None]:
        return len(self.products), self.now

    def store_defaults(self) -> StoreDefaults:
        return DEFAULTS

    def read_all_products(
        self,
        consume: Callable[[Iterator[dict[str, Any]]], Any],
        *,
        updated_since: datetime | None = None,
        **_: Any,
    ) -> Any:
        self.reads.append(updated_since)
        if updated_since is not None and self.moving:
            raise StoreMovedError("the list shifted 3 times", "/admin/products")
        listed: list[str] = []
        self.listed.append(listed)

        def listing() -> Iterator[dict[str, Any]]:
            for pid, item in sorted(self.products.items()):
                if updated_since is None or datetime.fromisoformat(item["updated_at"]) >= updated_since:
                    listed.append(pid)
                    yield item

        return consume(listing())

    def as_read_whole(self) -> list[StoreProduct]:
        """What a snapshot of the store as it is now must hold: every product, in id order."""
        return [StoreProduct.from_api(item) for _, item in sorted(self.products.items())]


@pytest.fixture
def store(monkeypatch) -> Store:
    """Five products of the sync, last edited a month before the first run, and one product the
    merchant made (no external id) whose handle the diff must still know."""
    a_month_before = FIRST_RUN - timedelta(days=30)
    merchant = {"id": "prod_00900", "handle": "merchant-made", "status": "published"}
    merchant |= {"updated_at": a_month_before.isoformat(), "variants": []}
    fake = Store([product(n, at=a_month_before) for n in range(1, 6)] + [merchant], FIRST_RUN)
    monkeypatch.setattr("medusa_sync.operators.read_store.MedusaHook", lambda **_: fake)
    return fake


@pytest.fixture
def read_store(tmp_path) -> Callable[..., tuple[RunFolder, dict[str, Any]]]:
    """Runs the task alone for ``run_id`` of the DAG; returns that run's folder and its result."""

    def run(
        run_id: str, *, full_refresh: bool = False, page_size: int = 2, **params: Any
    ) -> tuple[RunFolder, dict[str, Any]]:
        op = ReadStoreOperator(task_id="read_store", storage_url=f"file://{tmp_path}", page_size=page_size)
        context = {
            "dag": SimpleNamespace(dag_id=DAG_ID),
            "run_id": run_id,
            "params": {"full_refresh": full_refresh, **params},
            "ti": SimpleNamespace(task_id="read_store", try_number=1),
        }
        result = op.execute(context)
        return RunFolder.for_run(f"file://{tmp_path}", DAG_ID, run_id), result

    return run


def snapshot_of(folder: RunFolder) -> list[StoreProduct]:
    snapshot = StoreSnapshot(folder)
    summary = snapshot.summary()
    assert summary is not None, "no complete snapshot: compute_diff would read the store itself"
    return list(snapshot.products(summary))


def next_day_with_two_changes(store: Store) -> datetime:
    """A day after the first run: product 2 edited and product 6 created meanwhile."""
    store.put(product(2, at=FIRST_RUN + timedelta(hours=3), sync_hash="h2"))
    store.put(product(6, at=FIRST_RUN + timedelta(hours=4)))
    store.now = FIRST_RUN + timedelta(days=1)
    return store.now


def test_the_first_run_reads_the_whole_store_and_compute_diff_plans_from_it(store, read_store):
    folder, result = read_store("first")

    assert store.reads == [None]
    assert snapshot_of(folder) == store.as_read_whole()
    assert result["products"] == 6 and result["pages"] == 3  # six products, two to a page
    # With the store's defaults, so compute_diff's first try asks Medusa for neither.
    assert StoreSnapshot(folder).summary()[STORE_DEFAULTS_KEY] == DEFAULTS.to_json()

    def read_now() -> StoreIndex:
        raise AssertionError("compute_diff read the store instead of the snapshot")

    with planning_index(folder, prefix=PREFIX, try_number=1, read_now=read_now) as index:
        assert index.owned == 5
        assert index.get(f"{PREFIX}3") == StoreProduct.from_api(store.products["prod_00003"])
        assert "merchant-made" in index.handles


@pytest.mark.parametrize("param", ["sales_channel_id", "shipping_profile_id"])
def test_a_run_whose_params_name_a_channel_or_profile_records_no_defaults(store, read_store, param):
    """compute_diff then asks Medusa only for what the params leave (and checks a given profile)."""
    folder, _ = read_store("first", **{param: "given_by_the_run"})
    assert STORE_DEFAULTS_KEY not in StoreSnapshot(folder).summary()


def test_the_next_run_reads_only_what_changed_since_the_first_read_and_merges_it_into_that_read(
    store, read_store
):
    read_store("first")
    next_day_with_two_changes(store)

    folder, result = read_store("second")

    # From when the first read began, less the margin for the clocks that stamp updated_at.
    assert store.reads == [None, FIRST_RUN - CLOCK_MARGIN]
    assert store.listed[1] == ["prod_00002", "prod_00006"]
    # The four products it did not list come from the first run's read, the two it listed replace
    # or join them: the same as reading the store whole now.
    assert snapshot_of(folder) == store.as_read_whole()
    assert result["products"] == 7
    summary = StoreSnapshot(folder).summary()
    assert "merged into run first's read" in summary["read"]
    assert summary[STORE_DEFAULTS_KEY] == DEFAULTS.to_json()  # as read by this run, not the first


def test_a_third_run_merges_from_the_second_runs_read_not_the_first(store, read_store):
    read_store("first")
    second_at = next_day_with_two_changes(store)
    read_store("second")
    store.put(product(4, at=second_at + timedelta(hours=1), sync_hash="h3"))
    store.now = second_at + timedelta(days=1)

    folder, _ = read_store("third")

    assert store.reads[2] == second_at - CLOCK_MARGIN
    assert store.listed[2] == ["prod_00004"]
    assert snapshot_of(folder) == store.as_read_whole()


def test_a_product_deleted_since_the_last_read_makes_it_read_the_whole_store(store, read_store):
    read_store("first")
    del store.products["prod_00003"]  # a deletion leaves no updated_at behind to list
    store.now = FIRST_RUN + timedelta(days=1)

    folder, _ = read_store("second")

    assert store.reads == [None, FIRST_RUN - CLOCK_MARGIN, None]
    assert snapshot_of(folder) == store.as_read_whole()
    assert "prod_00003" not in {p.id for p in snapshot_of(folder)}


def test_more_changes_than_the_limit_make_it_read_the_whole_store(monkeypatch, read_store):
    start = FIRST_RUN - timedelta(days=30)
    many = Store([product(n, at=start) for n in range(1, MIN_CHANGED_LIMIT + 2)], FIRST_RUN)
    monkeypatch.setattr("medusa_sync.operators.read_store.MedusaHook", lambda **_: many)
    read_store("first", page_size=500)
    for n in range(1, MIN_CHANGED_LIMIT + 2):  # every product edited: one over the limit changed
        many.put(product(n, at=FIRST_RUN + timedelta(hours=1), sync_hash="h2"))
    many.now = FIRST_RUN + timedelta(days=1)

    folder, _ = read_store("second", page_size=500)

    assert many.reads == [None, FIRST_RUN - CLOCK_MARGIN, None]
    assert snapshot_of(folder) == many.as_read_whole()


def test_a_store_that_keeps_moving_under_the_read_of_changes_is_read_whole(store, read_store):
    read_store("first")
    next_day_with_two_changes(store)
    store.moving = True

    folder, _ = read_store("second")

    assert store.reads == [None, FIRST_RUN - CLOCK_MARGIN, None]
    assert snapshot_of(folder) == store.as_read_whole()


def test_a_full_refresh_reads_the_whole_store(store, read_store):
    read_store("first")
    next_day_with_two_changes(store)

    folder, _ = read_store("second", full_refresh=True)

    assert store.reads == [None, None]
    assert snapshot_of(folder) == store.as_read_whole()


def test_store_full_read_days_0_reads_the_whole_store_every_run(store, read_store, monkeypatch):
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__STORE_FULL_READ_DAYS", "0")
    read_store("first")
    next_day_with_two_changes(store)

    folder, _ = read_store("second")

    assert store.reads == [None, None]
    assert snapshot_of(folder) == store.as_read_whole()


@pytest.mark.parametrize(("full_read_days", "merged"), [("7", False), ("10", True)])
def test_merged_reads_count_from_the_last_whole_read_against_store_full_read_days(
    store, read_store, monkeypatch, full_read_days: str, merged: bool
):
    """Whole on day 0, merged on day 4; on day 8 the last read is 4 days old but the last whole
    read 8: over 7 days it is read whole, under 10 it is merged again."""
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__STORE_FULL_READ_DAYS", full_read_days)
    read_store("day0")
    store.now = FIRST_RUN + timedelta(days=4)
    read_store("day4")
    store.put(product(1, at=store.now + timedelta(hours=1), sync_hash="h2"))
    store.now = FIRST_RUN + timedelta(days=8)

    folder, _ = read_store("day8")

    assert store.reads[:2] == [None, FIRST_RUN - CLOCK_MARGIN]
    assert store.reads[2] == (FIRST_RUN + timedelta(days=4) - CLOCK_MARGIN if merged else None)
    assert snapshot_of(folder) == store.as_read_whole()


def test_a_repeat_of_the_same_run_reads_the_whole_store_not_its_own_earlier_read(store, read_store):
    read_store("first")
    next_day_with_two_changes(store)

    folder, _ = read_store("first")

    assert store.reads == [None, None]
    assert snapshot_of(folder) == store.as_read_whole()


def test_without_the_stores_clock_every_run_reads_the_whole_store(store, read_store):
    """No Date header: no time by the store's clock to read changes from, so no run merges."""
    store.now = None
    read_store("first")
    next_day_with_two_changes(store)
    store.now = None

    folder, _ = read_store("second")

    assert store.reads == [None, None]
    assert snapshot_of(folder) == store.as_read_whole()
