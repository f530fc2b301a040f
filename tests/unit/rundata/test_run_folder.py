import time
from datetime import UTC, datetime

import pytest
from airflow.sdk.exceptions import AirflowFailException

from medusa_sync.rundata.run_folder import RunFolder, RunStorageError, display_url, read_json, write_json


def test_pages_and_batches_are_listed_in_number_order_past_five_digits(tmp_path):
    folder = RunFolder(f"file://{tmp_path}")
    for number in (100_000, 2, 99_999, 10_001, 1):
        write_json(folder.page(number), [number])
        write_json(folder.batch(number), {"create": [number]})
    assert [read_json(p) for p in folder.pages()] == [[1], [2], [10_001], [99_999], [100_000]]
    assert [read_json(p)["create"] for p in folder.batches()] == [[1], [2], [10_001], [99_999], [100_000]]


def test_a_group_of_batch_files_crosses_the_five_digit_boundary(tmp_path):
    folder = RunFolder(f"file://{tmp_path}")
    group = folder.batch_group(str(folder.batch(99_999)), 3)
    assert [p.name for p in group] == ["batch-99999.json", "batch-100000.json", "batch-100001.json"]


def test_an_unusable_storage_fails_at_once_naming_the_url_but_no_password(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the run folder should go")
    folder = RunFolder(f"file://{blocked}/medusa_product_sync/run-1")
    with pytest.raises(RunStorageError) as raised:
        folder.start_attempt({"try_number": 1})
    assert f"run storage file://{blocked}/medusa_product_sync/run-1 is not usable" in str(raised.value)
    assert isinstance(raised.value, AirflowFailException)  # no retries for a configuration error


def test_urls_in_messages_keep_the_connection_id_but_never_a_password():
    assert display_url("s3://aws_runs@bucket/prefix") == "s3://aws_runs@bucket/prefix"
    assert display_url("s3://key:secret@bucket/prefix") == "s3://***@bucket/prefix"


def test_a_file_is_written_whole_or_not_at_all(tmp_path):
    folder = RunFolder(f"file://{tmp_path}")
    write_json(folder.plan, {"create": 1})
    with pytest.raises(TypeError):
        write_json(folder.plan, {"create": object()})  # fails while encoding
    assert read_json(folder.plan) == {"create": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


# --- Retention: old run folders go, the newest successful run's and the running one's stay.

OLD_RUNS = {  # run id: its report's status (None: no report, the run never got that far)
    "scheduled__2026-11-01T00:00:00+00:00": "success",
    "scheduled__2026-11-02T00:00:00+00:00": "success",
    "scheduled__2026-11-03T00:00:00+00:00": "success",
    "manual__2026-11-03T12:00:00.123456+00:00": "failed",
    "scheduled__2026-11-04T00:00:00+00:00": None,
}
RUNNING = "manual__2026-12-01T02:00:00+00:00"


def old_runs(storage_url: str, dag_id: str = "medusa_product_sync") -> RunFolder:
    """Five old runs of a DAG (three successful, one failed, one that never reported), the DAG's
    newest-plan marker, and the folder of the run that is running now, which it returns."""
    for run_id, status in OLD_RUNS.items():
        folder = RunFolder.for_run(storage_url, dag_id, run_id)
        folder.start_attempt({"try_number": 1})
        write_json(folder.page(1), [{"id": 1}])
        if status:
            write_json(folder.report, {"status": status})
    running = RunFolder.for_run(storage_url, dag_id, RUNNING)
    running.start_attempt({"try_number": 1})
    write_json(running.newest_plan, {"run_id": RUNNING, "fetched_at": "2026-12-01T02:00:00+00:00"})
    return running


def run_ids(folder: RunFolder) -> list[str]:
    return sorted(p.name for p in folder.root.parent.iterdir() if p.is_dir())


def test_at_zero_days_only_the_running_and_the_newest_successful_run_keep_their_folders(tmp_path):
    running = old_runs(f"file://{tmp_path}")
    removed = running.prune_older_runs(0)
    assert sorted(removed) == sorted(set(OLD_RUNS) - {"scheduled__2026-11-03T00:00:00+00:00"})
    assert run_ids(running) == [RUNNING, "scheduled__2026-11-03T00:00:00+00:00"]
    assert running.newest_plan.exists() and running.attempt.exists()
    assert not list(tmp_path.glob("medusa_product_sync/scheduled__2026-11-01*"))  # no empty folder left


def test_only_runs_started_before_the_retention_go(tmp_path):
    running = old_runs(f"file://{tmp_path}")
    now = datetime(2026, 12, 2, 12, tzinfo=UTC).timestamp()  # 30 days back: 2026-11-02T12:00
    assert sorted(running.prune_older_runs(30, now=now)) == [
        "scheduled__2026-11-01T00:00:00+00:00",
        "scheduled__2026-11-02T00:00:00+00:00",
    ]


def test_a_folder_whose_run_id_tells_no_time_is_dated_by_its_last_attempt(tmp_path):
    running = old_runs(f"file://{tmp_path}")
    custom = RunFolder.for_run(f"file://{tmp_path}", "medusa_product_sync", "nightly-catch-up")
    custom.start_attempt({"try_number": 1})
    assert "nightly-catch-up" not in running.prune_older_runs(1)  # started seconds ago
    assert "nightly-catch-up" in running.prune_older_runs(0, now=time.time() + 60)


def test_the_quarantine_is_written_in_parts_as_it_grows_and_read_back_in_order(tmp_path, monkeypatch):
    from medusa_sync.core.completeness import FetchAudit
    from medusa_sync.core.validation import StockValidator
    from medusa_sync.rundata.run_folder import PageFileWriter

    monkeypatch.setattr(PageFileWriter, "QUARANTINE_PART", 3)
    folder = RunFolder(f"file://{tmp_path}")
    writer = PageFileWriter(folder, StockValidator(), FetchAudit())
    for skip in (0, 4):  # two pages of four records, none with a stock
        records = [{"id": n} for n in range(skip + 1, skip + 5)]
        writer.add({"products": records, "skip": skip, "limit": 4, "total": 8})
        assert len(writer._pending) < 3  # a full part is written at once, not kept
    summary = writer.close(started_at="2026-12-01T00:00:00+00:00")
    assert summary["quarantined"] == 8
    parts = sorted(p.name for p in (tmp_path / "quarantine").iterdir())
    assert parts == ["part-00001.json", "part-00002.json", "part-00003.json"]
    assert [q["source_id"] for q in folder.quarantined()] == [str(n) for n in range(1, 9)]
    assert [q["source_id"] for q in folder.quarantined(limit=4)] == ["1", "2", "3", "4"]
    assert {q["reason"] for q in folder.quarantined()} == {"stock: missing"}


def test_a_stock_fetch_keeps_its_valid_records_as_plain_data(tmp_path):
    from medusa_sync.core.completeness import FetchAudit
    from medusa_sync.core.validation import StockValidator
    from medusa_sync.rundata.run_folder import PageFileWriter

    folder = RunFolder(f"file://{tmp_path}")
    writer = PageFileWriter(folder, StockValidator(), FetchAudit())
    writer.add(
        {
            "products": [{"id": 1, "stock": 5, "title": "not kept"}, {"id": 2}],
            "skip": 0,
            "limit": 2,
            "total": 2,
        }
    )
    summary = writer.close(started_at="2026-12-01T00:00:00+00:00")
    assert (summary["valid"], summary["quarantined"]) == (1, 1)
    assert list(folder.records()) == [{"id": 1, "stock": 5}]


def test_a_folder_an_earlier_version_wrote_still_gives_its_quarantine(tmp_path):
    folder = RunFolder(f"file://{tmp_path}")
    write_json(folder.root / "quarantine.json", [{"source_id": "7", "reason": "price: -1 is negative"}])
    assert [q["source_id"] for q in folder.quarantined()] == ["7"]


def test_the_fetch_notes_the_categories_and_tags_its_records_use_as_it_writes_them(tmp_path, record):
    from medusa_sync.core.completeness import FetchAudit
    from medusa_sync.core.validation import Validator
    from medusa_sync.rundata.run_folder import PageFileWriter

    folder = RunFolder(f"file://{tmp_path}")
    writer = PageFileWriter(folder, Validator(), FetchAudit())
    first = dict(record, id=1, category="beauty", tags=["mascara", "beauty"], sku="A-1")
    second = dict(record, id=2, category="fragrances", tags=["beauty", "perfume"], sku="A-2", meta={})
    writer.add({"products": [first], "skip": 0, "limit": 1, "total": 2})
    writer.add({"products": [second], "skip": 1, "limit": 1, "total": 2})
    writer.close(started_at="2026-12-01T00:00:00+00:00")
    assert read_json(folder.needed_taxonomy) == {
        "categories": ["beauty", "fragrances"],
        "tags": ["mascara", "beauty", "perfume"],
    }
