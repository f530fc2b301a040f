"""The newest decision wins: once a run that read the source later has planned, no batch of an
older run is sent; order is by the source read, so an old run replanning old data never wins."""

from __future__ import annotations

from medusa_sync.core.batch_outcome import BatchOutcome
from medusa_sync.core.batching import Batch
from medusa_sync.core.newest_plan import PlanClaim, may_claim, superseded_by
from medusa_sync.rundata.run_folder import RunFolder

MONDAY, TUESDAY = "2026-11-23T00:00:01.250000+00:00", "2026-11-24T00:00:00.900000+00:00"
R1, R2 = PlanClaim("scheduled__monday", MONDAY), PlanClaim("scheduled__tuesday", TUESDAY)


def test_a_later_read_takes_the_marker_and_an_earlier_one_replanned_later_does_not():
    assert may_claim(None, R1)
    assert may_claim(R1, R2)
    assert not may_claim(R2, R1)  # R1's compute_diff cleared after R2: its data is older
    assert may_claim(R2, R2)  # R2's own retry


def test_a_run_cleared_from_its_fetch_reads_anew_and_wins():
    assert may_claim(R2, PlanClaim(R1.run_id, "2026-11-25T09:00:00+00:00"))


def test_every_batch_of_an_older_run_is_superseded_by_the_run_holding_the_marker():
    assert superseded_by(R2, R1.run_id, MONDAY) == R2.run_id
    assert superseded_by(R2, R2.run_id, TUESDAY) is None  # its own batches go out
    assert superseded_by(None, R1.run_id, MONDAY) is None  # a fresh storage: no marker yet


def test_a_marker_older_than_this_runs_read_does_not_hold_it_back():
    # Only plans made before markers existed leave such a state; that marker is not newer.
    assert superseded_by(R1, R2.run_id, TUESDAY) is None


def test_the_marker_is_one_file_per_dag_beside_its_run_folders(tmp_path):
    storage = f"file://{tmp_path}"
    monday = RunFolder.for_run(storage, "medusa_product_sync", R1.run_id)
    tuesday = RunFolder.for_run(storage, "medusa_product_sync", R2.run_id)
    other_dag = RunFolder.for_run(storage, "medusa_stock_sync", "hourly")
    assert monday.read_newest_plan() is None

    assert monday.claim_newest_plan(R1) is None
    assert tuesday.claim_newest_plan(R2) is None
    assert monday.claim_newest_plan(R1) == R2  # a cleared compute_diff of Monday keeps nothing
    assert monday.read_newest_plan() == R2
    assert (tmp_path / "medusa_product_sync" / "newest_plan.json").is_file()
    assert other_dag.read_newest_plan() is None


def test_a_superseded_batch_lists_every_item_creates_and_deletes_included_with_the_newer_run():
    batch = Batch()
    planned = {"updated_at": "t", "sync_hash": "h0"}
    batch.add("create", {"external_id": "dummyjson:9001", "metadata": {"sync_hash": "h"}})
    batch.add("update", {"id": "prod_42"}, planned={**planned, "external_id": "dummyjson:42"})
    batch.add("delete", "prod_7", planned={**planned, "external_id": "dummyjson:7"})
    outcome = BatchOutcome()

    outcome.supersede_all(batch, R2.run_id)

    result = outcome.to_json()
    assert [(s["action"], s["external_id"], s["superseded_by"]) for s in result["superseded"]] == [
        ("create", "dummyjson:9001", R2.run_id),
        ("update", "dummyjson:42", R2.run_id),
        ("delete", "dummyjson:7", R2.run_id),
    ]
    assert (result["created"], result["updated"], result["deleted"], result["requests"]) == (0, 0, 0, 0)
