"""Bounded read-ahead for offset-paged APIs: a few pages in flight, handed out in order.

Both the catalog source and the store are paged by offset, so once the first page has told the
total, the offsets of every later page are known and the next few can be on the wire while the
caller works on the current one. Memory stays at ``concurrency`` pages, whatever the total.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


class PageAhead(Generic[Key]):
    """``get(key, upcoming)`` returns the page at ``key`` and first sends the upcoming ones that fit."""

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

    def __enter__(self) -> PageAhead[Key]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
