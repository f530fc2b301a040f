"""The benchmark's own pure parts: its catalog with variants, and its account of the batch requests."""

from __future__ import annotations

import subprocess
from collections import Counter
from types import SimpleNamespace

import pytest

from medusa_sync.core.models import SourceProduct
from tests.stack import bench
from tests.stack.bench import (
    TaskMemory,
    batch_timing,
    catalog_of,
    comparison,
    idle_seconds,
    option_grid,
    prices_of,
    scheduler_waits,
    with_variants,
)
from tests.stack.catalog_generator import generate_catalog


def test_one_variant_is_the_dummyjson_catalog_unchanged():
    assert catalog_of(50, 1) == generate_catalog(50, seed=1)


@pytest.mark.parametrize(
    ("n", "grid"),
    [(2, [2]), (4, [2, 2]), (6, [3, 2]), (7, [7]), (12, [4, 3]), (100, [10, 10])],
)
def test_variants_are_sizes_by_colours_as_square_as_n_allows(n, grid):
    options = option_grid(n)
    assert [len(values) for _, values in options] == grid
    assert [title for title, _ in options] == ["Size", "Colour"][: len(grid)]


@pytest.mark.parametrize("n", [4, 12])
def test_every_product_with_variants_is_a_valid_canonical_record(n):
    catalog = catalog_of(300, n)
    parsed = [SourceProduct.parse(record) for record in catalog]
    assert all(len(p.variants) == n and p.price is None for p in parsed)
    # Unique across the catalog, as the fetch's checks want them: variant ids, skus, barcodes.
    for key in ("id", "sku", "barcode"):
        counts = Counter(v[key] for record in catalog for v in record["variants"])
        assert max(counts.values()) == 1, key
    # One image per colour, shared by that colour's sizes.
    first = catalog[0]["variants"]
    assert {v["options"]["Colour"]: v["image"] for v in first} == {
        v["options"]["Colour"]: v["image"] for v in reversed(first)
    }


def test_the_store_is_checked_against_every_variant_price():
    record = generate_catalog(1, seed=1)[0]
    assert prices_of(record) == [record["price"]]
    varied = with_variants(record, 4)
    assert prices_of(varied) == sorted(v["price"] for v in varied["variants"])
    assert len(set(prices_of(varied))) == 4


def _store(spans):
    return SimpleNamespace(proxy=SimpleNamespace(timings=lambda method, path: sorted(spans)))


def test_batch_timing_counts_the_time_each_depth_was_in_flight_and_the_hand_offs():
    # Client a: 0-2, then 2.5-4. Client b: 1-3, then 3-5.
    spans = [(0.0, 2.0, "a"), (2.5, 4.0, "a"), (1.0, 3.0, "b"), (3.0, 5.0, "b")]
    timing = batch_timing(_store(spans))
    assert timing["requests"] == 4
    assert timing["first_to_last_seconds"] == 5.0
    # 1 in flight: 0-1, 2-2.5, 4-5; 2 in flight: 1-2, 2.5-4 (b's answer and next request at 3).
    assert timing["in_flight_seconds"] == {"0": 0.0, "1": 2.5, "2+": 2.5}
    assert timing["connections"] == 2
    assert timing["hand_off_seconds"] == {"count": 2, "total": 0.5, "max": 0.5}
    assert timing["last_answers_apart_seconds"] == 1.0


def test_batch_timing_of_no_batch_requests():
    assert batch_timing(_store([])) == {"requests": 0}


def test_one_round_holds_the_first_sync_to_the_faster_raw_loop():
    result = {
        "raw": {"wall_seconds": 70.0},
        "raw_again": {"wall_seconds": 60.0},
        "dag_first": {"wall_seconds": 66.0},
    }
    assert comparison(result) == {
        "fastest_raw_seconds": 60.0,
        "fastest_dag_seconds": 66.0,
        "dag_raw_ratio": 1.1,
    }


def test_more_rounds_hold_the_fastest_first_sync_to_the_fastest_raw_loop():
    # Round 1 is the result's own raw loop and first sync; rounds 2 on bring one of each.
    result = {
        "raw": {"wall_seconds": 67.0},
        "dag_first": {"wall_seconds": 81.4},
        "rounds": [
            {"round": 1, "raw_seconds": 67.0, "dag_seconds": 81.4},
            {"round": 2, "raw_seconds": 75.0, "dag_seconds": 72.0},
            {"round": 3, "raw_seconds": 64.0, "dag_seconds": 90.0},
        ],
    }
    assert comparison(result) == {
        "fastest_raw_seconds": 64.0,
        "fastest_dag_seconds": 72.0,
        "dag_raw_ratio": 1.12,
        # Each round's own pair: 81.4 / 67, 72 / 75 and 90 / 64; the median is round 1's.
        "median_round_ratio": 1.21,
    }


def test_the_raw_loop_beside_an_idle_airflow_is_compared_apart_from_the_baseline():
    # --raw-beside-airflow: one more raw loop a round, with Airflow's processes on the machine.
    # The headline ratio stays against the raw loop alone; the other says what the DAG costs
    # beyond Airflow's presence.
    result = {
        "raw": {"wall_seconds": 60.0},
        "raw_beside_airflow": {"wall_seconds": 66.0},
        "dag_first": {"wall_seconds": 72.0},
        "rounds": [
            {"round": 1, "raw_seconds": 60.0, "beside_seconds": 66.0, "dag_seconds": 72.0},
            {"round": 2, "raw_seconds": 62.0, "beside_seconds": 64.0, "dag_seconds": 69.0},
        ],
    }
    assert comparison(result) == {
        "fastest_raw_seconds": 60.0,
        "fastest_dag_seconds": 69.0,
        "dag_raw_ratio": 1.15,
        "fastest_raw_beside_airflow_seconds": 64.0,
        "dag_raw_beside_airflow_ratio": 1.08,
        "median_round_ratio": 1.16,
    }


@pytest.mark.parametrize("other", ["--skip-raw", "--stock"])
def test_the_raw_loop_beside_airflow_is_refused_where_there_is_no_raw_loop(other, capsys):
    with pytest.raises(SystemExit) as refused:
        bench.main(["--raw-beside-airflow", other])
    assert refused.value.code == 2
    assert "--raw-beside-airflow runs the catalog's raw loop" in capsys.readouterr().err


def _side(wall: float, median: float, cpu: float, batches: float) -> dict[str, object]:
    return {
        "wall_seconds": wall,
        "store": {"exact": True},
        "batch_requests": {"median_seconds": median, "first_to_last_seconds": batches},
        "cpu_seconds": {"medusa": cpu},
    }


def test_a_round_reports_the_raw_loop_beside_airflow_as_a_side_of_its_own():
    raw, beside = _side(60.0, 2.3, 66.0, 57.0), _side(66.0, 2.6, 72.5, 63.0)
    dag = _side(72.0, 2.6, 73.0, 63.5)
    summary = bench._round_of(raw, {**dag, "idle_seconds": 2.1}, beside)
    assert summary["ratio"] == 1.2
    assert summary["beside_seconds"] == 66.0
    assert summary["ratio_beside"] == 1.09
    assert (summary["beside_medusa_cpu_seconds"], summary["beside_batches_seconds"]) == (72.5, 63.0)
    assert summary["stores_exact"] is True
    # A store that came out wrong beside Airflow makes the round's stores not exact.
    wrong = {**beside, "store": {"exact": False}}
    assert bench._round_of(raw, {**dag, "idle_seconds": 2.1}, wrong)["stores_exact"] is False
    # Without the option a round is as before.
    assert "beside_seconds" not in bench._round_of(raw, {**dag, "idle_seconds": 2.1})


def _at(seconds: float | None) -> str | None:
    """A timestamp ``seconds`` after noon, as Airflow's API writes one."""
    if seconds is None:
        return None
    whole, fraction = divmod(round(seconds * 1000), 1000)
    return f"2026-12-07T12:{whole // 60:02d}:{whole % 60:02d}.{fraction:03d}000Z"


def _ti(task_id: str, queued: float | None, start: float, end: float) -> dict[str, str | None]:
    return {"task_id": task_id, "queued_when": _at(queued), "start_date": _at(start), "end_date": _at(end)}


def test_scheduler_waits_are_each_tasks_wait_from_the_last_end_before_it_to_its_queueing():
    run = {"queued_at": _at(0.0), "start_date": _at(0.8), "end_date": _at(52.0)}
    instances = [
        _ti("fetch_pages", 0.9, 0.95, 3.8),
        _ti("read_store", 0.9, 0.95, 1.9),
        _ti("sync_categories", None, 3.8, 3.8),  # skipped by the fetch: never queued
        _ti("compute_diff", 4.2, 4.25, 5.2),
        _ti("upsert_batch", 6.0, 6.05, 50.0),
        _ti("upsert_batch", 6.01, 6.06, 50.5),
        _ti("report", 51.0, 51.05, 51.3),
    ]
    assert scheduler_waits(run, instances) == {
        "fetch_pages": 0.9,  # from the run's queueing
        "read_store": 0.9,
        "compute_diff": 0.4,  # from the fetch's end, the last before it
        "upsert_batch": 0.8,  # the first instance queued
        "report": 0.5,  # from the last upsert's end
        "run end": 0.7,
    }


def test_idle_seconds_count_the_time_no_task_ran_once_however_many_ran_side_by_side():
    run = {"queued_at": _at(0.0), "start_date": _at(0.8), "end_date": _at(52.0)}
    instances = [
        _ti("fetch_pages", 0.9, 1.0, 3.8),
        _ti("read_store", 0.9, 1.0, 1.9),  # beside the fetch: no idle time of its own
        _ti("sync_categories", None, 3.8, 3.8),
        _ti("compute_diff", 4.2, 4.3, 5.2),
        _ti("upsert_batch", 6.0, 6.1, 50.0),
        _ti("upsert_batch", 6.0, 6.1, 50.5),
        _ti("report", 51.0, 51.1, 51.3),
    ]
    # 0-1.0, 3.8-4.3, 5.2-6.1, 50.5-51.1, 51.3-52.0
    assert idle_seconds(run, instances) == pytest.approx(1.0 + 0.5 + 0.9 + 0.6 + 0.7)


def _task_like(ti_id: str) -> subprocess.Popen:
    """A process titled as a task runner is ("airflow worker -- <ti id>")."""
    return subprocess.Popen(["bash", "-c", f'exec -a "airflow worker -- {ti_id}" sleep 30'])


def test_task_memory_reads_a_task_that_starts_after_the_others_settled(monkeypatch):
    monkeypatch.setattr(bench, "TITLE_SETTLES_SECONDS", 0.0)  # every process already here settles
    memory = TaskMemory()
    memory.look()
    memory.look()
    assert memory._not_tasks  # the processes already running are only listed from now on
    monkeypatch.setattr(bench, "TITLE_SETTLES_SECONDS", 10.0)
    late = _task_like("ti-late")
    try:
        for _ in range(50):  # until bash has exec'd into its new title
            memory.look()
            if "ti-late" in memory.peak_kb:
                break
            subprocess.run(["sleep", "0.02"], check=True)
    finally:
        late.kill()
        late.wait()
    assert memory.peak_kb["ti-late"] > 0
