"""No wall at a million products: a synthetic 1,000,000-product catalog against a synthetic store of
1,000,000 (no Medusa needed), each stage within 300 MB: compute_diff within Airflow's map limit, a
100-product source against that store stopped by the deletion guard's message, the report with
every batch landed, the report page's runs list, and sync_stock's planning of the levels. The
quarantine is as long as the catalog (every record's stock missing, with ``sync_inventory`` on).

Each stage runs in a process of its own, so its peak RSS is that stage's alone (Python, Airflow's
task SDK and the operator's imports included). It measures; nothing here asserts a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from medusa_sync.core.batching import MAX_INSTANCES
from medusa_sync.core.report import MAX_LISTED
from tests.stack import plan_scale

REPO = Path(__file__).resolve().parents[2]
PRODUCTS = 1_000_000
BATCH_SIZE = 20  # small batches: ~9,750 batch files, far over the map limit without grouping


MAX_RSS_MB = 300


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.stack.plan_scale", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return done.stdout


def _step(step: str, folder: Path, *args: str) -> dict:
    # The result is the last line; Airflow's task logger may print the operator's log lines first.
    line = _run(step, str(folder), *args).strip().splitlines()[-1]
    print(f"\n[{step} {folder.name}] {line}")
    return json.loads(line)


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("million")
    _run("write", str(folder), "--products", str(PRODUCTS))
    return folder


@pytest.fixture(scope="module")
def planned(million: Path) -> tuple[dict, Path]:
    return _step("plan", million, "--batch-size", str(BATCH_SIZE)), million / "run"


@pytest.fixture(scope="module")
def reported(planned: tuple[dict, Path]) -> dict:
    return _step("report", planned[1].parent)


def test_a_million_products_are_planned_exactly(planned):
    result, _ = planned
    expected = plan_scale.expected(PRODUCTS)
    assert {key: result[key] for key in expected} == expected
    assert result["missing_acted_on"] == PRODUCTS // 20  # 5 %: drafted, within the deletion guard


def test_the_mapped_instances_stay_within_airflows_map_limit(planned):
    result, _ = planned
    items = result["create"] + result["update"] + result["missing_acted_on"]
    assert result["batches_planned"] == -(-items // BATCH_SIZE)
    assert result["batches_planned"] > MAX_INSTANCES
    assert result["descriptors"] == result["instances_planned"] <= MAX_INSTANCES


def test_compute_diff_peak_memory_stays_under_300_mb(planned):
    result, _ = planned
    assert result["peak_rss_mb"] <= MAX_RSS_MB


def test_every_item_is_in_exactly_one_batch_file_and_new_handles_are_unique(planned):
    result, run = planned
    kinds: Counter[str] = Counter()
    handles: list[str] = []
    files = sorted((run / "batches").iterdir())
    for path in files:
        batch = json.loads(path.read_text())
        assert 0 < len(batch["create"]) + len(batch["update"]) + len(batch["delete"]) <= BATCH_SIZE
        kinds.update(create=len(batch["create"]), update=len(batch["update"]), delete=len(batch["delete"]))
        handles.extend(item["handle"] for item in batch["create"])
    assert len(files) == result["batches_planned"]
    assert kinds == {
        "create": result["create"],
        "update": result["update"] + result["missing_acted_on"],  # a draft is an update
        "delete": 0,
    }
    assert len(set(handles)) == len(handles) == result["create"]
    new = set(handles)
    with open(run.parent / "store.jsonl") as store:
        taken = [h for line in store if (h := json.loads(line)["handle"]) in new]
    assert taken == []  # no new product takes a handle a store product holds


def test_a_100_product_source_against_the_million_fails_on_the_guard_message_within_300_mb(million):
    result = _step("guard", million)
    assert result["missing_action"] == "blocked by the deletion guard"
    assert result["status"] == "failed"
    # The source's 100 are new to the store (its first 5 % of ids are): all million look gone.
    assert "deletion guard: draft 1000000 of 1000000 synced products (100.0 %) is over" in " ".join(
        result["failed_because"]
    )
    assert result["missing_upstream"] == PRODUCTS
    assert result["missing_listed"] == MAX_LISTED  # the plan lists the first, and counts them all
    assert result["peak_rss_mb"] <= MAX_RSS_MB


def test_the_report_counts_every_product_and_lists_the_first_within_300_mb(planned, reported):
    plan, _ = planned
    assert reported["status"] == "success"
    assert reported["result_files"] == plan["batches_planned"]
    assert reported["batch_lines"] == plan["instances_planned"]
    # Every update was rejected (synthetic results): the report counts them all, lists the first.
    assert reported["products"] == {
        "created": plan["create"],
        "rejected": plan["update"] + plan["missing_acted_on"],
        "unchanged": plan["unchanged"],
    }
    assert reported["quarantined"] == PRODUCTS
    assert reported["listed"] == {"quarantine": MAX_LISTED, "rejected": MAX_LISTED}
    assert reported["peak_rss_mb"] <= MAX_RSS_MB


def test_the_report_pages_runs_list_reads_many_million_product_runs_within_300_mb(reported, million):
    result = _step("page", million, "--runs", "25")
    # Every run's row has the whole quarantine's count (the catalog's from its report, the stock
    # run's from fetch.json), though no report lists more than the first MAX_LISTED.
    assert result["quarantined_counted"] == {"medusa_product_sync": 25, "medusa_stock_sync": 25}
    assert result["peak_rss_mb"] <= MAX_RSS_MB


def test_sync_stock_plans_a_million_levels_exactly_within_300_mb(million):
    result = _step("stock", million)
    expected = plan_scale.expected_levels(PRODUCTS)
    assert {key: result[key] for key in expected} == expected
    assert result["chunked"] == {"create": expected["planned_create"], "update": expected["planned_update"]}
    assert result["peak_rss_mb"] <= MAX_RSS_MB


ONE_TITLE = 100_000


def test_a_first_sync_of_100000_products_with_one_title_gives_each_its_own_handle(tmp_path):
    # A marketplace's "Phone Case" a hundred thousand times: handles are allocated in linear time.
    _run("write", str(tmp_path), "--products", str(ONE_TITLE), "--title", "Phone Case", "--first-sync")
    result = _step("plan", tmp_path, "--batch-size", "500")
    assert (result["create"], result["update"], result["unchanged"]) == (ONE_TITLE, 0, 0)
    handles = [
        item["handle"]
        for path in (tmp_path / "run" / "batches").iterdir()
        for item in json.loads(path.read_text())["create"]
    ]
    assert len(set(handles)) == len(handles) == ONE_TITLE
    assert {"phone-case", "phone-case-1", f"phone-case-{ONE_TITLE - 1}"} <= set(handles)
