"""The store as the diff sees it, kept in a SQLite file so a million products cost disk, not memory.

Only products carrying our external-id prefix are ours; everything else in the store is only
read for its handle, so nothing made by hand or by another integration is ever touched. The file
is task-local scratch (see ``scratch``), gone when the index is closed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.report import MAX_LISTED
from medusa_sync.core.scratch import IN_CHUNK, ScratchDb, in_chunks

_COLUMNS = ("id", "external_id", "handle", "variant_id", "sync_hash", "status", "updated_at", "sync_variants")
_SCHEMA = f"""
CREATE TABLE ours ({", ".join(f"{c} TEXT" for c in _COLUMNS)}, seen INTEGER NOT NULL DEFAULT 0,
                   PRIMARY KEY (external_id)) WITHOUT ROWID;
CREATE TABLE handles (handle TEXT PRIMARY KEY) WITHOUT ROWID;
"""
log = logging.getLogger(__name__)
MAX_LOGGED = 20  # duplicated external ids logged one by one

_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM ours"
_INSERT = f"INSERT OR IGNORE INTO ours ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


def _missing(include_drafted: bool) -> str:
    """Ours the source did not have; without ``include_drafted``, those not drafted already."""
    return "seen = 0" if include_drafted else "seen = 0 AND status IS NOT 'draft'"


class HandleSet:
    """Every handle in use in the store, plus those allocated this run (``HandleAllocator``'s ``taken``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __contains__(self, handle: object) -> bool:
        return self._db.execute("SELECT 1 FROM handles WHERE handle = ?", (handle,)).fetchone() is not None

    def add(self, handle: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO handles VALUES (?)", (handle,))

    def claim(self, handle: str) -> bool:
        """Takes ``handle`` if it is free; whether it was (one statement, not a lookup and an insert)."""
        return self._db.execute("INSERT OR IGNORE INTO handles VALUES (?)", (handle,)).rowcount == 1

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM handles").fetchone()[0]

    def __iter__(self) -> Iterator[str]:
        return (row[0] for row in self._db.execute("SELECT handle FROM handles ORDER BY handle"))


class StoreIndex:
    """Our products by external id, every handle in use, and which of ours the source still has.

    Use as a context manager (or call ``close``): closing deletes the file.
    """

    CHUNK = IN_CHUNK  # ids a caller streaming many hands ``seen_upstream_all`` at a time

    def __init__(self, *, prefix: str) -> None:
        self.prefix = prefix
        # External ids found on more than one product: a broken invariant to report, not to guess at
        # (the first MAX_LISTED of them, by product ids; ``duplicates`` counts them all).
        self.duplicated: dict[str, list[str]] = {}
        self.duplicates = 0
        # The sync's variants of products with variants, as the products record them: what the
        # variant deletion guard measures a run's removed variants against.
        self.owned_variants = 0
        self._scratch = ScratchDb(_SCHEMA)
        self._db = self._scratch.db
        self.handles = HandleSet(self._db)

    @classmethod
    def build(cls, products: Iterable[StoreProduct | Mapping[str, Any]], *, prefix: str) -> StoreIndex:
        """From store products, or the Admin API's product objects (``STORE_PRODUCT_FIELDS``)."""
        index = cls(prefix=prefix)
        try:
            for product in products:
                index.add(product if isinstance(product, StoreProduct) else StoreProduct.from_api(product))
            index._db.commit()
        except BaseException:
            index.close()
            raise
        for external_id, ids in list(index.duplicated.items())[:MAX_LOGGED]:
            log.error(
                "external id %s is on %d products (%s): only %s is kept in step",
                external_id,
                len(ids),
                ", ".join(ids),
                ids[0],
            )
        if len(index.duplicated) > MAX_LOGGED:
            log.error("in all, %d products repeat an earlier product's external id", index.duplicates)
        return index

    def describe(self) -> str:
        return f"{self.owned} products of this sync, {len(self.handles)} handles in all"

    def add(self, product: StoreProduct) -> None:
        """Index one store product; the first product seen with an external id is the one kept."""
        if product.handle:
            self.handles.add(product.handle)
        if not product.external_id.startswith(self.prefix):
            return
        row = tuple(getattr(product, c) for c in _COLUMNS)
        if self._db.execute(_INSERT, row).rowcount == 1:
            self.owned_variants += len(product.source_variant_ids)
        else:
            self.duplicates += 1
            if product.external_id in self.duplicated:
                self.duplicated[product.external_id].append(product.id)
            elif len(self.duplicated) < MAX_LISTED:
                first = self.get(product.external_id)
                self.duplicated[product.external_id] = [first.id if first else "?", product.id]

    def get(self, external_id: str) -> StoreProduct | None:
        row = self._db.execute(f"{_SELECT} WHERE external_id = ?", (external_id,)).fetchone()
        return StoreProduct(*row) if row else None

    def seen_upstream(self, external_id: str) -> StoreProduct | None:
        """Note that the source still has this id (so it is not missing); returns our product with it."""
        return self.seen_upstream_all([external_id]).get(external_id)

    def seen_upstream_all(self, external_ids: Iterable[str]) -> dict[str, StoreProduct]:
        """``seen_upstream`` for a page of ids at once (two queries per ``IN_CHUNK``, not two per id):
        our products among them, by external id."""
        found: dict[str, StoreProduct] = {}
        for chunk, marks in in_chunks(external_ids):
            rows = self._db.execute(f"{_SELECT} WHERE external_id IN ({marks})", chunk).fetchall()
            if rows:
                self._db.execute(f"UPDATE ours SET seen = 1 WHERE external_id IN ({marks})", chunk)
            found.update((row[1], StoreProduct(*row)) for row in rows)
        return found

    def missing_upstream(
        self, *, include_drafted: bool = True, limit: int | None = None
    ) -> Iterator[StoreProduct]:
        """Ours that the source no longer has, by external id, read as they are consumed (a million
        of them never sit in memory); ``include_drafted=False`` leaves out those already drafted."""
        rows = self._db.execute(
            f"{_SELECT} WHERE {_missing(include_drafted)} ORDER BY external_id LIMIT ?", (limit or -1,)
        )
        return (StoreProduct(*row) for row in rows)

    def missing_count(self, *, include_drafted: bool = True) -> int:
        """How many ``missing_upstream`` would give: what the deletion guard is decided from."""
        return self._db.execute(f"SELECT count(*) FROM ours WHERE {_missing(include_drafted)}").fetchone()[0]

    @property
    def owned(self) -> int:
        return self._db.execute("SELECT count(*) FROM ours").fetchone()[0]

    def close(self) -> None:
        self._scratch.close()

    def __enter__(self) -> StoreIndex:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
