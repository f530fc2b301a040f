"""Run the stages of a sync on a synthetic catalog of any size against a synthetic store, without
Medusa or Airflow running. Each step is a process of its own, so its peak memory is that stage's
alone; each prints one JSON line:

    python -m tests.stack.plan_scale write DIR --products N   # run folder as fetch_pages and
                                                            # sync_categories leave it, plus the store
    python -m tests.stack.plan_scale plan DIR [--batch-size B] # compute_diff's planning (writes plan.json)
    python -m tests.stack.plan_scale guard DIR                 # compute_diff with a 100-product source
    python -m tests.stack.plan_scale report DIR                # every batch landed: the run report
    python -m tests.stack.plan_scale page DIR [--runs R]       # the report page's runs list, R runs
    python -m tests.stack.plan_scale stock DIR                 # sync_stock's planning of the levels
    python -m tests.stack.plan_scale all DIR --products N      # write, then every step (./dev scale)

The store (what ``MedusaHook.list_products`` would yield, one JSON object a line) is shifted 5 %
against the source: the first 5 % of source ids are new (creates), the last 5 % of the store is
gone upstream (drafted: within the deletion guard's 10 %), and every 10th product that both hold
has a stale hash (an update). The rest is unchanged. Every record is also quarantined for its stock,
as a source without stock is with ``sync_inventory`` on: the product still syncs, and the quarantine
is as long as the catalog. Each store product's inventory level: every 10th differs from the source
(an update), every 10th+5 has none (a create), every 100th+7 is not managed by inventory.

``--title T`` gives every product the same title (each new one needs its own handle), and
``--first-sync`` leaves the store empty: every product is a create.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from medusa_sync.core.handles import slugify
from medusa_sync.core.mapping import HASH_KEY, MappingContext, desired_product
from medusa_sync.core.models import SourceProduct
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.rundata.run_folder import PageFileWriter, RunFolder, read_json, write_json
from tests.stack.catalog_generator import CATEGORIES, iter_catalog

PAGE_SIZE = 100
SALES_CHANNEL = "sc_scale"
# The store's default shipping profile, as compute_diff finds it: without one, creates are held back.
SHIPPING_PROFILE = "sp_synthetic"
UPDATED_AT = "2026-11-01T00:00:00.000Z"
LOCATION = "sloc_scale"
PREFIX = "dummyjson:"
GUARD_SOURCE = 100  # products of the wrong-but-complete source the guard step plans


def taxonomy() -> dict[str, dict[str, str]]:
    tags = {tag for _, words in CATEGORIES.values() for tag in words}
    return {
        "categories": {slug: f"pcat_{slug}" for slug in CATEGORIES},
        "tags": {tag: f"ptag_{tag}" for tag in sorted(tags)},
    }


def context() -> MappingContext:
    tax = taxonomy()
    return MappingContext(
        sales_channel_id=SALES_CHANNEL,
        category_ids=tax["categories"],
        tag_ids=tax["tags"],
        shipping_profile_id=SHIPPING_PROFILE,
    )


def store_product(source_id: int, handle: str, sync_hash: str, stock: int | None = None) -> dict[str, Any]:
    """A store product as the catalog's and the stock's listings read it (both fields sets)."""
    variant: dict[str, Any] = {"id": f"variant_{source_id:09d}"}
    if stock is not None and source_id % 100 != 7:  # every 100th+7 is not managed by inventory
        levels = []
        if source_id % 10 != 5:  # every 10th+5 has no level at the location yet
            held = stock + 1 if source_id % 10 == 0 else stock
            levels.append({"id": f"ilev_{source_id:09d}", "location_id": LOCATION, "stocked_quantity": held})
        variant["inventory_items"] = [
            {"inventory_item_id": f"iitem_{source_id:09d}", "inventory": {"location_levels": levels}}
        ]
    return {
        "id": f"prod_{source_id:09d}",
        "external_id": f"{PREFIX}{source_id}",
        "handle": handle,
        "status": "published",
        "updated_at": UPDATED_AT,
        "metadata": {HASH_KEY: sync_hash},
        "variants": [variant],
    }


def expected(n: int, *, first_sync: bool = False) -> dict[str, int]:
    """The plan the store written by ``write`` must give."""
    if first_sync:
        return {"create": n, "update": 0, "unchanged": 0, "missing_upstream": 0}
    shift = n // 20
    shared = range(shift + 1, n + 1)
    stale = sum(1 for source_id in shared if source_id % 10 == 0)
    return {"create": shift, "update": stale, "unchanged": len(shared) - stale, "missing_upstream": shift}


def expected_levels(n: int) -> dict[str, int]:
    """The level plan the store written by ``write`` must give (``LevelPlan.outcome``'s counts)."""
    shift = n // 20
    shared = range(shift + 1, n + 1)
    unmanaged = sum(1 for i in shared if i % 100 == 7)
    create = sum(1 for i in shared if i % 10 == 5)
    update = sum(1 for i in shared if i % 10 == 0)
    return {
        "planned_create": create,
        "planned_update": update,
        "unchanged": len(shared) - unmanaged - create - update,
        "not_in_store": shift,
        "unmanaged": unmanaged,
    }


def _pages(records: Iterator[dict[str, Any]]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    page: list[dict[str, Any]] = []
    number = 0
    for record in records:
        page.append(record)
        if len(page) == PAGE_SIZE:
            number += 1
            yield number, page
            page = []
    if page:
        yield number + 1, page


def _write_page(job: tuple[str, int, int, list[dict[str, Any]]]) -> str:
    """Write one page as fetch_pages would; return its products' store lines (a worker's share)."""
    url, shift, number, records = job
    ctx, lines, page = context(), [], []
    for record in records:
        product = SourceProduct.parse(record)
        page.append(product.kept())
        if product.id > shift:
            fresh = desired_product(page[-1], ctx)["metadata"][HASH_KEY]
            sync_hash = "stale" if product.id % 10 == 0 else fresh
            listed = store_product(product.id, slugify(product.title), sync_hash, record["stock"])
            lines.append(json.dumps(listed) + "\n")
    write_json(RunFolder(url).page(number), page)
    return "".join(lines)


def _records(n: int, title: str | None) -> Iterator[dict[str, Any]]:
    for record in iter_catalog(n):
        yield record if title is None else {**record, "title": title}


def write(
    folder_dir: Path, n: int, workers: int = 2, *, title: str | None = None, first_sync: bool = False
) -> None:
    """The run folder and the store listing; pages are mapped and hashed on ``workers`` processes."""
    folder = RunFolder(f"file://{folder_dir.resolve()}/run")
    shift = n if first_sync else n // 20
    write_json(folder.taxonomy, taxonomy())
    jobs = ((folder.url, shift, number, page) for number, page in _pages(_records(n, title)))
    with (
        open(folder_dir / "store.jsonl", "w") as store,
        multiprocessing.get_context("fork").Pool(workers) as pool,
    ):
        for lines in pool.imap(_write_page, jobs, chunksize=4):
            store.write(lines)
        for gone in range(n + 1, n + shift + 1) if not first_sync else ():
            store.write(json.dumps(store_product(gone, f"gone-{gone}", "old")) + "\n")
    quarantine = ({"source_id": str(i), "reason": "stock: missing"} for i in range(1, n + 1))
    for part in range(1, -(-n // PageFileWriter.QUARANTINE_PART) + 1):
        write_json(folder.quarantine_part(part), list(islice(quarantine, PageFileWriter.QUARANTINE_PART)))
    pages = -(-n // PAGE_SIZE)
    summary = {"fetched": n, "valid": n, "quarantined": n, "pages": pages, "partial": False}
    write_json(folder.fetch, summary | {"first_sync": first_sync})


def _store_listing(path: Path) -> Iterator[dict[str, Any]]:
    with open(path) as lines:
        for line in lines:
            yield json.loads(line)


def peak_rss_mb() -> float:
    """This process's own high-water mark (``VmHWM``). Not ``ru_maxrss``: Linux carries the RSS a
    process had when it called exec into that figure, so a step started by a large parent (pytest,
    ``all`` after ``write``) would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line")


def _folder(folder_dir: Path, name: str = "run") -> RunFolder:
    return RunFolder(f"file://{folder_dir.resolve()}/{name}")


def _settings(batch_size: int) -> Any:
    from medusa_sync.core.missing import DEFAULT_MAX_MISSING_PERCENT
    from medusa_sync.core.planning import PlanSettings

    return PlanSettings(
        dry_run=False,
        full_refresh=False,
        batch_size=batch_size,
        on_missing="draft",
        max_missing_percent=DEFAULT_MAX_MISSING_PERCENT,
        product_status="published",
        currency_code="usd",
        sales_channel_id=None,
    )


def _compute_diff(folder: RunFolder, store: Path, batch_size: int) -> tuple[dict[str, Any], list[Any], float]:
    """``ComputeDiffOperator.plan`` against the store listing; returns the plan (also written to
    ``plan.json``, as the operator does), the descriptors and the seconds the store index took."""
    from medusa_sync.hooks.source import CatalogSourceHook
    from medusa_sync.operators.compute_diff import ComputeDiffOperator

    # Each product to draft is confirmed by id with the source; that is network time, not what this
    # measures, so the source is answered here (200 for a product it serves, 404 for one gone past
    # its last id) and the answers go through the real sorting.
    served = read_json(folder.fetch)["fetched"]

    def answer(source_id: str) -> tuple[int, Any, str]:
        return (200, {"id": int(source_id)}, "") if int(source_id) <= served else (404, None, "")

    CatalogSourceHook.lookup_products = lambda self, ids, **kwargs: ((i, answer(i)) for i in ids)  # type: ignore[method-assign]
    # Nor is the pause before a 404 is asked for again: a source that answers at once is not waited
    # for (at 1,000,000 products, 50 lookups of 1,000 would sleep 100 s).
    os.environ["AIRFLOW__MEDUSA_SYNC__MISSING_RECHECK_PAUSE_SECONDS"] = "0"
    # Dealt out as the DAG does at its default [medusa_sync] upsert_concurrency.
    operator = ComputeDiffOperator(
        task_id="compute_diff", run_folder=folder.url, upsert_concurrency=2, external_id_prefix=PREFIX
    )
    started = time.monotonic()
    with StoreIndex.build(_store_listing(store), prefix=PREFIX) as index:
        indexed = time.monotonic() - started
        result, descriptors = operator.plan(folder, context(), index, _settings(batch_size))
    write_json(folder.plan, result)
    return result, descriptors, indexed


def plan(folder_dir: Path, batch_size: int) -> dict[str, Any]:
    started = time.monotonic()
    result, descriptors, indexed = _compute_diff(_folder(folder_dir), folder_dir / "store.jsonl", batch_size)
    return {
        **{key: result[key] for key in ("create", "update", "unchanged", "missing_upstream")},
        "missing_acted_on": result["missing_acted_on"],
        "batches_planned": result["batches_planned"],
        "instances_planned": result["instances_planned"],
        "descriptors": len(descriptors),
        "store_index_s": round(indexed, 1),
        "plan_s": round(time.monotonic() - started - indexed, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def guard(folder_dir: Path) -> dict[str, Any]:
    """A wrong but complete source (``GUARD_SOURCE`` products) against the whole store: compute_diff
    plans, and the report says why the run fails."""
    from medusa_sync.core.report import build_report

    folder = _folder(folder_dir, "guard-run")
    write_json(folder.taxonomy, taxonomy())
    write_json(folder.page(1), [SourceProduct.parse(r).kept() for r in iter_catalog(GUARD_SOURCE)])
    write_json(folder.fetch, {"fetched": GUARD_SOURCE, "valid": GUARD_SOURCE, "pages": 1, "partial": False})
    started = time.monotonic()
    result, _, _ = _compute_diff(folder, folder_dir / "store.jsonl", 500)
    report = build_report(
        dag_id="medusa_product_sync",
        run_id="guard",
        params={},
        fetch=read_json(folder.fetch),
        quarantine=[],
        taxonomy=None,
        plan=result,
        results={},  # nothing was sent: the guard is the only reason the run fails
        duration_seconds=None,
    )
    return {
        "missing_upstream": result["missing_upstream"],
        "missing_listed": len(result["missing"]),
        "missing_action": result["missing_action"],
        "batches_planned": result["batches_planned"],
        "status": report["status"],
        "failed_because": report["failed_because"],
        "seconds": round(time.monotonic() - started, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _landed(folder: RunFolder) -> int:
    """What every batch of the plan would leave: a result file each, its updates rejected (a list
    as long as the catalog's updates, the worst case for the report)."""
    files = 0
    for path in folder.batches():
        batch = read_json(path)
        rejected = [
            {"product_id": item["id"], "action": "update", "message": "rejected (synthetic)"}
            for item in batch["update"]
        ]
        result = {"created": len(batch["create"]), "updated": 0, "requests": 1, "rejected": rejected}
        write_json(folder.result_for(path), result)
        files += 1
    return files


def report(folder_dir: Path) -> dict[str, Any]:
    """``report``'s work on the planned run with every batch landed (each result file written first,
    by this process, before the measurement starts: ``ru_maxrss`` is a high-water mark, so the
    result files are written in a child process)."""
    from medusa_sync.core.report import MAX_LISTED, build_report

    folder = _folder(folder_dir)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        files = pool.apply(_landed, (folder,))
    started = time.monotonic()
    plan_json = read_json(folder.plan)
    built = build_report(
        dag_id="medusa_product_sync",
        run_id="scale",
        params={},
        fetch=read_json(folder.fetch),
        quarantine=list(folder.quarantined(limit=MAX_LISTED)),
        taxonomy=read_json(folder.taxonomy),
        plan=plan_json,
        results=folder.landed_results(plan_json, lambda index: True),
        duration_seconds=1.0,
    )
    write_json(folder.report, built)
    return {
        "result_files": files,
        "status": built["status"],
        "products": {key: built["products"][key] for key in ("created", "rejected", "unchanged")},
        "quarantined": built["source"]["quarantined"],
        "listed": {key: len(built[key]) for key in ("quarantine", "rejected")},
        "batch_lines": len(built["batches"]["results"]),
        "seconds": round(time.monotonic() - started, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def page(folder_dir: Path, runs: int) -> dict[str, Any]:
    """The report page's runs list of ``runs`` catalog runs (the report ``report`` wrote) and as
    many stock runs (the quarantine as long as the catalog), read as ``recent_runs`` reads them."""
    from medusa_sync.ui.pages import runs_page
    from medusa_sync.ui.run_reports import RunReport, counts_only, with_report

    folder = _folder(folder_dir)
    started = time.monotonic()
    html, counted = {}, {}
    quarantined = read_json(folder.fetch)["quarantined"]
    for dag_id in ("medusa_product_sync", "medusa_stock_sync"):
        listed = []
        for n in range(runs):
            run = RunReport(
                dag_id=dag_id,
                run_id=f"run-{n}",
                state="success",
                run_type="manual",
                run_after=None,
                start_date=None,
                end_date=None,
            )
            listed.append(counts_only(with_report(run, folder.url)))
        html[dag_id] = runs_page(dag_id, listed, "http://airflow")
        # Runs whose row has the whole quarantine's count (read from fetch.json, never listed).
        counted[dag_id] = sum(
            1 for run in listed if run.report and run.report["source"]["quarantined"] == quarantined
        )
    return {
        "runs": runs,
        "page_kb": {dag_id: round(len(text) / 1024, 1) for dag_id, text in html.items()},
        "quarantined_counted": counted,
        "seconds": round(time.monotonic() - started, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def stock(folder_dir: Path, batch_size: int = 1000) -> dict[str, Any]:
    """``sync_stock``'s planning as the operator does it: the fetch's records and the store's level
    listing streamed into a ``LevelIndex``, the plan, and every chunk of both kinds read as its
    writes read them (nothing sent)."""
    from medusa_sync.core.stock import WRITE_KINDS, LevelIndex

    folder = _folder(folder_dir)
    started = time.monotonic()
    with LevelIndex() as index:
        index.add_source(folder.records(), PREFIX)
        index.add_store(_store_listing(folder_dir / "store.jsonl"), LOCATION, PREFIX)
        plan = index.plan(LOCATION)
        planned = time.monotonic() - started
        read = {kind: sum(len(chunk) for chunk in plan.chunks(kind, batch_size)) for kind in WRITE_KINDS}
    outcome = plan.outcome(location_id=LOCATION, dry_run=False, superseded=0, requests=0)
    return {
        **{key: outcome[key] for key in expected_levels(0)},
        "chunked": read,
        "plan_s": round(planned, 1),
        "total_s": round(time.monotonic() - started, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


STEPS = ("plan", "guard", "report", "page", "stock")


def run_all(args: argparse.Namespace) -> None:
    """``write``, then each step in a process of its own, its JSON line printed as it comes."""
    args.dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    write(args.dir, args.products, title=args.title, first_sync=args.first_sync)
    print(
        json.dumps(
            {"step": "write", "products": args.products, "seconds": round(time.monotonic() - started, 1)}
        )
    )
    options = ["--batch-size", str(args.batch_size), "--runs", str(args.runs)]
    for step in STEPS:
        done = subprocess.run(
            [sys.executable, "-m", "tests.stack.plan_scale", step, str(args.dir), *options],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        print(json.dumps({"step": step, **json.loads(done.stdout.strip().splitlines()[-1])}), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.stack.plan_scale")
    parser.add_argument("step", choices=("write", *STEPS, "all"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--runs", type=int, default=25, help="runs in the page step's list")
    parser.add_argument("--title", help="write: every product with this one title")
    parser.add_argument("--first-sync", action="store_true", help="write: an empty store")
    args = parser.parse_args(argv)
    if args.step == "all":
        run_all(args)
        return
    if args.step == "write":
        args.dir.mkdir(parents=True, exist_ok=True)
        write(args.dir, args.products, title=args.title, first_sync=args.first_sync)
        return
    steps = {
        "plan": lambda: plan(args.dir, args.batch_size),
        "guard": lambda: guard(args.dir),
        "report": lambda: report(args.dir),
        "page": lambda: page(args.dir, args.runs),
        "stock": lambda: stock(args.dir),
    }
    with contextlib.redirect_stdout(sys.stderr):  # the operator's log lines
        result = steps[args.step]()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
