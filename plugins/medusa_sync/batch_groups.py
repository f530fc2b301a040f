"""How batch files are dealt out to mapped ``upsert_batch`` instances.

Airflow refuses more than ``[core] max_map_length`` (1024) mapped instances, and every instance
costs a second or so of scheduling and process start-up. So consecutive batch files are grouped:
an instance sends its files in order, each file still idempotent and resumable on its own. Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from math import ceil

MAX_INSTANCES = 1024  # Airflow's default [core] max_map_length
BATCHES_PER_INSTANCE = 5  # amortises an instance's start-up over about 1,000 products
MIN_INSTANCES = 4  # enough to keep 2 concurrent upserts busy on a small catalog


def group_sizes(
    files: int,
    *,
    per_instance: int = BATCHES_PER_INSTANCE,
    min_instances: int = MIN_INSTANCES,
    max_instances: int = MAX_INSTANCES,
) -> list[int]:
    """How many consecutive files each instance gets; never more than ``max_instances`` groups."""
    if files <= 0:
        return []
    instances = min(files, max_instances, max(min_instances, ceil(files / per_instance)))
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
