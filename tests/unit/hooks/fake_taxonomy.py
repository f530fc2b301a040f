"""A fake of the part of ``MedusaHook`` that categories and tags need, over an in-memory store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any


class FakeStore:
    """The part of ``MedusaHook`` the maker uses, over an in-memory store that records each call."""

    def __init__(
        self,
        categories: Sequence[str] = (),
        tags: Sequence[str] = (),
        fail_on: str | None = None,
        gate: threading.Event | None = None,
    ):
        self.categories = {handle: f"pcat_{handle}" for handle in categories}
        self.tags = {value: f"ptag_{value}" for value in tags}
        self.fail_on = fail_on
        self.gate = gate  # when given, each creation waits for it to open
        self.calls: list[tuple[str, Any]] = []
        self.running = self.peak = 0
        self.created_at: list[float] = []  # time.monotonic() of each creation's start
        self.names: dict[str, str] = {}  # handle -> the name a category was created with
        self._lock = threading.Lock()

    def list_categories(self, *, handles: Sequence[str], fields: Sequence[str]) -> Iterator[dict[str, str]]:
        self.calls.append(("list_categories", sorted(handles)))
        yield from ({"handle": h, "id": self.categories[h]} for h in handles if h in self.categories)

    def list_tags(self, *, values: Sequence[str]) -> Iterator[dict[str, str]]:
        self.calls.append(("list_tags", sorted(values)))
        yield from ({"value": v, "id": self.tags[v]} for v in values if v in self.tags)

    def _create(self, kind: str, key: str, into: dict[str, str]) -> dict[str, str]:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.calls.append((kind, key))
            self.created_at.append(time.monotonic())
        if self.gate is not None:
            self.gate.wait(timeout=10)
        time.sleep(0.03)
        with self._lock:
            self.running -= 1
        if key == self.fail_on:
            raise RuntimeError(f"Medusa said no to {key}")
        into[key] = f"new_{key}"
        return {"id": into[key]}

    def create_category(self, *, name: str, handle: str) -> dict[str, str]:
        self.names[handle] = name
        return self._create("create_category", handle, self.categories)

    def create_tag(self, value: str) -> dict[str, str]:
        return self._create("create_tag", value, self.tags)

    def delete_category(self, category_id: str) -> None:
        self.calls.append(("delete_category", category_id))
        self.categories = {h: i for h, i in self.categories.items() if i != category_id}

    def delete_tag(self, tag_id: str) -> None:
        self.calls.append(("delete_tag", tag_id))
        self.tags = {v: i for v, i in self.tags.items() if i != tag_id}

    def made(self, kind: str) -> list[Any]:
        return [key for call, key in self.calls if call == kind]
