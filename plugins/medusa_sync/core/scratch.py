"""Task-local scratch space: what grows with the catalog lives in a SQLite file, not in memory.

A million products' ids, skus, barcodes and store rows would take hundreds of MB as Python
objects; on disk they take a few MB of page cache. The file lives in the task's own temporary
directory and is deleted on close: scratch for one task, never run data to share between tasks.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
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


# Keys per IN (...) query, well under SQLite's limit on parameters.
IN_CHUNK = 500


def in_chunks(keys: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """The distinct keys, ``IN_CHUNK`` at a time, each chunk with its ``?,?,…`` placeholders: one
    query per chunk of a page, not one per key, is what keeps SQLite calls off a page's time."""
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start : start + IN_CHUNK]
        yield chunk, ",".join("?" * len(chunk))


class FirstOwner:
    """Remembers which owner claimed each key first (e.g. which source id has a sku).

    Read and written a page of keys at a time: one query per page, not one per key, is what
    keeps a 10,000-record fetch from spending its time in SQLite calls.
    """

    def __init__(self, scratch: ScratchDb, name: str) -> None:
        if not name.isidentifier():
            raise ValueError(f"table name {name!r} is not an identifier")
        self._db = scratch.db
        self._table = name
        self._db.execute(f"CREATE TABLE {name} (key TEXT PRIMARY KEY, owner TEXT NOT NULL) WITHOUT ROWID")

    def owners(self, keys: Iterable[str]) -> dict[str, str]:
        """The owner of each of ``keys`` that has been claimed."""
        found: dict[str, str] = {}
        for chunk, marks in in_chunks(keys):
            found.update(
                self._db.execute(f"SELECT key, owner FROM {self._table} WHERE key IN ({marks})", chunk)
            )
        return found

    def claim_all(self, claims: Iterable[tuple[str, str]]) -> None:
        """Record ``(key, owner)`` pairs; a key claimed before keeps its first owner."""
        self._db.executemany(f"INSERT OR IGNORE INTO {self._table} VALUES (?, ?)", claims)
