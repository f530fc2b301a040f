"""Bounded read-ahead: a few reads in flight while the caller works, handed out in order.

The hooks read offset pages this way (a few at a time, yielded in order), and ``upsert_batch``
reads its next batch file while the current one is at Medusa.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


class ReadAhead(Generic[Key]):
    """``get(key, upcoming)`` returns what ``fetch`` reads at ``key``, and first starts reading the
    upcoming keys that fit: up to ``concurrency`` reads at once, the current one included."""

    def __init__(self, fetch: Callable[..., Any], concurrency: int, *, name: str = "page") -> None:
        self._fetch = fetch
        self.depth = max(1, concurrency)
        self._pool = ThreadPoolExecutor(self.depth, thread_name_prefix=name) if self.depth > 1 else None
        self._ahead: dict[Key, Future[Any]] = {}

    def get(self, key: Key, upcoming: Iterable[Key] = ()) -> Any:
        """The page at ``key`` (a tuple is unpacked into ``fetch``'s arguments)."""
        future = self._ahead.pop(key, None)
        for next_key in upcoming:
            if self._pool is None or len(self._ahead) >= self.depth - (future is None):
                break
            if next_key not in self._ahead:
                self._ahead[next_key] = self._pool.submit(self._call, next_key)
        return future.result() if future is not None else self._call(key)

    def _call(self, key: Key) -> Any:
        return self._fetch(*key) if isinstance(key, tuple) else self._fetch(key)

    def close(self) -> None:
        """Stop: pages not yet sent are dropped; the ones on the wire are waited for."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ReadAhead[Key]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
