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
