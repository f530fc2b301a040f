"""The recorded rounds pooled: each round's DAG against its own raw loop, split into the batches
and the rest."""

from __future__ import annotations

import json

from tests.stack.rounds import main, pooled


def _round(raw: float, raw_batches: float, dag: float, dag_batches: float, cpu: tuple[float, float]) -> dict:
    return {
        "raw_seconds": raw,
        "raw_batches_seconds": raw_batches,
        "dag_seconds": dag,
        "dag_batches_seconds": dag_batches,
        "raw_medusa_cpu_seconds": cpu[0],
        "dag_medusa_cpu_seconds": cpu[1],
    }


RUNS = [
    {  # two rounds: the DAG's batches 5 % slower, then as fast; 5.5 and 4 s more of the rest
        "products": 10_000,
        "variants": 1,
        "dag_raw_ratio": 1.1,
        "rounds": [_round(60, 57, 68.35, 59.85, (60, 63)), _round(50, 47, 54, 47, (50, 50))],
    },
    {  # a third round, its batches 10 % slower and 5 s more of the rest
        "products": 10_000,
        "dag_raw_ratio": 1.2,
        "rounds": [_round(40, 38, 48.8, 41.8, (40, 44))],
    },
    # Left out: another size, other variants, rounds recorded before the batch spans were.
    {"products": 1_000, "variants": 1, "dag_raw_ratio": 2.0, "rounds": [_round(9, 5, 18, 6, (9, 9))]},
    {"products": 10_000, "variants": 4, "dag_raw_ratio": 1.0, "rounds": [_round(9, 5, 9, 5, (9, 9))]},
    {"products": 10_000, "dag_raw_ratio": 1.5, "rounds": [{"raw_seconds": 1, "dag_seconds": 2}]},
]


def test_every_round_of_one_size_splits_into_its_batches_and_the_rest():
    assert pooled(RUNS) == {
        "products": 10_000,
        "variants": 1,
        "runs": 2,
        "rounds": 3,
        "dag_raw_ratio_of_each_run": [1.1, 1.2],
        # 68.35 / 60, 54 / 50 and 48.8 / 40
        "round_ratio": {"median": 1.139, "min": 1.08, "max": 1.22},
        "batches_ratio": {"median": 1.05, "min": 1.0, "max": 1.1},
        "medusa_cpu_ratio": {"median": 1.05, "min": 1.0, "max": 1.1},
        "fixed_extra_seconds": {"median": 5.0, "min": 4.0, "max": 5.5},
    }


def test_a_size_with_no_timed_round_says_so():
    assert pooled(RUNS, products=100_000) == {"products": 100_000, "variants": 1, "runs": 0, "rounds": 0}


def test_it_reads_the_recorded_runs_and_prints_one_json_line(tmp_path, capsys):
    recorded = tmp_path / "runs.jsonl"
    recorded.write_text("".join(json.dumps(run) + "\n" for run in RUNS))
    main([str(recorded), "--variants", "4"])
    assert json.loads(capsys.readouterr().out)["rounds"] == 1
