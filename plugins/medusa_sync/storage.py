"""The run folder: where each stage leaves its data for the next, on any ObjectStoragePath.

XCom only ever carries the folder's URL and counts; the products themselves live here, one file
per page or batch, so no stage needs the whole catalog in memory or in the metadata database.
"""

from __future__ import annotations

import json
import os
from typing import Any

from airflow.sdk import ObjectStoragePath

STORAGE_VARIABLE = "medusa_sync_storage_url"


def default_storage_url() -> str:
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return f"file://{os.path.abspath(home)}/medusa_sync_runs"


class RunFolder:
    """``<storage url>/<dag_id>/<run_id>/`` and the names of the files the stages exchange."""

    def __init__(self, root: str | ObjectStoragePath) -> None:
        self.root = root if isinstance(root, ObjectStoragePath) else ObjectStoragePath(root)

    @classmethod
    def for_run(cls, storage_url: str, dag_id: str, run_id: str) -> RunFolder:
        return cls(ObjectStoragePath(storage_url.rstrip("/")) / dag_id / run_id)

    @classmethod
    def of_file(cls, path: str) -> RunFolder:
        """The folder holding a stage file such as ``<run folder>/batches/batch-00001.json``."""
        return cls(ObjectStoragePath(path).parent.parent)

    @property
    def url(self) -> str:
        return str(self.root)

    # --- file names -------------------------------------------------------------------------
    def page(self, number: int) -> ObjectStoragePath:
        return self.root / "pages" / f"page-{number:05d}.json"

    def pages(self) -> list[ObjectStoragePath]:
        return self._listing("pages")

    @property
    def fetch(self) -> ObjectStoragePath:
        return self.root / "fetch.json"

    @property
    def quarantine(self) -> ObjectStoragePath:
        return self.root / "quarantine.json"

    @property
    def source_categories(self) -> ObjectStoragePath:
        return self.root / "source_categories.json"

    @property
    def taxonomy(self) -> ObjectStoragePath:
        return self.root / "taxonomy.json"

    @property
    def plan(self) -> ObjectStoragePath:
        return self.root / "plan.json"

    def batch(self, number: int) -> ObjectStoragePath:
        return self.root / "batches" / f"batch-{number:05d}.json"

    def batches(self) -> list[ObjectStoragePath]:
        return self._listing("batches")

    def results(self) -> list[ObjectStoragePath]:
        return self._listing("results")

    def batch_group(self, first_path: str | ObjectStoragePath, count: int) -> list[ObjectStoragePath]:
        """``count`` consecutive batch files from ``first_path`` (``batch-00006.json`` …)."""
        first = int(ObjectStoragePath(str(first_path)).stem.rsplit("-", 1)[1])
        return [self.batch(first + n) for n in range(count)]

    def result_for_group(self, first_path: str | ObjectStoragePath, count: int) -> list[ObjectStoragePath]:
        return [self.result_for(path) for path in self.batch_group(first_path, count)]

    def result_for(self, batch_path: str | ObjectStoragePath) -> ObjectStoragePath:
        return self.root / "results" / ObjectStoragePath(str(batch_path)).name

    @property
    def report(self) -> ObjectStoragePath:
        return self.root / "report.json"

    def clear(self) -> int:
        """Delete every file in the folder (a fresh attempt of the run); returns how many."""
        if not self.root.exists():
            return 0
        removed = 0
        for path in list(self.root.rglob("*")):
            if path.is_file():
                path.unlink()
                removed += 1
        return removed

    def _listing(self, folder: str) -> list[ObjectStoragePath]:
        path = self.root / folder
        if not path.exists():
            return []
        # By number: page-100000.json comes after page-99999.json (five digits are only a minimum).
        return sorted(
            (p for p in path.iterdir() if p.name.endswith(".json")), key=lambda p: (len(p.name), p.name)
        )


def write_json(path: ObjectStoragePath, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def read_json(path: str | ObjectStoragePath) -> Any:
    target = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
    return json.loads(target.read_text())
