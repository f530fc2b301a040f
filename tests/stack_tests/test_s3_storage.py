"""The run folder on a real S3 API (moto's server in its own process), as the Celery workers use it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from medusa_sync.core.newest_plan import PlanClaim
from medusa_sync.rundata.run_folder import RunFolder, RunStorageError, read_json, write_json
from tests.stack.s3_server import S3Server
from tests.unit.rundata.test_run_folder import RUNNING, old_runs

CONN_ID = "aws_runs_unit"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with S3Server(tmp_path_factory.mktemp("s3") / "moto.log") as server:
        server.create_bucket("runs")
        yield server


@pytest.fixture
def aws_connection(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(s3.connection()))


def test_a_run_folder_lives_in_the_bucket_under_the_storage_prefix(s3, aws_connection):
    folder = RunFolder.for_run(s3.storage_url(CONN_ID, "runs"), "dag", "run-1")
    assert folder.start_attempt({"try_number": 1}) == 0
    for number in (2, 1):
        write_json(folder.page(number), [number])
    write_json(folder.plan, {"create": 3})
    assert s3.keys("runs", "medusa-sync/dag/run-1/") == [
        "medusa-sync/dag/run-1/attempt.json",
        "medusa-sync/dag/run-1/pages/page-00001.json",
        "medusa-sync/dag/run-1/pages/page-00002.json",
        "medusa-sync/dag/run-1/plan.json",
    ]
    assert [read_json(p) for p in folder.pages()] == [[1], [2]]
    # A second attempt starts from an empty folder: nothing of the first passes for its data.
    assert folder.start_attempt({"try_number": 2}) == 4
    assert s3.keys("runs", "medusa-sync/dag/run-1/") == ["medusa-sync/dag/run-1/attempt.json"]
    assert s3.read_json("runs", "medusa-sync/dag/run-1/attempt.json") == {"try_number": 2}


def test_a_missing_bucket_fails_the_attempt_naming_it_and_is_not_created(s3, aws_connection):
    url = s3.storage_url(CONN_ID, "no-such-bucket")
    folder = RunFolder.for_run(url, "dag", "run-1")
    with pytest.raises(RunStorageError) as raised:
        folder.start_attempt({"try_number": 1})
    message = str(raised.value)
    assert f"run storage {url}/dag/run-1 is not usable" in message
    assert "bucket does not exist" in message
    assert s3.secret_key not in message
    assert "no-such-bucket" not in s3.buckets()


def test_the_newest_plan_marker_is_one_object_per_dag_on_s3(s3, aws_connection):
    url = s3.storage_url(CONN_ID, "runs")
    monday = RunFolder.for_run(url, "dag", "monday")
    tuesday = RunFolder.for_run(url, "dag", "tuesday")
    assert monday.read_newest_plan() is None  # a fresh storage: no run has planned yet

    assert monday.claim_newest_plan(PlanClaim("monday", "2026-11-23T00:00:01+00:00")) is None
    newer = PlanClaim("tuesday", "2026-11-24T00:00:01+00:00")
    assert tuesday.claim_newest_plan(newer) is None
    assert monday.claim_newest_plan(PlanClaim("monday", "2026-11-23T00:00:01+00:00")) == newer
    assert s3.read_json("runs", "medusa-sync/dag/newest_plan.json") == newer.to_json()
    assert monday.read_newest_plan() == newer


def test_retention_on_s3_leaves_the_running_and_the_newest_successful_run(s3, aws_connection):
    running = old_runs(s3.storage_url(CONN_ID, "runs"), dag_id="retention")
    custom = RunFolder.for_run(s3.storage_url(CONN_ID, "runs"), "retention", "nightly-catch-up")
    custom.start_attempt({"try_number": 1})  # dated by its attempt.json's LastModified on S3

    running.prune_older_runs(0, now=time.time() + 60)

    kept = sorted({key.split("/")[2] for key in s3.keys("runs", "medusa-sync/retention/")})
    assert kept == [RUNNING, "newest_plan.json", "scheduled__2026-11-03T00:00:00+00:00"]
