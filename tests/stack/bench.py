"""Side-by-side benchmark: the DAG against a raw loop over Medusa's batch endpoint, in one run.

    python -m tests.stack.bench --products 10000     (or ./dev bench --products 10000)

What it does, on this machine, against real servers it starts itself:
1. a generated DummyJSON-shaped catalog of N products on the local catalog server;
2. a Medusa store on a fresh database (cloned from a freshly migrated template) for each contender;
3. (a) the raw loop: every source page, the categories and tags one request each, then
   ``POST /admin/products/batch`` of 200 creates with 2 concurrent clients, no orchestration;
4. (b) the DAG's first sync through a real Airflow (scheduler with LocalExecutor, api-server,
   dag-processor, PostgreSQL metadata database), tasks running in parallel where the DAG allows,
   after one untimed dry run of a single product that warms the api-server up (``warm_up``);
   (c) a rerun with nothing changed; (d) a rerun with 1 % of the prices changed;
5. with ``--raw-again``, the raw loop once more on a fresh store: ``dag_raw_ratio`` is the DAG's
   first sync against the fastest raw loop of the run (``fastest_raw_seconds``);
6. with ``--raw-beside-airflow``, before the DAG's warm-up, the raw loop once more on a fresh store
   while the DAG's Airflow is up and idle: compared apart (``dag_raw_beside_airflow_ratio``), never
   the baseline.

``--stock`` measures the stock sync instead: the catalog synced with ``sync_inventory`` on, then
``medusa_stock_sync`` with nothing changed and with 1 % of the stocks changed at the source.

Both contenders reach Medusa through the same counting proxy, so requests and writes are counted
where Medusa sees them. Peak RSS of each task is its process's high-water mark (``VmHWM``), sampled
while it runs. The result is one JSON line on stdout (progress goes to stderr). It measures; it
asserts nothing about time. ``--record FILE`` also appends that line to FILE, with the time it was
recorded (``recorded_at``, UTC): ``docs/data/bench-runs.jsonl`` keeps the runs that
``docs/images/time-per-product.svg`` is drawn from (``tests/stack/plot.py``, run by ``./dev docs``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import itertools
import json
import math
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from medusa_sync.core.batching import BatchBuilder
from medusa_sync.core.handles import HandleAllocator
from medusa_sync.core.mapping import MappingContext, as_create, category_handle, desired_product, display_name
from medusa_sync.core.models import SourceProduct
from medusa_sync.core.ownership import variant_image_links
from medusa_sync.hooks.medusa import BATCH_ANSWER_FIELDS
from medusa_sync.hooks.taxonomy import TAXONOMY_CONCURRENCY
from medusa_sync.rundata.store_snapshot import CLOCK_MARGIN
from tests.stack import medusa_server as ms
from tests.stack.airflow_cluster import AirflowCluster, migrate_template
from tests.stack.airflow_local import DAG_ID, medusa_connection, source_connection
from tests.stack.catalog_generator import COLOURS, generate_catalog
from tests.stack.catalog_server import CatalogServer
from tests.stack.counting_proxy import CountingProxy

# Our products, their prices and their categories as the store has them: three plain joins (hash
# joins in PostgreSQL: about a second at 100,000 products), put together in Python.
STORE_PRODUCTS_SQL = """
SELECT id, external_id, handle FROM product
WHERE deleted_at IS NULL AND external_id LIKE 'dummyjson:%'
"""
STORE_PRICES_SQL = """
SELECT v.product_id, pr.amount FROM product_variant v
JOIN product_variant_price_set vps ON vps.variant_id = v.id AND vps.deleted_at IS NULL
JOIN price pr ON pr.price_set_id = vps.price_set_id AND pr.deleted_at IS NULL AND pr.price_list_id IS NULL
WHERE v.deleted_at IS NULL
"""
# Products of ours without a shipping profile: a customer cannot check them out.
STORE_UNSHIPPABLE_SQL = """
SELECT count(*) FROM product p
WHERE p.deleted_at IS NULL AND p.external_id LIKE 'dummyjson:%' AND NOT EXISTS (
  SELECT 1 FROM product_shipping_profile psp WHERE psp.product_id = p.id AND psp.deleted_at IS NULL)
"""
STORE_CATEGORIES_SQL = """
SELECT pcp.product_id, pc.handle FROM product_category_product pcp
JOIN product_category pc ON pc.id = pcp.product_category_id AND pc.deleted_at IS NULL
"""
# The scheduler and dag-processor at Airflow's own default timings, as a deployment runs them (the
# test clusters poll several times a second, which costs the CPU Medusa needs on a small machine).
DEPLOYMENT_TIMINGS = {
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "5",
    "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "5",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "1",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "300",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
}
STOCK_DAG_ID = "medusa_stock_sync"
LEVELS_PATH = "/admin/inventory-items/location-levels/batch"
RAW_BATCH = 200
RAW_CLIENTS = 2
# ``--raw-beside-airflow``: the raw loop once more, on a fresh store, while the DAG's Airflow is up
# and idle (started, before its warm-up): the same loop with Airflow's own processes on the machine,
# as the DAG has them. Not the baseline: that is the raw loop alone, the fastest honest loop.
BESIDE_AIRFLOW = "raw beside an idle Airflow"
SOURCE_CLIENTS = 4  # [medusa_sync] source_concurrency's default
TAXONOMY_CLIENTS = TAXONOMY_CONCURRENCY  # as the sync creates them
ID_ONLY = {"fields": "id"}  # a category's or tag's answer, as the sync asks for it
PAGE = 100
TASK_TITLE = "airflow worker -- "
# How often the bench asks the api-server whether a run has ended. Each poll is a request that costs
# the api-server and its database CPU on the machine Medusa runs on, which the raw loop does not
# pay; the wall time is the run's own end, so a slower poll only makes the bench wait longer.
POLL_SECONDS = 5.0
# A process is read while it is this young: a task runner takes its title once its supervisor
# has told the api-server it runs, which a freshly started api-server answers late (see
# docs/performance.md); an older process without it is not read again.
TITLE_SETTLES_SECONDS = 10.0


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """The bench's own folder (the stores' logs, Airflow's home, its run folders: hundreds of MB at
    100,000 products): removed after a bench that completes, kept after one that fails, for its logs."""
    work = Path(tempfile.mkdtemp(prefix="medusa-bench-"))
    try:
        yield work
    except BaseException:
        _log(f"logs kept in {work}")
        raise
    shutil.rmtree(work, ignore_errors=True)


# --- the catalog ----------------------------------------------------------------------------------

SIZES = ("XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL")
MAX_VARIANTS = 100


def option_grid(n: int) -> list[tuple[str, list[str]]]:
    """The options of a product with ``n`` variants: sizes x colours, as square as ``n`` allows
    (4: 2 sizes x 2 colours; 12: 4 x 3); a prime ``n`` is ``n`` sizes."""
    colours = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    sizes = [SIZES[k] if k < len(SIZES) else f"Size {k + 1}" for k in range(n // colours)]
    if colours == 1:
        return [("Size", sizes)]
    named = [COLOURS[k] if k < len(COLOURS) else f"Colour {k + 1}" for k in range(colours)]
    return [("Size", sizes), ("Colour", named)]


def with_variants(record: dict[str, Any], n: int) -> dict[str, Any]:
    """A generated product as the sync's canonical record with ``n`` variants (``SourceProduct``'s
    ``options`` and ``variants``): every size x colour, each with its own source id, sku, barcode,
    price, stock and image (one per colour, shared by its sizes). ``n`` = 1 leaves the one-variant
    DummyJSON record as it is."""
    if n == 1:
        return record
    grid = option_grid(n)
    combos = list(itertools.product(*(values for _, values in grid)))
    images = record.get("images") or [record["thumbnail"]]
    product = {k: v for k, v in record.items() if k not in ("price", "sku", "stock", "meta")}
    product["options"] = [{"title": title, "values": values} for title, values in grid]
    product["variants"] = [
        {
            "id": record["id"] * 1000 + k + 1,
            "title": " / ".join(combo),
            "options": dict(zip((title for title, _ in grid), combo, strict=True)),
            "sku": f"{record['sku']}-{k + 1}",
            "barcode": f"{record['meta']['barcode']}{k + 1:03d}",
            "price": round(record["price"] + k * 0.25, 2),
            "stock": (record["stock"] + 7 * k) % 120,
            "weight": record.get("weight"),
            "dimensions": record.get("dimensions"),
            # One image per colour (the last option), shared by that colour's sizes.
            "image": images[(k % len(grid[-1][1])) % len(images)],
        }
        for k, combo in enumerate(combos)
    ]
    return product


def catalog_of(products: int, variants: int) -> list[dict[str, Any]]:
    """The bench's catalog: ``generate_catalog``'s products, with ``variants`` variants each."""
    return [with_variants(record, variants) for record in generate_catalog(products, seed=1)]


def prices_of(record: dict[str, Any]) -> list[float]:
    """The prices the store should hold for a record, one per variant, in order."""
    return sorted(v["price"] for v in record["variants"]) if record.get("variants") else [record["price"]]


# --- servers ------------------------------------------------------------------------------------


class Store:
    """A Medusa server on its own fresh database, reached through a counting proxy."""

    def __init__(self, template: str, email: str, password: str, log_dir: Path) -> None:
        self.database = f"medusa_bench_{os.getpid()}_{secrets.token_hex(3)}"
        ms.create_database(self.database, template=template)
        self.server = ms.MedusaServer(
            ms.database_url(self.database), log_path=log_dir / f"{self.database}.log"
        )
        try:
            self.server.start().wait_healthy(timeout=180)
            token = ms.admin_token(self.server.url, email, password)
            self.api_key = ms.create_secret_api_key(self.server.url, token, "bench")
            ms.add_store_currency(self.server.url, token, "usd")
        except BaseException:
            self.server.stop()
            ms.drop_database(self.database)
            raise
        self.proxy = CountingProxy(self.server.url).start()

    @property
    def url(self) -> str:
        return self.proxy.url

    def close(self) -> None:
        self.proxy.stop()
        self.server.stop()
        ms.drop_database(self.database)

    def counts(self) -> dict[str, int]:
        requests_seen = self.proxy.requests
        return {"requests": len(requests_seen), "writes": sum(1 for m, _ in requests_seen if m != "GET")}

    def unshippable(self) -> int:
        """How many products of ours have no shipping profile (read from Medusa's database)."""
        import psycopg2

        with contextlib.closing(psycopg2.connect(ms.database_url(self.database))) as db, db.cursor() as cur:
            cur.execute(STORE_UNSHIPPABLE_SQL)
            return int(cur.fetchone()[0])

    def products(self) -> list[tuple[str, str, list[float], list[str]]]:
        """``(external_id, handle, prices, category handles)`` of every product of ours, read from
        Medusa's database (not counted, and seconds instead of the minutes the Admin API's listing
        with relations takes at 100,000 products)."""
        import psycopg2

        prices: dict[str, list[float]] = {}
        categories: dict[str, list[str]] = {}
        with contextlib.closing(psycopg2.connect(ms.database_url(self.database))) as db, db.cursor() as cur:
            cur.execute(STORE_PRICES_SQL)
            for product_id, amount in cur:
                prices.setdefault(product_id, []).append(float(amount))
            cur.execute(STORE_CATEGORIES_SQL)
            for product_id, handle in cur:
                categories.setdefault(product_id, []).append(handle)
            cur.execute(STORE_PRODUCTS_SQL)
            return [(ext, handle, prices.get(pid, []), categories.get(pid, [])) for pid, ext, handle in cur]


@contextlib.contextmanager
def medusa_template() -> Iterator[tuple[str, str, str]]:
    name = f"medusa_bench_tpl_{os.getpid()}"
    email, password = "bench@medusa-sync.test", ms.admin_password()
    ms.ensure_installed()
    ms.ensure_built()
    ms.create_database(name)
    try:
        ms.migrate(ms.database_url(name))
        ms.create_admin_user(ms.database_url(name), email, password)
        yield name, email, password
    finally:
        ms.drop_database(name)


# --- (a) the raw loop -----------------------------------------------------------------------------


def raw_loop(
    source_url: str, store: Store, *, clients: int = RAW_CLIENTS, link_clients: int = 1
) -> dict[str, Any]:
    """The least a sync must do, as fast as the endpoint takes it: the baseline the DAG is held to.

    It sends what the DAG's first sync sends, in the same shape: the categories and tags one
    request each, then ``POST /admin/products/batch`` of ``RAW_BATCH`` creates (``desired_product``
    and ``as_create``, cut by ``BatchBuilder``, as ``compute_diff`` plans them; answered with the
    hook's ``BATCH_ANSWER_FIELDS``, as the DAG's are) from ``clients``
    concurrent clients, every product with the store's default shipping profile; after each batch,
    its client links the variants' images one request per image, as the DAG's upsert does
    (``link_clients`` > 1 sends a batch's links that many at a time instead). Nothing waits
    that need not: the source's pages are read ``SOURCE_CLIENTS`` at a time; a category or tag is
    created (``TAXONOMY_CLIENTS`` at a time) as soon as a page names it; a batch is mapped,
    encoded once and posted as soon as its records and their categories and tags are there,
    while the next pages are mapped; every thread has its own session. ``phases`` says when each
    phase ended (seconds after the start: the last page read, the last category or tag created,
    the last batch handed to the clients, the last batch answered) and the CPU the bench's
    process spent (the loop and the counting proxy).
    """
    started = time.monotonic()
    cpu_started = time.process_time()
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.auth = (store.api_key, "")
        return local.session

    def get_page(skip: int) -> dict[str, Any]:
        params = {"limit": PAGE, "skip": skip}
        response = session().get(f"{source_url}/products", params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    def medusa(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = session().request(method, f"{store.url}{path}", timeout=600, **kwargs)
        response.raise_for_status()
        return response.json()

    taxonomy_answered: list[float] = []

    def create_category(slug: str) -> str:
        body = {"name": display_name(slug), "handle": category_handle(slug), "is_active": True}
        made = medusa("POST", "/admin/product-categories", params=ID_ONLY, json=body)
        taxonomy_answered.append(time.monotonic() - started)
        return made["product_category"]["id"]

    def create_tag(tag: str) -> str:
        made = medusa("POST", "/admin/product-tags", params=ID_ONLY, json={"value": tag})["product_tag"]["id"]
        taxonomy_answered.append(time.monotonic() - started)
        return made

    def post(body: bytes) -> tuple[int, int, float]:
        created = medusa(
            "POST",
            "/admin/products/batch",
            params={"fields": BATCH_ANSWER_FIELDS},  # as the DAG asks: less for Medusa to read back
            data=body,
            headers={"Content-Type": "application/json"},
        )["created"]
        # As the DAG's upsert does after each batch: a variant's image, one request per image.
        links = [(p["id"], image, variants) for p in created for image, variants in variant_image_links(p)]

        def link(product_id: str, image_id: str, variant_ids: list[str]) -> None:
            path = f"/admin/products/{product_id}/images/{image_id}/variants/batch"
            medusa("POST", path, json={"add": variant_ids})

        if link_clients == 1:
            for each in links:
                link(*each)
        else:
            with ThreadPoolExecutor(link_clients) as linking:
                list(linking.map(lambda each: link(*each), links))
        return len(created), len(links), time.monotonic() - started

    phases: dict[str, float] = {}
    with (
        ThreadPoolExecutor(SOURCE_CLIENTS) as source_pool,
        ThreadPoolExecutor(TAXONOMY_CLIENTS) as taxonomy_pool,
        ThreadPoolExecutor(clients) as post_pool,
    ):
        channel = taxonomy_pool.submit(
            lambda: medusa("GET", "/admin/stores")["stores"][0]["default_sales_channel_id"]
        )
        profile = taxonomy_pool.submit(
            lambda: medusa("GET", "/admin/shipping-profiles", params={"type": "default", "fields": "id"})[
                "shipping_profiles"
            ][0]["id"]
        )
        first = get_page(0)
        rest = [source_pool.submit(get_page, skip) for skip in range(PAGE, first["total"], PAGE)]
        categories: dict[str, Any] = {}
        tags: dict[str, Any] = {}
        category_ids: dict[str, str] = {}
        tag_ids: dict[str, str] = {}
        ctx: MappingContext | None = None
        handles = HandleAllocator()
        # Cut as compute_diff cuts its batch files: RAW_BATCH items, and under Medusa's body limit.
        batches = BatchBuilder(max_items=RAW_BATCH)
        posts = []
        pending: list[dict[str, Any]] = []

        def send(records: list[dict[str, Any]]) -> None:
            nonlocal ctx
            if ctx is None:
                ctx = MappingContext(
                    sales_channel_id=channel.result(), category_ids=category_ids, tag_ids=tag_ids
                )
            for record in records:  # their categories and tags exist before they are mapped
                category_ids.setdefault(record["category"], categories[record["category"]].result())
                for tag in record.get("tags") or ():
                    tag_ids.setdefault(tag, tags[tag].result())
            for record in records:
                create = as_create(
                    desired_product(record, ctx),
                    handles.allocate(record["title"], fallback=f"product-{record['id']}"),
                    profile.result(),
                )
                if (full := batches.add("create", create)) is not None:
                    posts.append(post_pool.submit(post, json.dumps(full.body()).encode()))

        read = 0
        for page in itertools.chain([first], (future.result() for future in rest)):
            read += len(page["products"])
            for record in (SourceProduct.parse(raw).kept() for raw in page["products"]):
                if record["category"] not in categories:
                    categories[record["category"]] = taxonomy_pool.submit(create_category, record["category"])
                for tag in record.get("tags") or ():
                    if tag not in tags:
                        tags[tag] = taxonomy_pool.submit(create_tag, tag)
                pending.append(record)
                if len(pending) == RAW_BATCH:
                    send(pending)
                    pending = []
        phases["source_read"] = round(time.monotonic() - started, 2)
        if pending:
            send(pending)
        if (last := batches.flush()) is not None:
            posts.append(post_pool.submit(post, json.dumps(last.body()).encode()))
        phases["mapped"] = round(time.monotonic() - started, 2)
        results = [future.result() for future in posts]
        phases["taxonomy"] = round(max(taxonomy_answered, default=0.0), 2)
    if read != first["total"]:
        raise RuntimeError(f"the source listed {first['total']} products and served {read}")
    phases["posted"] = round(max((at for _, _, at in results), default=0.0), 2)
    # The bench's process: the loop's threads and the counting proxy's.
    phases["cpu_seconds"] = round(time.process_time() - cpu_started, 2)
    return {
        "wall_seconds": round(time.monotonic() - started, 1),
        "created": sum(n for n, _, _ in results),
        "image_links": sum(n for _, n, _ in results),
        "clients": clients,
        **store.counts(),
        "phases": phases,
        "batch_requests": batch_timing(store),
    }


# --- (b, c, d) the DAG through a real scheduler ----------------------------------------------------


class TaskMemory:
    """Samples the high-water RSS of every task runner process of a cluster while it runs.

    Ten times a second, so that a task of a few tenths of a second is seen; it runs in the bench's
    process, beside the counting proxy, during the DAG's runs only, so each look is kept cheap: a
    process is read while it is young or a task, and the others (Medusa, PostgreSQL, Airflow's
    components) are only listed.
    """

    def __init__(self) -> None:
        self.peak_kb: dict[str, int] = {}  # task instance id -> VmHWM
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._first_seen: dict[str, float] = {}  # pid -> when it was first listed
        self._not_tasks: set[str] = set()  # pids old enough to have their title, and not tasks

    def __enter__(self) -> TaskMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.look()
            self._stop.wait(0.1)

    def look(self) -> None:
        """One look at every process: the task runners' peaks are read."""
        now = time.monotonic()
        listed = {name for name in os.listdir("/proc") if name.isdigit()}
        # A pid that is gone may come back as another process: it is read again then.
        self._not_tasks &= listed
        self._first_seen = {pid: at for pid, at in self._first_seen.items() if pid in listed}
        for pid in listed - self._not_tasks:
            first_seen = self._first_seen.setdefault(pid, now)
            if not self._sample(Path("/proc", pid)) and now - first_seen > TITLE_SETTLES_SECONDS:
                self._not_tasks.add(pid)

    def _sample(self, entry: Path) -> bool:
        """Whether ``entry`` is a task runner (its peak is then taken)."""
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            if not title.startswith(TASK_TITLE):
                return False
            status = (entry / "status").read_text()
        except OSError:
            return False
        ti_id = title[len(TASK_TITLE) :].split()[0]
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kb[ti_id] = max(self.peak_kb.get(ti_id, 0), int(line.split()[1]))
        return True

    def by_task(self, instances: list[dict[str, Any]]) -> dict[str, float]:
        """Peak RSS in MB per task id (the largest of a mapped task's instances)."""
        peaks: dict[str, float] = {}
        for ti in instances:
            if ti["id"] in self.peak_kb:
                mb = round(self.peak_kb[ti["id"]] / 1024, 1)
                peaks[ti["task_id"]] = max(peaks.get(ti["task_id"], 0.0), mb)
        return peaks


class CpuMeter:
    """CPU seconds spent while it runs by this bench's own processes, by kind: Medusa, its
    PostgreSQL backends, each Airflow component, the task processes, and the bench itself (the
    counting proxy, the raw loop, the run polling). On 2 cores, whatever Airflow burns while the
    batches are sent is CPU that Medusa and its database do not get."""

    def __init__(self) -> None:
        self._me = os.getpid()
        self._tag = f"_{self._me}_"
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._kinds: dict[int, str] = {}
        self._last: dict[int, int] = {}
        self._baseline: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuMeter:
        self._sample()  # what each process had spent before
        self._baseline = dict(self._last)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def _sample(self) -> None:
        parents: dict[int, int] = {}
        stats: dict[int, tuple[int, str]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            stats[int(entry.name)] = (int(fields[11]) + int(fields[12]), cmdline)
        for pid, (ticks, cmdline) in stats.items():
            kind = self._kind(pid, cmdline, parents)
            if kind is None:
                continue
            self._kinds.setdefault(pid, kind)
            self._last[pid] = ticks

    def _kind(self, pid: int, cmdline: str, parents: dict[int, int]) -> str | None:
        if cmdline.startswith("postgres:"):
            if self._tag not in cmdline:
                return None
            return "postgres (medusa)" if "medusa_bench" in cmdline else "postgres (airflow)"
        ancestor, hops = pid, 0
        while ancestor not in (self._me, 0, 1) and hops < 20:
            ancestor, hops = parents.get(ancestor, 0), hops + 1
        if ancestor != self._me:
            return None
        if pid == self._me:
            return "bench"
        if cmdline.split(" ", 1)[0].endswith("node"):
            return "medusa"
        for needle, kind in (
            ("airflow worker", "tasks"),
            ("scheduler", "scheduler"),
            ("api_server", "api-server"),
            ("api-server", "api-server"),
            ("dag-processor", "dag-processor"),
            ("dag_processor", "dag-processor"),
            ("triggerer", "triggerer"),
        ):
            if needle in cmdline:
                return kind
        return "other"

    def seconds(self) -> dict[str, float]:
        """CPU seconds by kind since it started, largest first."""
        spent: dict[str, float] = {}
        for pid, kind in self._kinds.items():
            # A process born while it ran (a task) counts all it spent.
            used = self._last[pid] - self._baseline.get(pid, 0)
            spent[kind] = spent.get(kind, 0.0) + used / self._ticks
        return {k: round(v, 1) for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v >= 0.05}


def dag_run(
    cluster: AirflowCluster,
    store: Store,
    memory: TaskMemory,
    what: str,
    *,
    dag_id: str = DAG_ID,
    conf: dict[str, Any] | None = None,
) -> dict[str, Any]:
    store.proxy.reset()
    with CpuMeter() as cpu:
        started = time.time()
        run_id = cluster.api.trigger(dag_id, conf=conf)
        # Polled every POLL_SECONDS: each poll is an api-server request, CPU that Medusa would
        # otherwise have on a small machine. The wall time is the run's own end, not the poll's;
        # the CPU is counted until the poll sees it.
        state = cluster.wait_for_run(dag_id, run_id, timeout=7200, poll=POLL_SECONDS)
    run = cluster.api.dag_run(dag_id, run_id)
    wall = _seconds(run["end_date"]) - started
    instances = cluster.api.task_instances(dag_id, run_id)
    if dag_id == STOCK_DAG_ID:
        return _stock_result(cluster, store, run_id, run, instances, wall, state, what)
    report = cluster.report(run_id) or {}
    products = report.get("products", {})
    result = {
        "state": state,
        "wall_seconds": round(wall, 1),
        "run_seconds": round(_seconds(run["end_date"]) - _seconds(run["start_date"]), 1),
        **store.counts(),
        "mapped_instances": sum(
            1 for t in instances if t["task_id"] == "upsert_batch" and t["map_index"] >= 0
        ),
        "task_seconds": _task_seconds(instances),
        "timeline": _timeline(run, instances),
        "upsert_spans": _upsert_spans(run, instances),
        "scheduler_waits": scheduler_waits(run, instances),
        "idle_seconds": idle_seconds(run, instances),
        "batch_requests": batch_timing(store),
        "cpu_seconds": cpu.seconds(),
        "compute_diff_says": _compute_diff_says(cluster, run_id, instances),
        "store_read": _store_read(cluster, run_id),
        "peak_rss_mb": memory.by_task(instances),
        **{k: products.get(k, 0) for k in ("created", "updated", "unchanged", "rejected")},
    }
    _log(f"{what}: {json.dumps(result)}")
    return result


def warm_up(cluster: AirflowCluster, store: Store, memory: TaskMemory) -> dict[str, Any]:
    """A dry run of one product before the timed runs; it writes nothing to the store.

    An api-server answers its first task requests slowly (seconds: it sets up its execution API
    on the first one); a deployment's has long done that when the daily run comes, and the raw
    loop has nothing like it. Its own figures are kept in the result, so that cost stays visible.
    """
    result = dag_run(
        cluster,
        store,
        memory,
        "DAG dry run of 1 product (warm-up)",
        conf={"dry_run": True, "max_products": 1},
    )
    if result["writes"]:
        raise RuntimeError(f"the warm-up dry run wrote to the store: {result}")
    return {k: result[k] for k in ("state", "wall_seconds", "run_seconds", "requests", "writes", "timeline")}


def _stock_result(
    cluster: AirflowCluster,
    store: Store,
    run_id: str,
    run: dict[str, Any],
    instances: list[dict[str, Any]],
    wall: float,
    state: str,
    what: str,
) -> dict[str, Any]:
    """A stock run: wall, requests and writes at the proxy, and the level writes they carried."""
    stock_file = cluster.storage_dir / STOCK_DAG_ID / run_id / "stock.json"
    stock = json.loads(stock_file.read_text()) if stock_file.exists() else {}
    bodies = store.proxy.bodies("POST", LEVELS_PATH)
    result = {
        "state": state,
        "wall_seconds": round(wall, 1),
        "run_seconds": round(_seconds(run["end_date"]) - _seconds(run["start_date"]), 1),
        **store.counts(),
        "level_creates_sent": sum(len(b.get("create", [])) for b in bodies),
        "level_updates_sent": sum(len(b.get("update", [])) for b in bodies),
        "product_writes": sum(1 for m, path in store.proxy.requests if m != "GET" and "/products" in path),
        "task_seconds": _task_seconds(instances),
        "stock": stock,
    }
    _log(f"{what}: {json.dumps(result)}")
    return result


@contextlib.contextmanager
def airflow_for(
    store: Store, source: CatalogServer, work: Path, dag_ids: tuple[str, ...]
) -> Iterator[AirflowCluster]:
    """A started Airflow (deployment timings) whose connections lead to ``store`` and ``source``,
    with ``dag_ids`` unpaused; stopped, and the store closed, on the way out."""
    try:
        airflow_template = migrate_template(work / "airflow-template")
    except BaseException:
        store.close()
        raise
    cluster = AirflowCluster(
        work / "airflow",
        airflow_template,
        connections={
            "medusa_default": medusa_connection(store.url, api_key=store.api_key),
            "dummyjson_default": source_connection(source.url),
        },
        env=DEPLOYMENT_TIMINGS,
    )
    try:
        cluster.start()
        for dag_id in dag_ids:
            cluster.api.unpause(dag_id)
        yield cluster
    finally:
        cluster.stop()
        ms.drop_database(airflow_template.database)
        store.close()


def stock_benchmark(products: int) -> dict[str, Any]:
    """The catalog synced with inventory, then the hourly stock sync: unchanged, and with 1 % of
    the stocks changed at the source."""
    catalog = generate_catalog(products, seed=1)
    result: dict[str, Any] = {"products": products, "machine": machine()}
    with (
        scratch_dir() as work,
        CatalogServer(catalog) as source,
        medusa_template() as (template, email, password),
    ):
        store = Store(template, email, password, work)
        with airflow_for(store, source, work, (DAG_ID, STOCK_DAG_ID)) as cluster, TaskMemory() as memory:
            first = dag_run(cluster, store, memory, "catalog, inventory on", conf={"sync_inventory": True})
            result["catalog_first"] = first
            run = functools.partial(dag_run, cluster, store, memory, dag_id=STOCK_DAG_ID)
            result["stock_unchanged"] = run("stock sync, nothing changed")
            changed = [dict(r) for r in catalog]
            for record in changed[::100]:
                record["stock"] = record["stock"] + 7
            source.replace_products(changed)
            result["stock_one_percent"] = run("stock sync, 1 % of stocks changed")
            result["stock_one_percent"]["changed_at_source"] = len(changed[::100])
    return result


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _task_seconds(instances: list[dict[str, Any]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for ti in instances:
        total[ti["task_id"]] = round(total.get(ti["task_id"], 0.0) + (ti.get("duration") or 0.0), 1)
    return total


def _store_read(cluster: AirflowCluster, run_id: str) -> str | None:
    """How read_store read the store: whole, or what changed since the run before."""
    summary = cluster.storage_dir / DAG_ID / run_id / "store" / "snapshot.json"
    return json.loads(summary.read_text()).get("read") if summary.exists() else None


def _compute_diff_says(cluster: AirflowCluster, run_id: str, instances: list[dict[str, Any]]) -> list[str]:
    """compute_diff's own account of its time: the store index (from read_store's snapshot or
    read there) and the planning."""
    ti = next(t for t in instances if t["task_id"] == "compute_diff")
    log = cluster.api.task_log(DAG_ID, run_id, "compute_diff", ti["try_number"])
    return [
        line.split("] ", 1)[-1].split(" logger=")[0].strip()
        for line in log.splitlines()
        if "products of this sync" in line or "plan (" in line
    ]


def _span(run: dict[str, Any], ti: dict[str, Any]) -> tuple[float, float] | None:
    """A task instance's start and end in seconds after its run was queued; None until it ended."""
    if not ti.get("start_date") or not ti.get("end_date"):
        return None
    origin = _queued_at(run)
    return _seconds(ti["start_date"]) - origin, _seconds(ti["end_date"]) - origin


def _queued_at(run: dict[str, Any]) -> float:
    """When the run was queued (its start, if the API gives no queueing time), as a timestamp."""
    return _seconds(run.get("queued_at") or run["start_date"])


def _timeline(run: dict[str, Any], instances: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Each task's first start and last end, in seconds after the run was queued: the gaps
    between one task's end and the next one's start are the scheduling overhead."""
    spans: dict[str, list[float]] = {}
    for ti in instances:
        if (timed := _span(run, ti)) is None:
            continue
        start, end = timed
        span = spans.setdefault(ti["task_id"], [start, end])
        span[0], span[1] = min(span[0], start), max(span[1], end)
    ordered = sorted(spans.items(), key=lambda kv: kv[1][0])
    return {task: [round(start, 1), round(end, 1)] for task, (start, end) in ordered}


def scheduler_waits(run: dict[str, Any], instances: list[dict[str, Any]]) -> dict[str, float]:
    """What the run waited for the scheduler, in seconds: for each task that was queued, from the
    last end of a task instance before it (the run's queueing, for the first tasks) to its first
    queueing; then from the last end to the run's own end (``run end``).

    Each is the rest of a pass: an idle scheduler looks for work about once a second
    (``[scheduler] scheduler_idle_sleep_time``), so a task that ends just after a pass waits up to
    that second for its successor to be queued. A task the scheduler never queued (one skipped by
    another task) waits for nothing."""
    origin = _queued_at(run)
    ended = sorted(end for _, end in filter(None, (_span(run, ti) for ti in instances)))
    queued: dict[str, float] = {}
    for ti in instances:
        if ti.get("queued_when"):
            at = _seconds(ti["queued_when"]) - origin
            queued[ti["task_id"]] = min(queued.get(ti["task_id"], at), at)
    waits = {
        task: round(at - max((end for end in ended if end <= at), default=0.0), 2)
        for task, at in sorted(queued.items(), key=lambda kv: kv[1])
    }
    if run.get("end_date") and ended:
        waits["run end"] = round(_seconds(run["end_date"]) - origin - ended[-1], 2)
    return waits


def idle_seconds(run: dict[str, Any], instances: list[dict[str, Any]]) -> float:
    """Seconds from the run's queueing to its end in which none of its task instances ran: what
    the run spent waiting for the scheduler's passes and for task processes to start. Tasks that
    run side by side (the fetch and the store read) count once."""
    if not run.get("end_date"):
        return 0.0
    idle = reached = 0.0
    for start, end in sorted(filter(None, (_span(run, ti) for ti in instances))):
        idle += max(start - reached, 0.0)
        reached = max(reached, end)
    total = _seconds(run["end_date"]) - _queued_at(run)
    return round(idle + max(total - reached, 0.0), 2)


def _upsert_spans(run: dict[str, Any], instances: list[dict[str, Any]]) -> list[list[float]]:
    """Each mapped upsert instance's start and end, in seconds after the run was queued, by start:
    the gaps between one instance's end and the next one's start are what mapping costs."""
    timed = (_span(run, ti) for ti in instances if ti["task_id"] == "upsert_batch" and ti["map_index"] >= 0)
    return sorted([round(start, 1), round(end, 1)] for start, end in filter(None, timed))


def batch_timing(store: Store) -> dict[str, Any]:
    """How the product batch requests went at Medusa (timed at the proxy): how many, how long each
    took, for how long 0, 1 or 2+ of them were in flight between the first one's arrival and the
    last one's answer, and the hand-offs: on each client connection, the time from one answer to
    the next request (what the client did in between: reading its next batch, writing a result).
    Time with fewer in flight than there are clients is time the endpoint was offered less than
    it could take."""
    spans = store.proxy.timings("POST", "/admin/products/batch")
    if not spans:
        return {"requests": 0}
    events = sorted([(a, 1) for a, _, _ in spans] + [(b, -1) for _, b, _ in spans])
    by_depth: dict[str, float] = {"0": 0.0, "1": 0.0, "2+": 0.0}
    depth, last = 0, events[0][0]
    for at, step in events:
        by_depth["2+" if depth >= 2 else str(depth)] += at - last
        depth, last = depth + step, at
    took = sorted(b - a for a, b, _ in spans)
    by_client: dict[str, list[tuple[float, float]]] = {}
    for arrived, answered, client in spans:
        by_client.setdefault(client, []).append((arrived, answered))
    hand_offs = [
        later[0] - earlier[1] for sent in by_client.values() for earlier, later in itertools.pairwise(sent)
    ]
    return {
        "requests": len(spans),
        "first_to_last_seconds": round(events[-1][0] - events[0][0], 1),
        "median_seconds": round(took[len(took) // 2], 2),
        "max_seconds": round(took[-1], 2),
        "in_flight_seconds": {k: round(v, 1) for k, v in by_depth.items()},
        "connections": len(by_client),
        "hand_off_seconds": {
            "count": len(hand_offs),
            "total": round(sum(hand_offs), 2),
            "max": round(max(hand_offs, default=0.0), 3),
        },
        # The requests' ends, first and last: how unevenly the clients finished.
        "last_answers_apart_seconds": round(
            max(b for _, b, _ in spans) - sorted(b for _, b, _ in spans)[-2], 2
        )
        if len(spans) > 1
        else 0.0,
    }


def store_exact(store: Store, catalog: list[dict[str, Any]]) -> dict[str, Any]:
    """Count, prices, categories, handles and shipping profiles of the store against the source."""
    rows = store.products()
    by_external = {ext: (sorted(prices), categories) for ext, _, prices, categories in rows}
    wrong = [
        record["id"]
        for record in catalog
        if by_external.get(f"dummyjson:{record['id']}") != (prices_of(record), [record["category"]])
    ]
    handles = [handle for _, handle, _, _ in rows]
    unique = len(set(handles)) == len(handles)
    unshippable = store.unshippable()
    return {
        "products": len(rows),
        "wrong": len(wrong),
        "handles_unique": unique,
        "unshippable": unshippable,
        "exact": not wrong
        and len(rows) == len(catalog)
        and len(by_external) == len(rows)
        and unique
        and not unshippable,
    }


def machine() -> dict[str, Any]:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "cpu_yardstick_ms": cpu_yardstick_ms(),
    }


def cpu_yardstick_ms() -> float:
    """The best of five timings of one fixed piece of pure Python (no code of this project in it).

    Machines of one kind differ: the same CPU model has run the same tasks twice as slowly on
    another day. Benchmarks from different sessions are comparable only next to this figure.
    """
    payload = {"title": "x" * 40, "price": 12.34, "tags": ["a", "b"], "dims": {"w": 1.5, "h": 2.25}}

    def work() -> None:
        for n in range(20_000):
            hashlib.sha256(json.dumps([n, payload], sort_keys=True).encode()).hexdigest()

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return round(min(timings) * 1000, 1)


def benchmark(
    products: int,
    *,
    raw: bool = True,
    day_later: bool = False,
    unchanged_runs: int = 1,
    variants: int = 1,
    raw_again: bool = False,
    rounds: int = 1,
    beside_airflow: bool = False,
) -> dict[str, Any]:
    catalog = catalog_of(products, variants)
    result: dict[str, Any] = {"products": products, "variants": variants, "machine": machine()}
    with (
        scratch_dir() as work,
        CatalogServer(catalog) as source,
        medusa_template() as (template, email, password),
    ):
        _log(f"catalog of {products} products on {source.url}")
        if raw:
            result["raw"] = timed_raw_loop(source.url, Store(template, email, password, work), catalog)

        store = Store(template, email, password, work)
        with airflow_for(store, source, work, (DAG_ID,)) as cluster, TaskMemory() as memory:
            if raw and beside_airflow:  # Airflow up and idle: no run until the warm-up
                result["raw_beside_airflow"] = timed_raw_loop(
                    source.url, Store(template, email, password, work), catalog, what=BESIDE_AIRFLOW
                )
            result["warm_up"] = warm_up(cluster, store, memory)
            result["dag_first"] = dag_run(cluster, store, memory, "DAG first sync")
            first_ended = time.monotonic()
            result["dag_first"]["store"] = store_exact(store, catalog)
            if day_later:
                # The run after a first sync reads the whole store (all of it changed since the last
                # read); from the next run on, only what changed since the run before. Their reads
                # overlap by the clock margin, so the first sync's writes must be that far behind.
                wait = CLOCK_MARGIN.total_seconds() - (time.monotonic() - first_ended)
                _log(f"waiting {max(wait, 0):.0f} s: the first sync's writes are then past the clock margin")
                time.sleep(max(wait, 0))
                result["dag_after_first"] = dag_run(cluster, store, memory, "DAG rerun after the first sync")
            result["dag_unchanged"] = dag_run(cluster, store, memory, "DAG rerun, nothing changed")
            if unchanged_runs > 1:  # the scheduler's idle loop makes each one differ by up to a second
                result["dag_unchanged_walls"] = [result["dag_unchanged"]["wall_seconds"]] + [
                    dag_run(cluster, store, memory, f"DAG rerun, nothing changed ({n})")["wall_seconds"]
                    for n in range(2, unchanged_runs + 1)
                ]
            changed = [dict(r) for r in catalog]
            for record in changed[::100]:
                if record.get("variants"):  # one variant's price
                    first = {**record["variants"][0], "price": round(record["variants"][0]["price"] + 1, 2)}
                    record["variants"] = [first, *record["variants"][1:]]
                else:
                    record["price"] = round(record["price"] + 1, 2)
            source.replace_products(changed)
            result["dag_one_percent"] = dag_run(cluster, store, memory, "DAG rerun, 1 % changed")
            result["dag_one_percent"]["changed_at_source"] = len(changed[::100])
            result["dag_one_percent"]["store"] = store_exact(store, changed)
        source.replace_products(catalog)  # the catalog before the 1 % change, for the runs below
        if raw and raw_again:  # the machine may have slowed or sped up while the DAG ran
            result["raw_again"] = timed_raw_loop(source.url, Store(template, email, password, work), catalog)
        if rounds > 1:
            first = _round_of(result.get("raw"), result["dag_first"], result.get("raw_beside_airflow"))
            result["rounds"] = [{"round": 1, **first}] + [
                more_round(
                    n,
                    source,
                    (template, email, password),
                    work,
                    catalog,
                    raw=raw,
                    beside_airflow=beside_airflow,
                )
                for n in range(2, rounds + 1)
            ]
    for key in ("raw", "raw_again", "raw_beside_airflow", "dag_first"):
        if key in result:
            result[key]["ms_per_product"] = round(result[key]["wall_seconds"] * 1000 / products, 2)
    # Measured again at the end: a busy neighbour can slow the machine down midway.
    result["machine"]["cpu_yardstick_ms_at_end"] = cpu_yardstick_ms()
    result |= comparison(result) if raw else {"dag_raw_ratio": None}
    return result


def comparison(result: dict[str, Any]) -> dict[str, Any]:
    """The DAG's fastest first sync against the fastest raw loop of the run, the baseline.

    With more rounds, each side is the best of as many tries; the raw loop's second run
    (``raw_again``), when asked for, is one more try for the raw side, never for the DAG's.
    Beside it, ``median_round_ratio``: the median of each round's own ratio. A machine's speed can
    drift by a third within minutes, so the two fastest may come from minutes of different speeds;
    the two sides of a round ran minutes apart, and the median of rounds is the typical pair.
    """
    raws = [result[key]["wall_seconds"] for key in ("raw", "raw_again") if key in result]
    firsts = [result["dag_first"]["wall_seconds"]]
    besides = [result["raw_beside_airflow"]["wall_seconds"]] if "raw_beside_airflow" in result else []
    for more in result.get("rounds", [])[1:]:
        raws.append(more["raw_seconds"])
        firsts.append(more["dag_seconds"])
        if "beside_seconds" in more:
            besides.append(more["beside_seconds"])
    compared = {
        "fastest_raw_seconds": min(raws),
        "fastest_dag_seconds": min(firsts),
        "dag_raw_ratio": round(min(firsts) / min(raws), 2),
    }
    paired = [r["dag_seconds"] / r["raw_seconds"] for r in result.get("rounds", []) if "raw_seconds" in r]
    if len(paired) > 1:
        compared["median_round_ratio"] = round(statistics.median(paired), 2)
    if besides:  # what the DAG costs beyond Airflow's presence; the ratio above stays the baseline's
        compared["fastest_raw_beside_airflow_seconds"] = min(besides)
        compared["dag_raw_beside_airflow_ratio"] = round(min(firsts) / min(besides), 2)
    return compared


def _round_of(
    raw: dict[str, Any] | None, first: dict[str, Any], beside: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One round's figures: the raw loop's and the DAG's first sync's wall, whether the stores
    are exact, what moves with the machine (the median batch at Medusa, Medusa's CPU), how long
    each side's batches took from the first sent to the last answered (the rest of the wall is
    its fixed cost), and how much of the DAG's run had no task running (``idle_seconds``). With
    the raw loop run again beside the idle Airflow (``beside``), the same of it, as ``beside_*``."""
    parts = {"raw": raw, "beside": beside, "dag": first}
    parts = {key: part for key, part in parts.items() if part is not None}
    summary: dict[str, Any] = {"dag_seconds": first["wall_seconds"]}
    if raw is not None:
        summary["raw_seconds"] = raw["wall_seconds"]
        summary["ratio"] = round(first["wall_seconds"] / raw["wall_seconds"], 2)
    if beside is not None:
        summary["beside_seconds"] = beside["wall_seconds"]
        summary["ratio_beside"] = round(first["wall_seconds"] / beside["wall_seconds"], 2)
    summary["stores_exact"] = all(part["store"]["exact"] for part in parts.values())
    for key, part in parts.items():
        summary[f"{key}_batch_median_seconds"] = part["batch_requests"].get("median_seconds")
        summary[f"{key}_medusa_cpu_seconds"] = part["cpu_seconds"].get("medusa")
        summary[f"{key}_batches_seconds"] = part["batch_requests"].get("first_to_last_seconds")
    summary["dag_idle_seconds"] = first.get("idle_seconds")
    return summary


def more_round(
    n: int,
    source: CatalogServer,
    medusa: tuple[str, str, str],
    work: Path,
    catalog: list[dict[str, Any]],
    *,
    raw: bool,
    beside_airflow: bool = False,
) -> dict[str, Any]:
    """Round ``n`` (from 2 on): the raw loop, then the DAG's first sync, each on a fresh store; the
    DAG through a fresh Airflow, after its warm-up, as in the first round (and before the warm-up,
    with ``beside_airflow``, the raw loop beside that Airflow, as in the first round too)."""
    template, email, password = medusa
    result: dict[str, Any] = {}
    if raw:
        result["raw"] = timed_raw_loop(source.url, Store(template, email, password, work), catalog)
    folder = work / f"round-{n}"
    folder.mkdir()
    store = Store(template, email, password, work)
    with airflow_for(store, source, folder, (DAG_ID,)) as cluster, TaskMemory() as memory:
        if raw and beside_airflow:  # Airflow up and idle: no run until the warm-up
            result["raw_beside_airflow"] = timed_raw_loop(
                source.url, Store(template, email, password, work), catalog, what=BESIDE_AIRFLOW
            )
        warm_up(cluster, store, memory)
        result["dag_first"] = dag_run(cluster, store, memory, f"DAG first sync (round {n})")
        result["dag_first"]["store"] = store_exact(store, catalog)
    summary = {
        "round": n,
        **_round_of(result.get("raw"), result["dag_first"], result.get("raw_beside_airflow")),
        "cpu_yardstick_ms": cpu_yardstick_ms(),
    }
    _log(f"round {n}: {json.dumps(summary)}")
    return summary


def timed_raw_loop(
    source_url: str, store: Store, catalog: list[dict[str, Any]], what: str = "raw"
) -> dict[str, Any]:
    """The raw loop into its own fresh store, with Medusa's CPU and a check that the store is exact."""
    try:
        with CpuMeter() as cpu:
            timed = raw_loop(source_url, store)
        timed["cpu_seconds"] = cpu.seconds()
        timed["store"] = store_exact(store, catalog)
    finally:
        store.close()
    _log(f"{what}: {json.dumps(timed)}")
    return timed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000, help="catalog size (default 10000)")
    parser.add_argument(
        "--skip-raw",
        action="store_true",
        help="only the DAG's runs (the raw loop is the slow half at 100,000)",
    )
    parser.add_argument(
        "--raw-again",
        action="store_true",
        help="run the raw loop again after the DAG's runs, on a fresh store; the ratio is then "
        "against the faster of the two (a machine that slows down or speeds up midway favours neither)",
    )
    parser.add_argument(
        "--raw-beside-airflow",
        action="store_true",
        help="in every round, also run the raw loop on a fresh store while the DAG's Airflow is up "
        "and idle (before its warm-up): the same loop with Airflow's own processes on the machine, "
        "as the DAG has them; adds dag_raw_beside_airflow_ratio (dag_raw_ratio stays against the raw "
        "loop alone, the baseline)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="the comparison N times, alternated: after the first round's runs, a raw loop and then "
        "the DAG's first sync (after a warm-up, through a fresh Airflow), each on a fresh store; the "
        "ratio is then the DAG's fastest first sync against the fastest raw loop, each the best of N "
        "(default 1)",
    )
    parser.add_argument(
        "--day-later",
        action="store_true",
        help="the unchanged rerun as on any day after the first sync's next: one rerun (which reads "
        "the whole store), the clock margin waited out since the first sync's writes, then the "
        "unchanged rerun, which reads only what changed",
    )
    parser.add_argument(
        "--unchanged-runs",
        type=int,
        default=1,
        metavar="N",
        help="repeat the unchanged rerun N times and list each one's wall time (default 1)",
    )
    parser.add_argument(
        "--variants",
        type=int,
        default=1,
        metavar="N",
        help="N variants per product (sizes x colours, in the sync's canonical record shape); the "
        "raw loop sends the same payloads as the DAG (default 1: the DummyJSON catalog)",
    )
    parser.add_argument(
        "--stock",
        action="store_true",
        help="the stock sync instead: the catalog with inventory, then medusa_stock_sync with nothing "
        "and with 1 %% of the stocks changed",
    )
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="also append the JSON line to FILE, with the UTC time it ended (recorded_at): the "
        "bench runs docs/images/time-per-product.svg is drawn from are kept in docs/data/bench-runs.jsonl",
    )
    args = parser.parse_args(argv)
    if args.products < 1:
        parser.error("--products must be at least 1")
    if not 1 <= args.variants <= MAX_VARIANTS:
        parser.error(f"--variants must be from 1 to {MAX_VARIANTS}")
    if args.variants > 1 and args.stock:
        parser.error("--variants is for the catalog sync, not --stock")
    if args.raw_beside_airflow and (args.skip_raw or args.stock):
        parser.error("--raw-beside-airflow runs the catalog's raw loop: not with --skip-raw or --stock")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.unchanged_runs < 1:
        parser.error("--unchanged-runs must be at least 1")
    with contextlib.redirect_stdout(sys.stderr):  # progress of the helpers it calls goes to stderr
        if args.stock:
            result = stock_benchmark(args.products)
        else:
            result = benchmark(
                args.products,
                raw=not args.skip_raw,
                day_later=args.day_later,
                unchanged_runs=args.unchanged_runs,
                variants=args.variants,
                raw_again=args.raw_again,
                rounds=args.rounds,
                beside_airflow=args.raw_beside_airflow,
            )
    print(json.dumps(result), flush=True)
    if args.record is not None:
        record(args.record, result)


def record(path: Path, result: dict[str, Any]) -> None:
    """Append ``result`` to ``path`` as one JSON line, with the time it was recorded (UTC)."""
    from datetime import UTC, datetime

    stamped = {"recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **result}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(stamped) + "\n")
    _log(f"recorded in {path}")


if __name__ == "__main__":
    main()
