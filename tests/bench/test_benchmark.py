"""The benchmark works end to end (CI runs it once, at 1,000 products). It measures; the assertions
here are about what it measured being right, never about time."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = (sys.executable, "-m", "tests.stack.bench")

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """The bench's temporary folder: its own, so what it leaves there can be seen."""
    return tmp_path_factory.mktemp("bench-tmp")


@pytest.fixture(scope="module")
def result(scratch) -> dict:
    done = subprocess.run(
        [*BENCH, "--products", "1000", "--raw-again", "--rounds", "2", "--raw-beside-airflow"],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    [line] = done.stdout.strip().splitlines()  # one JSON line, nothing else, on stdout
    print(f"\n[bench] {line}")
    return json.loads(line)


def test_both_contenders_leave_the_exact_catalog(result):
    assert result["products"] == 1000
    assert result["raw"]["created"] == 1000
    # Exact: every product, its price and category, unique handles, and each one shippable.
    exact = {"products": 1000, "wrong": 0, "handles_unique": True, "unshippable": 0, "exact": True}
    assert result["raw"]["store"] == result["raw_again"]["store"] == exact
    # The raw loop run beside the DAG's idle Airflow too (--raw-beside-airflow).
    assert result["raw_beside_airflow"]["store"] == exact
    first = result["dag_first"]
    assert (first["state"], first["created"]) == ("success", 1000)
    assert first["store"] == exact
    assert first["mapped_instances"] == 2  # 5 batch files of 200, one instance per concurrent slot


def test_the_warm_up_before_the_timed_runs_is_a_dry_run_that_writes_nothing(result):
    assert (result["warm_up"]["state"], result["warm_up"]["writes"]) == ("success", 0)


def test_an_unchanged_rerun_writes_nothing_and_one_percent_writes_exactly_that(result):
    unchanged, changed = result["dag_unchanged"], result["dag_one_percent"]
    assert (unchanged["writes"], unchanged["unchanged"]) == (0, 1000)
    assert (changed["changed_at_source"], changed["updated"], changed["writes"]) == (10, 10, 1)
    assert changed["store"]["exact"] is True


def test_a_second_round_syncs_the_catalog_exactly_again_with_both_contenders(result):
    first, second = result["rounds"]
    assert (first["round"], second["round"]) == (1, 2)
    assert first["raw_seconds"] == result["raw"]["wall_seconds"]
    assert first["dag_seconds"] == result["dag_first"]["wall_seconds"]
    # Each round's stores are fresh and checked: every product, price, category and handle.
    assert first["stores_exact"] is second["stores_exact"] is True
    assert second["raw_seconds"] > 0 and second["dag_seconds"] > 0
    assert second["ratio"] == round(second["dag_seconds"] / second["raw_seconds"], 2)
    assert first["beside_seconds"] == result["raw_beside_airflow"]["wall_seconds"]
    assert second["ratio_beside"] == round(second["dag_seconds"] / second["beside_seconds"], 2)


def test_it_reports_the_ratio_and_every_task_memory(result):
    # The fastest first sync against the fastest raw loop: of both rounds, and the raw loop's
    # second run of the first round (one more try for the raw side).
    raws = [
        result["raw"]["wall_seconds"],
        result["raw_again"]["wall_seconds"],
        result["rounds"][1]["raw_seconds"],
    ]
    firsts = [result["dag_first"]["wall_seconds"], result["rounds"][1]["dag_seconds"]]
    assert (result["fastest_raw_seconds"], result["fastest_dag_seconds"]) == (min(raws), min(firsts))
    assert result["dag_raw_ratio"] == round(min(firsts) / min(raws), 2)
    # Beside it, the typical round: the median of each round's DAG against its own raw loop.
    paired = [r["dag_seconds"] / r["raw_seconds"] for r in result["rounds"]]
    assert result["median_round_ratio"] == round(statistics.median(paired), 2)
    # The loops beside Airflow are compared apart: never one more try for the baseline.
    besides = [result["rounds"][0]["beside_seconds"], result["rounds"][1]["beside_seconds"]]
    assert result["fastest_raw_beside_airflow_seconds"] == min(besides)
    assert result["dag_raw_beside_airflow_ratio"] == round(min(firsts) / min(besides), 2)
    # Not sync_stock (sync_inventory is off) nor sync_categories (the fetch created the categories
    # and tags as it read the pages): fetch_pages marks both skipped, and no process starts for them.
    assert set(result["dag_first"]["peak_rss_mb"]) == {
        "fetch_pages",
        "read_store",
        "compute_diff",
        "upsert_batch",
        "report",
    }
    assert all(mb > 0 for mb in result["dag_first"]["peak_rss_mb"].values())


def test_a_bench_that_completes_leaves_no_folder_behind(result, scratch):
    # Its Airflow home, run folders and server logs: hundreds of MB a run at 100,000 products.
    assert result["dag_first"]["state"] == "success"
    assert list(scratch.glob("medusa-bench-*")) == []
