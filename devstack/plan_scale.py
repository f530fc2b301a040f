"""Plan a synthetic catalog of any size against a synthetic store, without Medusa or Airflow running.

Two steps in two processes, so the second one's peak memory is compute_diff's alone:

    python -m devstack.plan_scale write DIR --products N   # run folder as fetch_pages and
                                                            # sync_categories leave it, plus the store
    python -m devstack.plan_scale plan DIR [--batch-size B] # compute_diff's planning; one JSON line

The store (what ``MedusaHook.list_products`` would yield, one JSON object a line) is shifted 5 %
against the source: the first 5 % of source ids are new (creates), the last 5 % of the store is
gone upstream (drafted: within the deletion guard's 10 %), and every 10th product that both hold
has a stale hash (an update). The rest is unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devstack.catalog_generator import CATEGORIES, iter_catalog
from medusa_sync.core.handles import slugify
from medusa_sync.core.mapping import HASH_KEY, MappingContext, desired_product
from medusa_sync.core.models import SourceProduct
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.rundata.run_folder import RunFolder, read_json, write_json

PAGE_SIZE = 100
SALES_CHANNEL = "sc_scale"
UPDATED_AT = "2026-11-01T00:00:00.000Z"


def taxonomy() -> dict[str, dict[str, str]]:
    tags = {tag for _, words in CATEGORIES.values() for tag in words}
    return {
        "categories": {slug: f"pcat_{slug}" for slug in CATEGORIES},
        "tags": {tag: f"ptag_{tag}" for tag in sorted(tags)},
    }


def context() -> MappingContext:
    tax = taxonomy()
    return MappingContext(sales_channel_id=SALES_CHANNEL, category_ids=tax["categories"], tag_ids=tax["tags"])


def store_product(source_id: int, handle: str, sync_hash: str) -> dict[str, Any]:
    return {
        "id": f"prod_{source_id:09d}",
        "external_id": f"dummyjson:{source_id}",
        "handle": handle,
        "status": "published",
        "updated_at": UPDATED_AT,
        "metadata": {HASH_KEY: sync_hash},
        "variants": [{"id": f"variant_{source_id:09d}"}],
    }


def expected(n: int) -> dict[str, int]:
    """The plan the store written by ``write`` must give."""
    shift = n // 20
    shared = range(shift + 1, n + 1)
    stale = sum(1 for source_id in shared if source_id % 10 == 0)
    return {"create": shift, "update": stale, "unchanged": len(shared) - stale, "missing_upstream": shift}


def _pages(n: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    page: list[dict[str, Any]] = []
    for record in iter_catalog(n):
        page.append(record)
        if len(page) == PAGE_SIZE:
            yield record["id"] // PAGE_SIZE, page
            page = []
    if page:
        yield n // PAGE_SIZE + 1, page


def _write_page(job: tuple[str, int, int, list[dict[str, Any]]]) -> str:
    """Write one page as fetch_pages would; return its products' store lines (a worker's share)."""
    url, shift, number, records = job
    ctx, lines, page = context(), [], []
    for record in records:
        product = SourceProduct.parse(record)
        page.append(product.model_dump(mode="json"))
        if product.id > shift:
            fresh = desired_product(product, ctx)["metadata"][HASH_KEY]
            sync_hash = "stale" if product.id % 10 == 0 else fresh
            lines.append(json.dumps(store_product(product.id, slugify(product.title), sync_hash)) + "\n")
    write_json(RunFolder(url).page(number), page)
    return "".join(lines)


def write(folder_dir: Path, n: int, workers: int = 2) -> None:
    """The run folder and the store listing; pages are mapped and hashed on ``workers`` processes."""
    folder = RunFolder(f"file://{folder_dir.resolve()}/run")
    shift = n // 20
    write_json(folder.taxonomy, taxonomy())
    write_json(folder.quarantine, [])
    jobs = ((folder.url, shift, number, page) for number, page in _pages(n))
    with (
        open(folder_dir / "store.jsonl", "w") as store,
        multiprocessing.get_context("fork").Pool(workers) as pool,
    ):
        for lines in pool.imap(_write_page, jobs, chunksize=4):
            store.write(lines)
        for gone in range(n + 1, n + shift + 1):
            store.write(json.dumps(store_product(gone, f"gone-{gone}", "old")) + "\n")
    pages = -(-n // PAGE_SIZE)
    write_json(folder.fetch, {"fetched": n, "valid": n, "pages": pages, "partial": False})


def _store_listing(path: Path):
    with open(path) as lines:
        for line in lines:
            yield json.loads(line)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def plan(folder_dir: Path, batch_size: int) -> dict[str, Any]:
    from medusa_sync.core.missing import DEFAULT_MAX_MISSING_PERCENT
    from medusa_sync.core.planning import PlanSettings
    from medusa_sync.hooks.source import CatalogSourceHook
    from medusa_sync.operators.compute_diff import ComputeDiffOperator

    # Each product to draft is confirmed by id with the source; that is network time, not what this
    # measures, so the source is answered here (200 for a product it serves, 404 for one gone past
    # its last id) and the answers go through the real sorting.
    folder = RunFolder(f"file://{folder_dir.resolve()}/run")
    served = read_json(folder.fetch)["fetched"]

    def answer(source_id: str) -> tuple[int, Any, str]:
        return (200, {"id": int(source_id)}, "") if int(source_id) <= served else (404, None, "")

    CatalogSourceHook.lookup_products = lambda self, ids, **kwargs: ((i, answer(i)) for i in ids)  # type: ignore[method-assign]
    operator = ComputeDiffOperator(task_id="compute_diff", run_folder=folder.url)
    settings = PlanSettings(
        dry_run=False,
        full_refresh=False,
        batch_size=batch_size,
        on_missing="draft",
        max_missing_percent=DEFAULT_MAX_MISSING_PERCENT,
        product_status="published",
        currency_code="usd",
        sales_channel_id=None,
    )
    started = time.monotonic()
    with StoreIndex.build(_store_listing(folder_dir / "store.jsonl"), prefix="dummyjson:") as index:
        indexed = time.monotonic()
        result, descriptors = operator.plan(folder, context(), index, settings)
    return {
        "create": result["create"],
        "update": result["update"],
        "unchanged": result["unchanged"],
        "missing_upstream": result["missing_upstream"],
        "missing_acted_on": result["missing_acted_on"],
        "batches_planned": result["batches_planned"],
        "instances_planned": result["instances_planned"],
        "descriptors": len(descriptors),
        "store_index_s": round(indexed - started, 1),
        "plan_s": round(time.monotonic() - indexed, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.plan_scale")
    parser.add_argument("step", choices=("write", "plan"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=20)
    args = parser.parse_args(argv)
    if args.step == "write":
        args.dir.mkdir(parents=True, exist_ok=True)
        write(args.dir, args.products)
    else:
        with contextlib.redirect_stdout(sys.stderr):  # the operator's log lines
            result = plan(args.dir, args.batch_size)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
