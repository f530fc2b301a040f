"""Cut the planned writes into batches bounded by item count *and* request body size.

Medusa refuses bodies over 2 MB with a 413, and a product with many images or long text is far
larger than average, so counting items alone is not enough.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import ceil
from typing import Any, Literal

from medusa_sync.core.number_rules import finite_json

# Comfortably under Medusa's 2 MB body limit (the limit counts bytes of the raw JSON body).
DEFAULT_MAX_BYTES = 1_500_000
_ENVELOPE_BYTES = len('{"create":[],"update":[],"delete":[]}')

Kind = Literal["create", "update", "delete"]


def encoded(item: Any) -> str:
    """``item`` as it is written in a batch file and sent. Every item of every batch file is
    encoded here, so this is also where a non-finite number is refused before any file is written."""
    return finite_json(item, lambda: _named(item))


def text_size(text: str) -> int:
    """Bytes an item ``encoded`` as ``text`` adds to a request body: its UTF-8 and a comma."""
    return (len(text) if text.isascii() else len(text.encode())) + 1


def _named(item: Any) -> str:
    if isinstance(item, dict):
        return f"the planned item {item.get('external_id') or item.get('id') or '(unnamed)'}"
    return "a planned item"


def item_id(kind: Kind, item: Any) -> str | None:
    """The store product id an update or delete item targets (creates have none yet)."""
    if kind == "delete":
        return str(item)
    return item.get("id") if kind == "update" else None


@dataclass
class Batch:
    """One request's worth of items, plus the store state each update/delete was planned against.

    ``planned`` (product id -> state, see ``store_state``) travels in the batch file but never to
    Medusa: ``body()`` is the request, ``to_file()`` what storage keeps.
    """

    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    planned: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Each item's JSON by kind, as the builder encoded it to measure it (``encoded``): ``file_text``
    # writes these instead of encoding every item a second time.
    texts: dict[Kind, list[str]] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.create) + len(self.update) + len(self.delete)

    def add(
        self, kind: Kind, item: Any, planned: dict[str, Any] | None = None, text: str | None = None
    ) -> None:
        getattr(self, kind).append(item)
        if planned is not None and (product_id := item_id(kind, item)):
            self.planned[product_id] = planned
        if text is not None:
            self.texts.setdefault(kind, []).append(text)

    def items(self) -> list[tuple[Kind, Any]]:
        return [
            *(("create", i) for i in self.create),
            *(("update", i) for i in self.update),
            *(("delete", i) for i in self.delete),
        ]

    def planned_for(self, kind: Kind, item: Any) -> dict[str, Any] | None:
        product_id = item_id(kind, item)
        return self.planned.get(product_id) if product_id else None

    def body(self) -> dict[str, list[Any]]:
        return {"create": self.create, "update": self.update, "delete": self.delete}

    def to_file(self) -> dict[str, Any]:
        return {**self.body(), "planned": self.planned}

    def file_text(self) -> str:
        """``to_file()`` as JSON, compact and unescaped, as ``rundata.run_folder.write_json`` writes
        it: from the items' own texts when the builder kept them all."""
        body = self.body()
        if any(len(self.texts.get(kind, ())) != len(items) for kind, items in body.items()):
            return finite_json(self.to_file(), lambda: "a batch")
        lists = ",".join(f'"{kind}":[{",".join(self.texts.get(kind, ()))}]' for kind in body)
        planned = finite_json(self.planned, lambda: "the planned states of a batch")
        return f'{{{lists},"planned":{planned}}}'

    def subset(self, items: list[tuple[Kind, Any]]) -> Batch:
        """A batch of some of these items, keeping their plan state."""
        batch = Batch()
        for kind, item in items:
            batch.add(kind, item, planned=self.planned_for(kind, item))
        return batch

    def halves(self) -> tuple[Batch, Batch]:
        """Split in two, keeping item order, to isolate an item Medusa refuses or fit a body limit."""
        items = self.items()
        middle = len(items) // 2
        return self.subset(items[:middle]), self.subset(items[middle:])

    @classmethod
    def from_file(cls, data: dict[str, Any]) -> Batch:
        batch = cls()
        planned = data.get("planned") or {}
        for kind in ("create", "update", "delete"):
            for item in data.get(kind, []):
                product_id = item_id(kind, item)
                batch.add(kind, item, planned=planned.get(product_id) if product_id else None)
        return batch


class BatchBuilder:
    """Accumulates items and hands back a batch each time the next item would not fit.

    Only the builder measures items: a batch read back from its file (or split by the sender) was
    measured when it was planned, and measuring it again is most of a sender's own time a file.
    """

    def __init__(self, *, max_items: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_items < 1:
            raise ValueError(f"batch_size must be at least 1, got {max_items}")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._current = Batch()
        # The request body the current batch makes, in bytes.
        self.size_bytes = _ENVELOPE_BYTES

    def add(self, kind: Kind, item: Any, planned: dict[str, Any] | None = None) -> Batch | None:
        text = encoded(item)
        size = text_size(text)
        full = None
        if len(self._current) and (
            len(self._current) >= self.max_items or self.size_bytes + size > self.max_bytes
        ):
            full = self.flush()
        self._current.add(kind, item, planned, text)
        self.size_bytes += size
        return full

    def flush(self) -> Batch | None:
        batch, self._current, self.size_bytes = self._current, Batch(), _ENVELOPE_BYTES
        return batch if len(batch) else None


# --- How batch files are dealt out to mapped ``upsert_batch`` instances.

MAX_INSTANCES = 1024  # Airflow's default [core] max_map_length
# Each instance pays a start-up and a scheduling gap during which its slot sends nothing; about
# 5,000 products (25 files of 200) make that a small share of the instance's time. A retry or a
# clear skips the files an instance already finished, so a large instance costs nothing extra then.
BATCHES_PER_INSTANCE = 25


def group_sizes(
    files: int,
    *,
    concurrency: int = 1,
    per_instance: int = BATCHES_PER_INSTANCE,
    max_instances: int = MAX_INSTANCES,
) -> list[int]:
    """How many consecutive files each instance gets; never more than ``max_instances`` groups.

    Instances come in rounds of ``concurrency`` (the upserts a run sends at once), evenly filled,
    so every slot has one to send and they finish together: no slot idles while the last instance
    of an odd round runs alone.
    """
    if files <= 0:
        return []
    if concurrency < 1 or per_instance < 1:
        raise ValueError(f"concurrency and per_instance must be at least 1: {concurrency}, {per_instance}")
    rounds = ceil(files / (per_instance * concurrency))
    instances = min(files, max_instances, rounds * concurrency)
    base, extra = divmod(files, instances)
    return [base + 1 if n < extra else base for n in range(instances)]


def group_label(first: int, count: int, total: int, kinds: Sequence[Counter[str]]) -> str:
    """``batch 3/12 · 200 create`` for one file, ``batches 1-5/50 · 1000 create`` for a group."""
    summed: Counter[str] = Counter()
    for counted in kinds:
        summed.update(counted)
    parts = " · ".join(f"{n} {kind}" for kind in ("create", "update", "delete") if (n := summed[kind]))
    where = f"batch {first}/{total}" if count == 1 else f"batches {first}-{first + count - 1}/{total}"
    return f"{where} · {parts}"
