"""An upsert instance sends its batch files in order, reading the next one while it sends, and
passes over a file an earlier attempt finished: its result stands and nothing is sent again."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from medusa_sync.operators.upsert_batch import UpsertBatchOperator
from medusa_sync.rundata.run_folder import RunFolder, read_json, write_json


class Sent:
    def __init__(self, created: int) -> None:
        self.created = created

    def to_json(self) -> dict[str, Any]:
        return {"created": self.created}


class Sender:
    """Stands in for ``BatchSender``: records each file it is given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def __call__(self, *_: Any, **__: Any) -> Sender:
        return self

    def send_file(self, batch: Any, *, name: str, retry: bool, newer_run: str | None) -> Sent:
        self.sent.append((name, len(batch.create)))
        return Sent(len(batch.create))


def test_files_are_sent_in_order_and_one_an_earlier_attempt_finished_is_not_sent_again(tmp_path, monkeypatch):
    folder = RunFolder.for_run(f"file://{tmp_path}", "medusa_product_sync", "run-1")
    write_json(folder.fetch, {"started_at": "2026-12-06T12:00:00+00:00"})
    for number, size in ((1, 2), (2, 3), (3, 1), (4, 4)):
        write_json(
            folder.batch(number), {"create": [{"external_id": f"x:{number}-{n}"} for n in range(size)]}
        )
    write_json(folder.result_for(folder.batch(2)), {"batch": str(folder.batch(2)), "created": 3})
    sender = Sender()
    reads: list[str] = []
    real_read = UpsertBatchOperator._read

    def counted_read(folder_: RunFolder, path: Any) -> Any:
        reads.append(f"{path.name} on {threading.current_thread().name.split('_')[0]}")
        return real_read(folder_, path)

    monkeypatch.setattr("medusa_sync.operators.upsert_batch.BatchSender", sender)
    monkeypatch.setattr("medusa_sync.operators.upsert_batch.MedusaHook", lambda **_: None)
    monkeypatch.setattr(UpsertBatchOperator, "_read", staticmethod(counted_read))
    operator = UpsertBatchOperator(task_id="upsert_batch", batch_path=str(folder.batch(1)), batch_count=4)
    context = {"ti": SimpleNamespace(try_number=1), "run_id": "run-1"}
    result = operator.execute(context)  # type: ignore[arg-type]

    assert sender.sent == [("batch-00001.json", 2), ("batch-00003.json", 1), ("batch-00004.json", 4)]
    assert result["files"] == 4 and result["created"] == 2 + 3 + 1 + 4
    assert [read_json(folder.result_for(folder.batch(n)))["created"] for n in (1, 3, 4)] == [2, 1, 4]
    # Each file read once; every one after the first by the reader thread, while the one before it
    # was being sent (the first has nothing to overlap with).
    assert sorted(reads, key=lambda read: read.split()[0]) == [
        "batch-00001.json on MainThread",
        *(f"batch-0000{n}.json on batch-file" for n in (2, 3, 4)),
    ]
