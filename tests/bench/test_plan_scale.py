"""No wall at a million products: compute_diff plans a synthetic 1,000,000-product catalog against a
synthetic store of 1,000,000 (no Medusa needed) within Airflow's map limit and 300 MB.

The planning runs in a process of its own, so its peak RSS is compute_diff's alone (Python, Airflow's
task SDK and the operator's imports included). It measures; nothing here asserts a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from devstack import plan_scale
from medusa_sync.core.batching import MAX_INSTANCES

REPO = Path(__file__).resolve().parents[2]
PRODUCTS = 1_000_000
BATCH_SIZE = 20  # small batches: ~9,750 batch files, far over the map limit without grouping


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "devstack.plan_scale", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return done.stdout


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    folder = tmp_path_factory.mktemp("million")
    _run("write", str(folder), "--products", str(PRODUCTS))
    # The result is the last line; Airflow's task logger may print the operator's log lines first.
    line = _run("plan", str(folder), "--batch-size", str(BATCH_SIZE)).strip().splitlines()[-1]
    print(f"\n[plan 1M] {line}")
    return json.loads(line), folder / "run"


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
    assert result["peak_rss_mb"] <= 300


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
