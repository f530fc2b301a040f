"""The store as ``read_store`` saw it, kept in the run folder for ``compute_diff``.

Reading the store is most of an unchanged run, and it does not depend on the source, so it runs
while the source is fetched. The snapshot holds only what the diff needs, one compact row per
product (every product: the handles of products that are not ours matter too), in pages.

A snapshot is only good for planning if nothing of this run has written to the store since it was
taken. Upserts run only after ``compute_diff`` succeeds, so that holds on compute_diff's first
try; any later try (a retry, a clear) reads the store itself.

Reading only what changed. A daily run of a store that barely changes need not read every product
again: each snapshot notes when its read began by the store's own clock (``read_started``), and
the next run asks Medusa only for the products updated since then (less a margin for clocks),
then merges them into the previous snapshot. Every change to a product bumps its ``updated_at``,
and a new product is new; a deleted product is the one thing such a read cannot see, so the merge
must come to exactly the store's product count, or the whole store is read. So is it when the
changes are many, when the last whole read is older than ``[medusa_sync] store_full_read_days``,
on a full refresh, and whenever the previous snapshot cannot be read.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from types import EllipsisType
from typing import Any

from airflow.sdk import ObjectStoragePath

from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.rundata.run_folder import (
    RunFolder,
    display_url,
    read_json,
    unusable_storage,
    write_json,
)

# 2: the summary says when the read began by the store's clock, and when the store was last read whole.
FORMAT = 2
# The store's default sales channel and shipping profile as ``read_store`` found them
# (``MedusaHook.StoreDefaults``), in the summary; a summary an earlier version wrote has none.
STORE_DEFAULTS_KEY = "store_defaults"
# Products updated up to this long before the previous read began are read again: the clock that
# stamped ``updated_at`` and the one that answered the read may differ a little.
CLOCK_MARGIN = timedelta(minutes=10)

# How the store is listed whole (``read_store``, and ``compute_diff`` when it must read the store
# itself). Medusa pays a fixed cost per list request, so fewer, larger pages make the read fast
# (docs/performance.md); 2,000 keeps a page near 1 MB of JSON. One at a time, the one request per
# pool slot every task keeps to; more in flight did not help against a local Medusa, a Medusa far
# away on the network may want more.
STORE_PAGE_SIZE = 2000
STORE_READ_CONCURRENCY = 1
# More changed products than this share of the store, and the whole store is read instead: as fast
# then, and it bounds what the merge holds in memory.
MAX_CHANGED_SHARE = 0.1
MIN_CHANGED_LIMIT = 1000
MAX_CHANGED_LIMIT = 50_000

log = logging.getLogger(__name__)


def as_row(product: StoreProduct) -> list[str | None]:
    return list(astuple(product))


def from_row(row: list[Any]) -> StoreProduct:
    return StoreProduct(*row)


class StoreSnapshot:
    """``<run folder>/store/``: ``page-NNNNN.json`` files of rows, then ``snapshot.json`` last."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder

    @property
    def root(self) -> ObjectStoragePath:
        return self.folder.root / "store"

    @property
    def summary_path(self) -> ObjectStoragePath:
        return self.root / "snapshot.json"

    def page(self, number: int) -> ObjectStoragePath:
        return self.root / f"page-{number:05d}.json"

    def start(self, marker: dict[str, Any]) -> None:
        """Remove an earlier attempt's pages and write ``attempt.json``: a storage that cannot be
        written fails here, before the store is read, with ``RunStorageError``."""
        try:
            if self.root.exists():
                for path in list(self.root.iterdir()):
                    path.unlink()
            write_json(self.root / "attempt.json", marker)
        except Exception as exc:
            raise unusable_storage(self.folder.url, exc) from None

    def write(
        self,
        products: Iterable[StoreProduct],
        page_size: int,
        marker: dict[str, Any],
        *,
        expect: int | None = None,
    ) -> dict[str, Any] | None:
        """Write the pages, then the summary: a snapshot without its summary is never used. With
        ``expect``, a snapshot of any other number of products gets no summary (returns None)."""
        count = pages = 0
        rows: list[list[str | None]] = []
        for product in products:
            rows.append(as_row(product))
            if len(rows) == page_size:
                pages += 1
                write_json(self.page(pages), rows)
                count, rows = count + len(rows), []
        if rows or not pages:
            pages += 1
            write_json(self.page(pages), rows)
            count += len(rows)
        if expect is not None and count != expect:
            return None
        summary = {"format": FORMAT, "products": count, "pages": pages, **marker}
        write_json(self.summary_path, summary)
        return summary

    def summary(self) -> dict[str, Any] | None:
        """The summary of a complete snapshot, or None."""
        if not self.summary_path.exists():
            return None
        summary = read_json(self.summary_path)
        return summary if summary.get("format") == FORMAT else None

    def write_merged(
        self,
        base: StoreSnapshot,
        base_summary: dict[str, Any],
        changed: list[StoreProduct],
        page_size: int,
        marker: dict[str, Any],
        *,
        expect: int,
    ) -> dict[str, Any] | None:
        """The base snapshot with ``changed`` in place of the products it held before (in id
        order), or None, with no summary written, when that does not come to ``expect`` products
        (a product was deleted since, or created after ``expect`` was counted)."""
        ids = {product.id for product in changed}
        kept = (product for product in base.products(base_summary) if product.id not in ids)
        merged = heapq.merge(kept, sorted(changed, key=_by_id), key=_by_id)
        return self.write(merged, page_size, marker, expect=expect)

    def merge_into(
        self,
        base: dict[str, Any],
        changed: list[StoreProduct],
        since: datetime,
        page_size: int,
        marker: dict[str, Any],
        *,
        expect: int,
    ) -> dict[str, Any] | None:
        """``write_merged`` onto the run ``base`` (``store_base.json``) names; None, with the reason
        logged, when the whole store must be read instead."""
        read = f"{len(changed)} changed since {since.isoformat()}, merged into run {base['run_id']}'s read"
        try:
            summary = self.write_merged(
                StoreSnapshot(RunFolder(base["folder"])),
                base,
                changed,
                page_size,
                {**marker, "full_read_at": base["full_read_at"], "read": read},
                expect=expect,
            )
        except Exception as error:  # its folder removed (retention) or unreadable: read it all
            log.warning(
                "run %s's store read cannot be used (%s): reading the whole store", base["run_id"], error
            )
            return None
        if summary is None:
            log.info(
                "the merge does not come to the store's %d products (one was deleted, or created since "
                "they were counted): reading the whole store instead",
                expect,
            )
        return summary

    def products(self, summary: Mapping[str, Any]) -> Iterator[StoreProduct]:
        """Every product of the snapshot; fails if a page is missing or short."""
        seen = 0
        for number in range(1, summary["pages"] + 1):
            rows = read_json(self.page(number))
            seen += len(rows)
            yield from map(from_row, rows)
        if seen != summary["products"]:
            raise ValueError(
                f"store snapshot in {display_url(str(self.root))} holds {seen} products, "
                f"its summary says {summary['products']}"
            )


def _by_id(product: StoreProduct) -> str:
    return product.id


# --- Where the next read starts: the previous snapshot, beside the DAG's run folders -------------


def base_marker(folder: RunFolder) -> ObjectStoragePath:
    """``<dag folder>/store_base.json``: the newest whole snapshot of this DAG, where the next run's
    ``read_store`` starts from."""
    return folder.root.parent / "store_base.json"


def record_base(folder: RunFolder, summary: Mapping[str, Any], run_id: str) -> None:
    """Name this run's snapshot as the next read's base (only with the store's clock known)."""
    if summary.get("read_started"):
        write_json(base_marker(folder), {"run_id": run_id, "folder": folder.url, **summary})


def changes_since(
    base: Mapping[str, Any] | None, now: datetime | None, *, full_read_days: float, full_refresh: bool
) -> tuple[datetime | None, str]:
    """From when the store must be read (None: whole), and why, in words for the log."""
    if full_refresh:
        return None, "a full refresh reads the whole store"
    if full_read_days <= 0:
        return None, "[medusa_sync] store_full_read_days is 0"
    if now is None:
        return None, "Medusa gave no Date header: the store's clock is unknown"
    if base is None or base.get("format") != FORMAT or not base.get("read_started"):
        return None, "no earlier store read to start from"
    try:
        whole, started = _utc(base["full_read_at"]), _utc(base["read_started"])
        run_id = base["run_id"]
    except (KeyError, TypeError, ValueError) as error:
        return None, f"the last read's marker cannot be used ({type(error).__name__}: {error})"
    if now - whole > timedelta(days=full_read_days):
        return None, f"the store was last read whole over {full_read_days:g} days ago"
    since = started - CLOCK_MARGIN
    return since, f"products updated since {since.isoformat()}, merged into run {run_id}'s read"


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def changed_limit(base: Mapping[str, Any]) -> int:
    share = int(base.get("products", 0) * MAX_CHANGED_SHARE)
    return min(MAX_CHANGED_LIMIT, max(MIN_CHANGED_LIMIT, share))


def at_most(products: Iterable[StoreProduct], limit: int) -> list[StoreProduct] | None:
    """The changed products, or None as soon as there are more than ``limit``."""
    changed: list[StoreProduct] = []
    for product in products:
        changed.append(product)
        if len(changed) > limit:
            return None
    return changed


def first_try_summary(folder: RunFolder, try_number: int) -> dict[str, Any] | None:
    """The summary of ``read_store``'s snapshot when ``compute_diff`` may plan from it (its first
    try, and the snapshot complete), else None."""
    return StoreSnapshot(folder).summary() if try_number == 1 else None


def planning_index(
    folder: RunFolder,
    *,
    prefix: str,
    try_number: int,
    read_now: Callable[[], StoreIndex],
    summary: Mapping[str, Any] | EllipsisType | None = ...,
) -> StoreIndex:
    """The store index ``compute_diff`` plans against: the snapshot on the first try; on any later
    one (a retry, a clear), ``read_now()``, the store as it is then, since upserts of this run may
    have written since the snapshot. ``summary``: ``first_try_summary`` when the caller has read it
    (None: no snapshot to plan from, taken at its word); left out, it is read here."""
    started = time.monotonic()
    snapshot = StoreSnapshot(folder)
    if summary is ...:
        summary = first_try_summary(folder, try_number)
    if summary is not None and try_number == 1:
        index = StoreIndex.build(snapshot.products(summary), prefix=prefix)
        source = f"store as read_store saw it (its try {summary.get('try_number')})"
    else:
        log.info("%s: reading the store now", f"try {try_number}" if try_number > 1 else "no store snapshot")
        index, source = read_now(), "store read"
    log.info("%s, %.1f s: %s", source, time.monotonic() - started, index.describe())
    return index
