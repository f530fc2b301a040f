"""The store as ``read_store`` saw it, kept in the run folder for ``compute_diff``.

Reading the store is most of an unchanged run, and it does not depend on the source, so it runs
while the source is fetched. The snapshot holds only what the diff needs, one compact row per
product (every product: the handles of products that are not ours matter too), in pages.

A snapshot is only good for planning if nothing of this run has written to the store since it was
taken. Upserts run only after ``compute_diff`` succeeds, so that holds on compute_diff's first
try; any later try (a retry, a clear) reads the store itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import astuple
from typing import Any

from airflow.sdk import ObjectStoragePath

from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.rundata.run_folder import RunFolder, display_url, read_json, unusable_storage, write_json

FORMAT = 1

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
        self, products: Iterable[StoreProduct], page_size: int, marker: dict[str, Any]
    ) -> dict[str, Any]:
        """Write the pages, then the summary: a snapshot without its summary is never used."""
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
        summary = {"format": FORMAT, "products": count, "pages": pages, **marker}
        write_json(self.summary_path, summary)
        return summary

    def summary(self) -> dict[str, Any] | None:
        """The summary of a complete snapshot, or None."""
        if not self.summary_path.exists():
            return None
        summary = read_json(self.summary_path)
        return summary if summary.get("format") == FORMAT else None

    def products(self, summary: dict[str, Any]) -> Iterator[StoreProduct]:
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


def planning_index(
    folder: RunFolder, *, prefix: str, try_number: int, read_now: Callable[[], StoreIndex]
) -> StoreIndex:
    """The store index ``compute_diff`` plans against: the snapshot on the first try; on any later
    one (a retry, a clear), ``read_now()``, the store as it is then, since upserts of this run may
    have written since the snapshot."""
    started = time.monotonic()
    snapshot = StoreSnapshot(folder)
    summary = snapshot.summary() if try_number == 1 else None
    if summary is not None:
        index = StoreIndex.build(snapshot.products(summary), prefix=prefix)
        source = f"store as read_store saw it (its try {summary.get('try_number')})"
    else:
        log.info("%s: reading the store now", f"try {try_number}" if try_number > 1 else "no store snapshot")
        index, source = read_now(), "store read"
    log.info("%s, %.1f s: %s", source, time.monotonic() - started, index.describe())
    return index
