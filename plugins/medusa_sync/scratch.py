"""Task-local scratch space: what grows with the catalog lives in a SQLite file, not in memory.

A million products' ids, skus, barcodes and store rows would take hundreds of MB as Python
objects; on disk they take a few MB of page cache. The file lives in the task's own temporary
directory and is deleted on close: scratch for one task, never run data to share between tasks.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path
from types import TracebackType


class ScratchDb:
    """A throwaway SQLite database; use as a context manager (or call ``close``).

    ``in_memory`` keeps it in memory instead, for the small inputs of tests and one-off calls.
    """

    def __init__(self, schema: str = "", *, in_memory: bool = False) -> None:
        self.dir = None if in_memory else Path(tempfile.mkdtemp(prefix="medusa-sync-"))
        self.db = sqlite3.connect(":memory:" if self.dir is None else self.dir / "scratch.sqlite")
        # No journal, no fsync: nothing here must survive the task. The default page cache
        # (about 2 MB) is what bounds memory.
        self.db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + schema)

    def close(self) -> None:
        self.db.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ScratchDb:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class FirstOwner:
    """Remembers which owner claimed each key first (e.g. which source id has a sku)."""

    def __init__(self, scratch: ScratchDb, name: str) -> None:
        if not name.isidentifier():
            raise ValueError(f"table name {name!r} is not an identifier")
        self._db = scratch.db
        self._table = name
        self._db.execute(f"CREATE TABLE {name} (key TEXT PRIMARY KEY, owner TEXT NOT NULL) WITHOUT ROWID")

    def claim(self, key: str, owner: str) -> str | None:
        """Claim ``key`` for ``owner``; returns the earlier owner when it was already claimed."""
        inserted = self._db.execute(f"INSERT OR IGNORE INTO {self._table} VALUES (?, ?)", (key, owner))
        if inserted.rowcount:
            return None
        return self._db.execute(f"SELECT owner FROM {self._table} WHERE key = ?", (key,)).fetchone()[0]

    def owner(self, key: str) -> str | None:
        row = self._db.execute(f"SELECT owner FROM {self._table} WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None
