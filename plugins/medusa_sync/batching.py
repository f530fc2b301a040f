"""Cut the planned writes into batches bounded by item count *and* request body size.

Medusa refuses bodies over 2 MB with a 413, and a product with many images or long text is far
larger than average, so counting items alone is not enough.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

# Comfortably under Medusa's 2 MB body limit (the limit counts bytes of the raw JSON body).
DEFAULT_MAX_BYTES = 1_500_000
_ENVELOPE_BYTES = len('{"create":[],"update":[],"delete":[]}')

Kind = Literal["create", "update", "delete"]


def encoded_size(item: Any) -> int:
    return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()) + 1


@dataclass
class Batch:
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    size_bytes: int = _ENVELOPE_BYTES

    def __len__(self) -> int:
        return len(self.create) + len(self.update) + len(self.delete)

    def add(self, kind: Kind, item: Any, size: int | None = None) -> None:
        getattr(self, kind).append(item)
        self.size_bytes += encoded_size(item) if size is None else size

    def body(self) -> dict[str, list[Any]]:
        return {"create": self.create, "update": self.update, "delete": self.delete}

    def halves(self) -> tuple[Batch, Batch]:
        """Split in two, keeping item order, to isolate an item Medusa refuses or fit a body limit."""
        items: list[tuple[Kind, Any]] = [
            *(("create", i) for i in self.create),
            *(("update", i) for i in self.update),
            *(("delete", i) for i in self.delete),
        ]
        middle = len(items) // 2
        first, second = Batch(), Batch()
        for n, (kind, item) in enumerate(items):
            (first if n < middle else second).add(kind, item)
        return first, second

    @classmethod
    def from_body(cls, body: dict[str, list[Any]]) -> Batch:
        batch = cls()
        for kind in ("create", "update", "delete"):
            for item in body.get(kind, []):
                batch.add(kind, item)
        return batch


class BatchBuilder:
    """Accumulates items and hands back a batch each time the next item would not fit."""

    def __init__(self, *, max_items: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_items < 1:
            raise ValueError(f"batch_size must be at least 1, got {max_items}")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._current = Batch()

    def add(self, kind: Kind, item: Any) -> Batch | None:
        size = encoded_size(item)
        full = None
        if len(self._current) and (
            len(self._current) >= self.max_items or self._current.size_bytes + size > self.max_bytes
        ):
            full, self._current = self._current, Batch()
        self._current.add(kind, item, size)
        return full

    def flush(self) -> Batch | None:
        batch, self._current = self._current, Batch()
        return batch if len(batch) else None
