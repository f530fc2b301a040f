"""What the recorded bench rounds say together: each round's DAG against its own raw loop, split
into the batches and the rest.

    python -m tests.stack.rounds [--products N] [--variants N] [FILE ...]   # one JSON line

FILE defaults to ``docs/data/bench-runs.jsonl`` (``./dev bench --rounds N --record FILE`` adds to
it). One run's best against best depends on which minutes of the run were fast: the machine's
speed drifts, and Medusa's CPU for the same creates has varied by half from one minute to the
next. Pooled over every round of every run at one size, the DAG's first sync splits into the two
parts that its raw loop does not pay, and each can be looked at apart:

* ``batches_ratio``: the DAG's batches, from the first sent to the last answered, against the raw
  loop's; the same requests to the same endpoint, so what is left is how fast Medusa answered them
  (``medusa_cpu_ratio`` beside it: Medusa's CPU over each side's whole wall);
* ``fixed_extra_seconds``: the rest of the DAG's wall (before its first batch and after its last),
  less the rest of the raw loop's.

Only rounds that hold both sides' batch spans count (recorded since 2026-12-07).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.stack.plot import DATA, load


def _spread(values: list[float], digits: int) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def pooled(runs: Iterable[dict[str, Any]], *, products: int = 10_000, variants: int = 1) -> dict[str, Any]:
    """The rounds of every run of ``products`` products with ``variants`` variants, pooled: median,
    min and max of each round's ratio and of its two parts, and each run's own best against best
    (``dag_raw_ratio``)."""
    rounds: list[dict[str, Any]] = []
    best: list[float] = []
    for run in runs:
        if (run.get("products"), run.get("variants", 1)) != (products, variants):
            continue
        timed = [
            r for r in run.get("rounds", []) if {"raw_batches_seconds", "dag_batches_seconds"} <= r.keys()
        ]
        if timed:
            rounds += timed
            best.append(run["dag_raw_ratio"])
    if not rounds:
        return {"products": products, "variants": variants, "runs": 0, "rounds": 0}

    def rest(r: dict[str, Any], side: str) -> float:
        return r[f"{side}_seconds"] - r[f"{side}_batches_seconds"]

    return {
        "products": products,
        "variants": variants,
        "runs": len(best),
        "rounds": len(rounds),
        "dag_raw_ratio_of_each_run": best,
        "round_ratio": _spread([r["dag_seconds"] / r["raw_seconds"] for r in rounds], 3),
        "batches_ratio": _spread([r["dag_batches_seconds"] / r["raw_batches_seconds"] for r in rounds], 3),
        "medusa_cpu_ratio": _spread(
            [r["dag_medusa_cpu_seconds"] / r["raw_medusa_cpu_seconds"] for r in rounds], 3
        ),
        "fixed_extra_seconds": _spread([rest(r, "dag") - rest(r, "raw") for r in rounds], 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=[DATA])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=1)
    args = parser.parse_args(argv)
    runs = [run for path in args.files for run in load(path)]
    print(json.dumps(pooled(runs, products=args.products, variants=args.variants)))


if __name__ == "__main__":
    main()
