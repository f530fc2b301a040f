"""The run folder: where each stage leaves its data for the next, on any ObjectStoragePath.

XCom only ever carries the folder's URL and counts; the products themselves live here, one file
per page or batch, so no stage needs the whole catalog in memory or in the metadata database.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowFailException

from medusa_sync.core.batching import Batch, BatchBuilder, Kind, group_label, group_sizes
from medusa_sync.core.completeness import FetchAudit
from medusa_sync.core.mapping import DEFAULT_EXTERNAL_ID_PREFIX, TaxonomyNeeds
from medusa_sync.core.models import BatchDescriptor
from medusa_sync.core.newest_plan import PlanClaim, may_claim
from medusa_sync.core.report import merge_results
from medusa_sync.core.stock import raised_watermark
from medusa_sync.core.validation import Validator

STORAGE_VARIABLE = "medusa_sync_storage_url"

log = logging.getLogger(__name__)


class RunStorageError(AirflowFailException):
    """The run storage cannot be used (a missing bucket, wrong credentials): nothing can be synced.

    A configuration error, so the task fails without burning its retries on it.
    """


def display_url(url: str) -> str:
    """The URL as logs and errors may show it: a connection id stays, a ``user:password@`` goes."""
    return re.sub(r"(?<=://)[^/@\s:]*:[^/@\s]*@", "***@", url)


def unusable_storage(url: str, exc: BaseException) -> RunStorageError:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return RunStorageError(
        f"run storage {display_url(url)} is not usable: {type(exc).__name__}: {detail}. "
        "Check the bucket exists and the connection's credentials (Variable "
        f"{STORAGE_VARIABLE} names the storage, and the connection id in it)"
    )


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

    def records(self) -> Iterator[dict[str, Any]]:
        """Every valid record the fetch kept, one page file in memory at a time."""
        for page in self.pages():
            yield from read_json(page)

    def first_source_id(self) -> str | None:
        """The source id of the first record the fetch kept: a product the source surely has."""
        return next((str(record["id"]) for record in self.records()), None)

    def external_id_prefix(self) -> str:
        """The external id prefix this run's fetch decided (its source format's, or the configured
        one), which every later stage of the run uses; a folder an earlier version's fetch wrote
        was DummyJSON's."""
        return (read_optional_json(self.fetch) or {}).get("external_id_prefix") or DEFAULT_EXTERNAL_ID_PREFIX

    def fetched_at(self) -> str | None:
        """When this run's fetch started reading the source; None for a folder no fetch wrote."""
        return (read_optional_json(self.fetch) or {}).get("started_at")

    @property
    def fetch(self) -> ObjectStoragePath:
        return self.root / "fetch.json"

    def quarantine_part(self, number: int) -> ObjectStoragePath:
        return self.root / "quarantine" / f"part-{number:05d}.json"

    def quarantined(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """The records the fetch quarantined, each with its reason, one part file in memory at a
        time; ``limit``: only the first ones (what a report lists). A folder an earlier version
        wrote has them in one ``quarantine.json``."""
        parts = self._listing("quarantine") or [p for p in [self.root / "quarantine.json"] if p.exists()]
        entries = (entry for part in parts for entry in read_json(part))
        return entries if limit is None else islice(entries, limit)

    @property
    def needed_taxonomy(self) -> ObjectStoragePath:
        """The categories and tags the fetched records use (``TaxonomyNeeds``)."""
        return self.root / "needed_taxonomy.json"

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

    def landed_results(
        self, plan: dict[str, Any] | None, landed: Callable[[int], bool]
    ) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """Each mapped instance's label and result (its files merged), read one instance at a time:
        None unless ``landed`` says the instance succeeded in this run and every one of its result
        files is there."""
        for index, descriptor in enumerate((plan or {}).get("batches", [])):
            paths = self.result_for_group(descriptor["batch_path"], descriptor.get("batch_count", 1))
            ok = landed(index) and all(p.exists() for p in paths)
            yield descriptor["batch_label"], merge_results(map(read_json, paths)) if ok else None

    def result_for(self, batch_path: str | ObjectStoragePath) -> ObjectStoragePath:
        return self.root / "results" / ObjectStoragePath(str(batch_path)).name

    @property
    def stock(self) -> ObjectStoragePath:
        """What ``sync_stock`` did: the level writes and why others were not made."""
        return self.root / "stock.json"

    @property
    def stock_watermark(self) -> ObjectStoragePath:
        """Beside every DAG's runs: when the source was read for the newest stock planned for real
        (set before its first level write), so a run replayed later never writes an older stock
        over a newer one."""
        return self.root.parent.parent / "stock_watermark.json"

    def read_stock_watermark(self) -> dict[str, Any] | None:
        return read_optional_json(self.stock_watermark)

    def raise_stock_watermark(self, fetched_at: str, *, dag_id: str, run_id: str) -> None:
        """Move the watermark forward to this read (never back). Read, then write, without a lock:
        the two DAGs' stock writers never run at once (``sync_stock`` takes the whole pool)."""
        raised = raised_watermark(self.read_stock_watermark(), fetched_at, dag_id=dag_id, run_id=run_id)
        if raised is not None:
            write_json(self.stock_watermark, raised)

    @property
    def newest_plan(self) -> ObjectStoragePath:
        """Beside this DAG's run folders: the run that planned against the store last, and when it
        read the source (see ``newest_plan``); its batches are the only ones still sent."""
        return self.root.parent / "newest_plan.json"

    def read_newest_plan(self) -> PlanClaim | None:
        """The DAG's marker, or None on a storage where no run has planned yet."""
        held = read_optional_json(self.newest_plan)
        return PlanClaim.from_json(held) if held is not None else None

    def claim_newest_plan(self, claim: PlanClaim) -> PlanClaim | None:
        """Write ``claim`` as the DAG's newest plan unless a run that read the source later holds
        it; returns the holder that kept it (None when ``claim`` took it).

        Read, then write, without a lock: the DAG runs one at a time (``max_active_runs=1``), so no
        two plans of it race for the marker. A whole-file write (``write_json``) on S3 too.
        """
        held = self.read_newest_plan()
        if not may_claim(held, claim):
            log.warning(
                "run %s read the source later (%s) than run %s (%s) and planned since: the batches of "
                "%s will be reported superseded, none sent",
                held.run_id,
                held.fetched_at,
                claim.run_id,
                claim.fetched_at,
                claim.run_id,
            )
            return held
        write_json(self.newest_plan, claim.to_json())
        return None

    @property
    def report(self) -> ObjectStoragePath:
        return self.root / "report.json"

    @property
    def skipped(self) -> ObjectStoragePath:
        """Why a stock run wrote nothing on purpose (a catalog run was in progress)."""
        return self.root / "skipped.json"

    @property
    def attempt(self) -> ObjectStoragePath:
        return self.root / "attempt.json"

    def start_attempt(self, marker: dict[str, Any]) -> int:
        """Empty the folder and write ``attempt.json``: proves the storage is writable before any
        work is done, failing at once with ``RunStorageError``. Returns the files removed.

        ``store/`` stays: ``read_store`` writes it while the source is fetched, and replaces it
        whole on each of its own attempts."""
        try:
            removed = self.clear(keep=("store",))
            write_json(self.attempt, marker)
        except Exception as exc:
            raise unusable_storage(self.url, exc) from None
        if removed:
            log.info(
                "removed %d files an earlier attempt of this run left in %s", removed, display_url(self.url)
            )
        return removed

    def prune_older_runs(self, keep_days: float, *, now: float | None = None) -> list[str]:
        """Remove the folders of this DAG's other runs started more than ``keep_days`` ago; returns
        their run ids. Kept whatever their age: this run's folder, the newest run that succeeded
        (``succeeded``), and a folder that cannot be dated. With ``max_active_runs=1`` no other
        run of the DAG is running while this one is."""
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        others = sorted(
            (
                (started, path)
                for path in self.root.parent.iterdir()
                if path.name != self.root.name
                and path.is_dir()
                and (started := run_started(path)) is not None
            ),
            key=lambda pair: pair[0],
            reverse=True,
        )
        newest_success = next((path for _, path in others if succeeded(path)), None)
        removed = []
        for started, path in others:
            if started < cutoff and path != newest_success:
                path.rmdir(recursive=True)
                removed.append(path.name)
        if removed:
            log.info(
                "removed the folders of %d runs started over %g days ago ([medusa_sync] retention_days): %s",
                len(removed),
                keep_days,
                ", ".join(removed),
            )
        return removed

    def clear_plan(self) -> None:
        """Remove the batch and result files of an earlier plan: a rerun replans from scratch."""
        for stale in [*self.batches(), *self.results()]:
            stale.unlink()

    def clear(self, keep: tuple[str, ...] = ()) -> int:
        """Delete every file in the folder but those in the ``keep`` subfolders; returns how many."""
        if not self.root.exists():
            return 0
        kept = [self.root / name for name in keep]
        removed = 0
        for path in list(self.root.rglob("*")):
            if path.is_file() and not any(path.is_relative_to(k) for k in kept):
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


# A run id Airflow made: ``scheduled__2026-12-01T00:00:00+00:00``, ``manual__2026-12-01T02:59:38.29+00:00``.
_RUN_ID_TIME = re.compile(r"__(\d{4}-\d{2}-\d{2}T[\d:.]+(?:[+-]\d{2}:\d{2}|Z)?)$")


def run_started(folder: ObjectStoragePath) -> float | None:
    """When a run folder's run started (seconds since the epoch): the time in its run id, else when
    its last attempt began (``attempt.json``); None when neither tells."""
    if match := _RUN_ID_TIME.search(folder.name):
        try:
            moment = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        except ValueError:
            pass
    attempt = folder / "attempt.json"
    return attempt.stat().st_mtime if attempt.exists() else None


def succeeded(folder: ObjectStoragePath) -> bool:
    """A catalog run whose report says success, or a stock run (no report) that wrote ``stock.json``."""
    report = read_optional_json(folder / "report.json")
    return report.get("status") == "success" if report is not None else (folder / "stock.json").exists()


def write_json(path: ObjectStoragePath, data: Any) -> None:
    """Write a whole file or nothing: a reader never sees half of one.

    An object store's PUT is atomic; on a local disk the text goes to a temporary name first.
    Object stores have no folders to make, and s3fs's ``mkdir`` would *create* a missing bucket
    (so a misnamed bucket would pass for a good one): only local paths get their parents made.
    """
    write_text(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def write_text(path: ObjectStoragePath, text: str) -> None:
    """``write_json``'s write, for a text that is JSON already."""
    if path.protocol not in ("file", "local", ""):
        path.write_text(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    local = path.path
    partial = f"{local}.partial"
    with open(partial, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, local)


def read_json(path: str | ObjectStoragePath) -> Any:
    target = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
    return json.loads(target.read_text())


def read_optional_json(path: ObjectStoragePath) -> Any:
    """The file's content, or None when there is no such file."""
    return read_json(path) if path.exists() else None


class PageFileWriter:
    """Writes the fetch as it is read, one file of valid records per source page, so memory holds
    one page at a time: each page validated (``Validator``) and audited for completeness
    (``FetchAudit``); the quarantine goes to ``quarantine/part-NNNNN.json`` files of up to
    ``QUARANTINE_PART`` records as it grows. ``close`` returns the fetch's summary (``fetch.json``'s
    content)."""

    QUARANTINE_PART = 10_000
    # Quarantined records logged one by one; the rest are counted (all are in ``quarantine/``).
    LOGGED = 100

    def __init__(self, folder: RunFolder, validator: Validator, audit: FetchAudit) -> None:
        self.folder = folder
        self.validator = validator
        self.audit = audit
        self.pages = self.valid = self.quarantined = self.parts = 0
        self._pending: list[dict[str, Any]] = []
        self.taxonomy = TaxonomyNeeds()
        # The categories and tags the last page's records used that no page before it did.
        self.newly_needed = TaxonomyNeeds()

    def add(self, page: dict[str, Any]) -> str:
        """One page from ``CatalogSourceHook.iter_pages``; returns a line for the task log."""
        good, bad = self.validator.validate(page["products"])
        # Records the source adapter could not convert were read too: they count, and are quarantined.
        rejected = page.get("rejected") or []
        count = len(page["products"]) + len(rejected)
        if page.get("paging") in ("page", "link"):
            self.audit.numbered_page(
                number=page["page"],
                limit=page["limit"],
                count=count,
                has_next=page.get("has_next") if page["paging"] == "link" else None,
                error=page.get("error"),
            )
        else:
            self.audit.page(
                skip=page["skip"],
                limit=page["limit"],
                count=count,
                total=page["total"],
                error=page.get("error"),
            )
        if page.get("error"):
            self._quarantine({"source_id": None, "reason": self.audit.reasons[-1]})
        for entry in rejected:
            self._quarantine(entry)
        self.pages += 1
        records = [p.kept() for p in good]
        write_json(self.folder.page(self.pages), records)
        self.newly_needed = self.taxonomy.add(records)
        self.valid += len(good)
        for q in bad:
            self._quarantine(q.model_dump())
        of = f"of {page['total']} " if page.get("paging") is None else ""
        return (
            f"page {self.pages} at skip={page['skip']}: {count} records "
            f"({self.audit.read} {of}read), {len(bad) + len(rejected)} quarantined"
        )

    def _quarantine(self, item: dict[str, Any]) -> None:
        self.quarantined += 1
        if self.quarantined <= self.LOGGED:
            log.warning("quarantined source id %s: %s", item["source_id"], item["reason"])
        self._pending.append(item)
        if len(self._pending) == self.QUARANTINE_PART:
            self._flush_quarantine()

    def _flush_quarantine(self) -> None:
        if self._pending:
            self.parts += 1
            write_json(self.folder.quarantine_part(self.parts), self._pending)
            self._pending = []

    def close(self, *, started_at: str) -> dict[str, Any]:
        self._flush_quarantine()
        write_json(self.folder.needed_taxonomy, self.taxonomy.to_json())
        if self.quarantined > self.LOGGED:
            log.warning(
                "%d more records quarantined, each with its reason in %s",
                self.quarantined - self.LOGGED,
                display_url(str(self.folder.root / "quarantine")),
            )
        incomplete = self.audit.finish(self.validator.repeated_ids)
        for reason in incomplete:
            log.warning("incomplete fetch, no product will be treated as missing upstream: %s", reason)
        log.info(
            "fetched %d records in %d pages: %d valid, %d quarantined, %s",
            self.audit.read,
            self.pages,
            self.valid,
            self.quarantined,
            "partial" if incomplete else "complete",
        )
        return {
            "run_folder": self.folder.url,
            "started_at": started_at,
            "pages": self.pages,
            "fetched": self.audit.read,
            "valid": self.valid,
            "quarantined": self.quarantined,
            "partial": bool(incomplete),
            "incomplete_because": incomplete,
        }


class BatchFileWriter:
    """Cuts planned items into batch files of the run folder as they come, so memory holds one
    batch at a time; ``close`` deals the files out to mapped instances (``core.batching``), in
    rounds of ``concurrency``, the instances a run sends at once."""

    def __init__(self, folder: RunFolder, builder: BatchBuilder, *, concurrency: int = 1) -> None:
        self.folder = folder
        self.builder = builder
        self.concurrency = concurrency
        self.written: list[tuple[str, Counter[str]]] = []

    def add(self, kind: Kind, item: Any, planned: dict[str, Any] | None = None) -> None:
        self._write(self.builder.add(kind, item, planned))

    def close(self) -> list[dict[str, Any]]:
        """Flush the last batch; one descriptor per mapped instance, with its files and label."""
        self._write(self.builder.flush())
        total, first, descriptors = len(self.written), 0, []
        for count in group_sizes(total, concurrency=self.concurrency):
            group = self.written[first : first + count]
            label = group_label(first + 1, count, total, [kinds for _, kinds in group])
            descriptors.append(BatchDescriptor(batch_path=group[0][0], batch_count=count, batch_label=label))
            first += count
        return [d.model_dump() for d in descriptors]

    def _write(self, batch: Batch | None) -> None:
        if batch is None:
            return
        path = self.folder.batch(len(self.written) + 1)
        # Its items as the builder encoded them: each is encoded once.
        write_text(path, batch.file_text())
        kinds = Counter(create=len(batch.create), update=len(batch.update), delete=len(batch.delete))
        self.written.append((str(path), kinds))
