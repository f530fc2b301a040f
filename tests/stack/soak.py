"""A seeded chaos soak: many DAG runs in a row on a real stack, each under one random fault.

    ./dev soak [--rounds 20] [--seed S] [--merchant-edits all|basic]

Round 0 syncs the catalog and a merchant edits one synced product by hand. Every round then draws,
from its own seed (itself drawn from the soak's seed): upstream mutations (price, title and image
changes, products added, removed, re-added), an ``on_missing`` and one fault (a shuffled deck, so
every fault comes once before any comes twice), lets the merchant edit again, and runs the DAG
through Airflow's REST API as a person would (clearing a batch that died with its worker). After
every run: no product still upstream is lost (gone or drafted), none is in the store twice, every
merchant edit is there. A faulted run may fail or leave work undone; then a fault-free follow-up
run must succeed and converge (the store in step with the source for ``on_missing``). A last
fault-free run with ``on_missing=delete`` must leave the store exact. The first line printed is
the seed; then one table row per round; any violation stops the soak with a message naming the
round, the seeds and what broke (exit status 1).

The soak never touches the store of ``./dev up``: it starts its own Medusa (a fresh database), a
catalog server serving the real catalog, the fault proxy in front of Medusa and an Airflow
(scheduler, api-server, dag-processor, LocalExecutor), all from the dev stack (``tests.stack``),
and removes them at the end. ``Soak`` itself takes running pieces, so the test suite runs it on its
own fixtures.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import random
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.stack import airflow_cluster as ac
from tests.stack import medusa_server as ms
from tests.stack import medusa_store
from tests.stack.airflow_local import DAG_ID, REPO, medusa_connection, source_connection
from tests.stack.catalog_server import CatalogServer, Faults, load_catalog
from tests.stack.counting_proxy import CountingProxy, Fault, Watch
from tests.stack.store_view import differences, exact_store_problems, ours, store_products

FAULTS = (
    "source_503_429",
    "empty_page",
    "catalog_edited_mid_read",
    "medusa_5xx_on_writes",
    "answer_lost_after_commit",
    "worker_killed_mid_batch",
)
ON_MISSING = ("ignore", "draft", "delete")
# Task retries 1 s apart instead of 30 s: a soak waits on many.
BATCH = "/admin/products/batch"
# At most this many products are gone upstream at once, well inside the deletion guard (10 %).
MAX_REMOVED = 4
NEW_IDS_FROM = 100_000
RUN_TIMEOUT = 900.0
REAL_CATALOG_FILE = REPO / "tests" / "data" / "dummyjson-products.json"


class SoakFailure(AssertionError):
    """An invariant broke; the message names the round, the seeds and what broke."""


@dataclass
class Row:
    """One line of the soak's table."""

    round: str
    seed: str
    fault: str
    fired: str
    mutations: str
    on_missing: str
    run: str
    follow_up: str = "-"
    checks: str = "ok"

    COLUMNS = ("round", "seed", "fault", "fired", "mutations", "on_missing", "run", "follow-up", "checks")

    def cells(self) -> tuple[str, ...]:
        return (
            self.round,
            self.seed,
            self.fault,
            self.fired,
            self.mutations,
            self.on_missing,
            self.run,
            self.follow_up,
            self.checks,
        )


def table_header() -> str:
    return "| " + " | ".join(Row.COLUMNS) + " |\n|" + "---|" * len(Row.COLUMNS)


def table_line(row: Row) -> str:
    return "| " + " | ".join(cell.replace("|", "/") for cell in row.cells()) + " |"


# --- the merchant ----------------------------------------------------------------------------------


def _ok(response: Any) -> dict[str, Any]:
    if response.status_code >= 300:
        raise SoakFailure(
            f"merchant edit refused: {response.request.method} {response.url}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json() if response.content else {}


@dataclass(frozen=True)
class MerchantEdit:
    """A hand edit: ``apply`` makes it (again, with this round's value where it has one); ``check``
    says what is wrong with the product as the store holds it now (None: the edit is there)."""

    name: str
    apply: Callable[[Merchant, dict[str, Any], int], None]
    check: Callable[[Merchant, dict[str, Any]], str | None]


class Merchant:
    """One synced product a merchant keeps editing by hand, through the admin API (not the proxy)."""

    def __init__(
        self, store: Any, catalog: list[dict[str, Any]], source_id: int, edits: list[MerchantEdit]
    ) -> None:
        self.store = store
        self.catalog = catalog  # the source catalog at the start, for the edits that pick from it
        record = next(r for r in catalog if r["id"] == source_id)
        self.admin = store.admin
        self.source_id = source_id
        self.sku = record.get("sku")
        self.edits = edits
        self.own: dict[str, Any] = {}  # ids of what the merchant created, and the latest values

    def product(self) -> dict[str, Any]:
        found = ours(store_products(self.store)).get(self.source_id)
        if found is None:
            raise SoakFailure(f"the merchant's product {self.source_id} is not in the store")
        return found

    def sync_variant(self, product: dict[str, Any]) -> dict[str, Any] | None:
        """The variant the sync created (its sku is the source's)."""
        return next((v for v in product["variants"] if v.get("sku") == self.sku), None)

    def edit(self, round_number: int) -> None:
        for edit in self.edits:
            edit.apply(self, self.product(), round_number)

    def problems(self) -> list[str]:
        product = self.product()
        return [f"merchant edit {e.name}: {why}" for e in self.edits if (why := e.check(self, product))]

    def upstream_problems(self, record: dict[str, Any]) -> list[str]:
        """What of the source's current record did not land on the hand-edited product."""
        product = self.product()
        variant = self.sync_variant(product)
        found = {
            "title": product["title"],
            "status": product["status"],
            "usd price": [
                p["amount"] for p in (variant or {}).get("prices", []) if p["currency_code"] == "usd"
            ],
            "category": record["category"] in {c["handle"] for c in product["categories"]},
            "tags": set(record.get("tags") or []) <= {t["value"] for t in product["tags"]},
            "images": set(record.get("images") or []) <= {i["url"] for i in product["images"]},
        }
        wanted = {
            "title": record["title"],
            "status": "published",
            "usd price": [record["price"]],
            "category": True,
            "tags": True,
            "images": True,
        }
        return [
            f"merchant's product {self.source_id} {key}: store {found[key]!r} != source {wanted[key]!r}"
            for key in wanted
            if found[key] != wanted[key]
        ]

    # the edits

    def eur_price(self, product: dict[str, Any], round_number: int) -> None:
        variant = self.sync_variant(product)
        if variant is None:
            raise SoakFailure(f"the merchant's product {self.source_id} has no variant with sku {self.sku}")
        amount = 10 + round_number + 0.5
        prices = [
            {"id": p["id"], "amount": p["amount"], "currency_code": p["currency_code"]}
            for p in variant["prices"]
            if p["currency_code"] != "eur"
        ]
        _ok(
            self.admin.post(
                f"/admin/products/{product['id']}/variants/{variant['id']}",
                json={"prices": [*prices, {"amount": amount, "currency_code": "eur"}]},
            )
        )
        self.own["eur"] = amount

    def eur_price_check(self, product: dict[str, Any]) -> str | None:
        variant = self.sync_variant(product) or {"prices": []}
        eur = [p["amount"] for p in variant["prices"] if p["currency_code"] == "eur"]
        return None if eur == [self.own["eur"]] else f"EUR prices {eur}, the merchant set {self.own['eur']}"

    def metadata_note(self, product: dict[str, Any], round_number: int) -> None:
        note = f"restock after round {round_number}"
        _ok(self.admin.post(f"/admin/products/{product['id']}", json={"metadata": {"merchant_note": note}}))
        self.own["note"] = note

    def metadata_note_check(self, product: dict[str, Any]) -> str | None:
        note = (product["metadata"] or {}).get("merchant_note")
        return (
            None
            if note == self.own["note"]
            else f"merchant_note {note!r}, the merchant set {self.own['note']!r}"
        )

    def _link_category(self, product: dict[str, Any], key: str, make: Callable[[], str]) -> None:
        if key not in self.own:
            self.own[key] = make()
        if self.own[key] not in {c["id"] for c in product["categories"]}:
            _ok(
                self.admin.post(
                    f"/admin/product-categories/{self.own[key]}/products", json={"add": [product["id"]]}
                )
            )

    def _link_tag(self, product: dict[str, Any], key: str, make: Callable[[], str]) -> None:
        if key not in self.own:
            self.own[key] = make()
        tags = [t["id"] for t in product["tags"]]
        if self.own[key] not in tags:
            _ok(
                self.admin.post(
                    f"/admin/products/{product['id']}",
                    json={"tags": [{"id": t} for t in [*tags, self.own[key]]]},
                )
            )

    def own_category(self, product: dict[str, Any], _round: int) -> None:
        def make() -> str:
            body = {"name": "Merchant picks", "handle": "merchant-picks", "is_active": True}
            return _ok(self.admin.post("/admin/product-categories", json=body))["product_category"]["id"]

        self._link_category(product, "category", make)

    def own_category_check(self, product: dict[str, Any]) -> str | None:
        return (
            None if self.own["category"] in {c["id"] for c in product["categories"]} else "own category gone"
        )

    def own_tag(self, product: dict[str, Any], _round: int) -> None:
        def make() -> str:
            return _ok(self.admin.post("/admin/product-tags", json={"value": "merchant-pick"}))[
                "product_tag"
            ]["id"]

        self._link_tag(product, "tag", make)

    def own_tag_check(self, product: dict[str, Any]) -> str | None:
        return None if self.own["tag"] in {t["id"] for t in product["tags"]} else "own tag gone"

    def second_channel(self, product: dict[str, Any], _round: int) -> None:
        if "channel" not in self.own:
            made = _ok(self.admin.post("/admin/sales-channels", json={"name": "Point of sale"}))
            self.own["channel"] = made["sales_channel"]["id"]
        if self.own["channel"] not in {c["id"] for c in product["sales_channels"]}:
            _ok(
                self.admin.post(
                    f"/admin/sales-channels/{self.own['channel']}/products", json={"add": [product["id"]]}
                )
            )

    def second_channel_check(self, product: dict[str, Any]) -> str | None:
        channels = {c["id"] for c in product["sales_channels"]}
        return None if self.own["channel"] in channels and len(channels) >= 2 else f"channels now {channels}"

    # the edits on members the sync also writes (left out by --merchant-edits basic)

    def large_variant(self, product: dict[str, Any], _round: int) -> None:
        if any(v.get("title") == "Large" for v in product["variants"]):
            return
        found = _ok(
            self.admin.get(
                f"/admin/products/{product['id']}", params={"fields": "id,*options,*options.values"}
            )
        )
        [option] = found["product"]["options"]
        if "Large" not in {v["value"] for v in option["values"]}:
            _ok(
                self.admin.post(
                    f"/admin/products/{product['id']}/options/batch",
                    json={"update": [{"product_option_id": option["id"], "add": [{"value": "Large"}]}]},
                )
            )
        body = {
            "title": "Large",
            "options": {option["title"]: "Large"},
            "manage_inventory": False,
            "prices": [{"amount": 49.5, "currency_code": "usd"}],
        }
        _ok(self.admin.post(f"/admin/products/{product['id']}/variants", json=body))

    def large_variant_check(self, product: dict[str, Any]) -> str | None:
        large = [v for v in product["variants"] if v.get("title") == "Large"]
        prices = [p["amount"] for v in large for p in v["prices"] if p["currency_code"] == "usd"]
        return (
            None if prices == [49.5] else f"variant Large with USD prices {prices}, the merchant set [49.5]"
        )

    HAND_IMAGE = "https://merchant.example/own-photo.webp"

    def hand_image(self, product: dict[str, Any], _round: int) -> None:
        urls = [i["url"] for i in product["images"]]
        if self.HAND_IMAGE not in urls:
            _ok(
                self.admin.post(
                    f"/admin/products/{product['id']}",
                    json={"images": [{"url": u} for u in [*urls, self.HAND_IMAGE]]},
                )
            )

    def hand_image_check(self, product: dict[str, Any]) -> str | None:
        return None if self.HAND_IMAGE in {i["url"] for i in product["images"]} else "hand-added image gone"

    def cross_listing(self, product: dict[str, Any], _round: int) -> None:
        """Into another category the sync created (the first by handle that is not its own)."""

        def make() -> str:
            own = {c["handle"] for c in product["categories"]}
            listed = _ok(self.admin.get("/admin/product-categories", params={"limit": 1000}))
            synced = {c["handle"]: c["id"] for c in listed["product_categories"]}
            sources = {p["category"] for p in self.catalog} - own
            return synced[min(sources)]

        self._link_category(product, "cross_listing", make)

    def cross_listing_check(self, product: dict[str, Any]) -> str | None:
        linked = self.own["cross_listing"] in {c["id"] for c in product["categories"]}
        return None if linked else "cross-listing into a synced category gone"

    def shared_tag(self, product: dict[str, Any], _round: int) -> None:
        """A tag other source products use (the first by value that is not its own)."""

        def make() -> str:
            own = {t["value"] for t in product["tags"]}
            value = min({t for p in self.catalog for t in p.get("tags") or []} - own)
            listed = _ok(self.admin.get("/admin/product-tags", params={"value": value}))
            return listed["product_tags"][0]["id"]

        self._link_tag(product, "shared_tag", make)

    def shared_tag_check(self, product: dict[str, Any]) -> str | None:
        return None if self.own["shared_tag"] in {t["id"] for t in product["tags"]} else "shared tag gone"


def _edit(name: str) -> MerchantEdit:
    return MerchantEdit(name, getattr(Merchant, name), getattr(Merchant, f"{name}_check"))


# Every hand edit the sync must keep (``all``, the default), or only those on members the sync never
# owns (``basic``: no variant, image, cross-listing into a synced category or shared tag). Add an
# edit here, with its method and its ``_check``.
MERCHANT_EDITS = {
    "basic": [_edit(n) for n in ("eur_price", "metadata_note", "own_category", "own_tag", "second_channel")],
}
MERCHANT_EDITS["all"] = [
    *MERCHANT_EDITS["basic"],
    *(_edit(n) for n in ("large_variant", "hand_image", "cross_listing", "shared_tag")),
]


# --- the soak --------------------------------------------------------------------------------------


@dataclass
class Armed:
    """A fault in place for one run: how to take it away, and what it did."""

    disarm: Callable[[], None] = lambda: None
    fired: Callable[[], str] = lambda: ""
    during: Callable[[str], None] = lambda _run_id: None  # runs while the run runs (the kill)
    conf: dict[str, Any] = field(default_factory=dict)


class Soak:
    """The rounds, on running pieces: an Airflow cluster whose connections point at ``catalog`` and
    at ``proxy`` (in front of ``store``)."""

    def __init__(
        self,
        cluster: ac.AirflowCluster,
        catalog: CatalogServer,
        proxy: CountingProxy,
        store: Any,
        *,
        seed: int,
        rounds: int,
        merchant_edits: str = "all",
        out: Callable[[str], None] = print,
    ) -> None:
        self.cluster, self.catalog, self.proxy, self.store = cluster, catalog, proxy, store
        self.seed, self.rounds = seed, rounds
        self.rng = random.Random(seed)
        self.edits = MERCHANT_EDITS[merchant_edits]
        self.out = out
        self.rows: list[Row] = []
        self.removed: dict[int, dict[str, Any]] = {}  # source records gone upstream, to re-add later
        self.next_id = NEW_IDS_FROM
        self.deck: list[str] = []
        self.merchant: Merchant | None = None

    # running

    def run(self) -> list[Row]:
        """Every round, then the exact check; raises ``SoakFailure`` at the first broken invariant."""
        self.out(
            f"soak seed {self.seed}: {self.rounds} rounds, merchant edits {[e.name for e in self.edits]}"
        )
        self.out(table_header())
        self._first_sync()
        for number in range(1, self.rounds + 1):
            self._round(number, self.rng.randrange(1 << 31))
        self._final()
        return self.rows

    def _fail(self, where: str, round_seed: object, problems: list[str]) -> SoakFailure:
        listed = "\n  - ".join(problems[:40])
        return SoakFailure(
            f"soak seed {self.seed}, {where} (round seed {round_seed}): "
            f"{len(problems)} problem(s):\n  - {listed}"
        )

    def _emit(self, row: Row) -> None:
        self.rows.append(row)
        self.out(table_line(row))

    def _trigger(
        self, conf: dict[str, Any], during: Callable[[str], None] = lambda _r: None
    ) -> tuple[str, str]:
        run_id = self.cluster.api.trigger(DAG_ID, conf=conf)
        during(run_id)
        return run_id, self.cluster.wait_for_run(DAG_ID, run_id, timeout=RUN_TIMEOUT)

    def _first_sync(self) -> None:
        products = self.catalog.products
        run_id, state = self._trigger({})
        problems = [] if state == "success" else [f"the first sync {run_id} ended {state}"]
        problems += exact_store_problems(self.store, products)
        if not problems:
            source_id = self.rng.choice(sorted(r["id"] for r in products))
            self.merchant = Merchant(self.store, products, source_id, self.edits)
            self.merchant.edit(0)
            problems += self.merchant.problems()
        row = Row(
            "0",
            str(self.seed),
            "none (first sync)",
            "-",
            f"merchant edits product {self.merchant.source_id if self.merchant else '?'}",
            "ignore",
            state,
            checks="exact" if not problems else "FAILED",
        )
        self._emit(row)
        if problems:
            raise self._fail("round 0 (first sync)", self.seed, problems)

    def _round(self, number: int, round_seed: int) -> None:
        assert self.merchant is not None
        rng = random.Random(round_seed)
        if not self.deck:
            self.deck = list(FAULTS)
            self.rng.shuffle(self.deck)
        fault = self.deck.pop()
        on_missing = rng.choice(ON_MISSING)
        row = Row(str(number), str(round_seed), fault, "", "", on_missing, "")
        try:
            self.merchant.edit(number)
            products, mutations = self._mutate(rng, number)
            self.catalog.replace_products(products)
            row.mutations = ", ".join(mutations)
            before = ours(store_products(self.store))
            before_upstream = {r["id"] for r in products}
            conf = {"on_missing": on_missing, "page_size": rng.choice((30, 50, 100))}
            armed = self._arm(fault, rng, number)
            try:
                run_id, row.run = self._trigger({**conf, **armed.conf}, armed.during)
                row.run = (
                    self._as_a_person_would(run_id, row.run)
                    if fault == "worker_killed_mid_batch"
                    else row.run
                )
            finally:
                row.fired = armed.fired()  # before disarming: taking a catalog fault away resets its counts
                armed.disarm()
            problems = self._after_run(before, before_upstream & {r["id"] for r in self.catalog.products})
            if not problems and (row.run != "success" or self._unconverged(on_missing)):
                _, row.follow_up = self._trigger(conf)
                if row.follow_up != "success":
                    problems.append(f"the fault-free follow-up run ended {row.follow_up}")
                problems += self._after_run(
                    before, before_upstream & {r["id"] for r in self.catalog.products}
                )
                problems += self._unconverged(on_missing)
        except SoakFailure as error:
            problems = [str(error)]
        except Exception as error:  # a run that never ends, a cluster that dies: the soak failed
            problems = [f"{type(error).__name__}: {error}"]
        row.checks = "ok" if not problems else "FAILED"
        self._emit(row)
        if problems:
            raise self._fail(f"round {number} ({fault}, on_missing={on_missing})", round_seed, problems)

    def _final(self) -> None:
        assert self.merchant is not None
        row = Row("final", "-", "none (follow-up)", "-", "-", "delete", "")
        try:
            run_id, row.run = self._trigger({"on_missing": "delete"})
            products = self.catalog.products
            problems = [] if row.run == "success" else [f"the final run {run_id} ended {row.run}"]
            problems += exact_store_problems(self.store, products, hand_edited={self.merchant.source_id})
            problems += self._unconverged("delete")
        except Exception as error:
            problems = [f"{type(error).__name__}: {error}"]
        row.checks = "exact" if not problems else "FAILED"
        self._emit(row)
        if problems:
            raise self._fail("the final fault-free run", "-", problems)

    def _as_a_person_would(self, run_id: str, state: str) -> str:
        """A run whose batch died with its worker: clear the failed batches (and downstream) once."""
        if state != "failed":
            return state
        api = self.cluster.api
        api.clear_failed(DAG_ID, run_id, task_ids=["upsert_batch"], include_downstream=True)
        deadline = time.monotonic() + 60
        while api.run_state(DAG_ID, run_id) == "failed" and time.monotonic() < deadline:
            time.sleep(0.5)
        return "failed, cleared: " + self.cluster.wait_for_run(DAG_ID, run_id, timeout=RUN_TIMEOUT)

    # checks

    def _after_run(self, before: dict[int, dict[str, Any]], still_upstream: set[int]) -> list[str]:
        """After any run, faulted or not: nothing still upstream lost, no duplicate, merchant edits kept."""
        assert self.merchant is not None
        products = store_products(self.store)
        problems = [
            f"{external_id} is in the store {count} times"
            for external_id, count in Counter(p["external_id"] for p in products).items()
            if external_id and count > 1
        ]
        now = ours(products)
        for source_id in sorted(still_upstream):
            had = before.get(source_id)
            if had is None or had["status"] != "published":
                continue
            if source_id not in now:
                problems.append(f"product {source_id} is still upstream but was removed from the store")
            elif now[source_id]["status"] != "published":
                problems.append(
                    f"product {source_id} is still upstream but is now {now[source_id]['status']}"
                )
        return problems + self.merchant.problems()

    def _unconverged(self, on_missing: str) -> list[str]:
        """What keeps the store from being in step with the source after a successful run."""
        assert self.merchant is not None
        products = self.catalog.products
        store = ours(store_products(self.store))
        problems = []
        for record in products:
            found = store.get(record["id"])
            if found is None:
                problems.append(f"product {record['id']} is upstream but not in the store")
            elif record["id"] == self.merchant.source_id:
                problems += self.merchant.upstream_problems(record)
            else:
                problems += [f"product {record['id']}: {d}" for d in differences(found, record)]
                if found["status"] != "published":
                    problems.append(f"product {record['id']} is upstream but {found['status']}")
        upstream = {r["id"] for r in products}
        for source_id, found in sorted(store.items()):
            if source_id in upstream or on_missing == "ignore":
                continue
            if on_missing == "delete":
                problems.append(
                    f"product {source_id} is gone upstream but still in the store (on_missing=delete)"
                )
            elif found["status"] != "draft":
                problems.append(
                    f"product {source_id} is gone upstream but {found['status']} (on_missing=draft)"
                )
        return problems

    # upstream mutations

    def _new_product(self, rng: random.Random, products: list[dict[str, Any]]) -> dict[str, Any]:
        new_id, self.next_id = self.next_id, self.next_id + 1
        base = copy.deepcopy(rng.choice(products))
        base.update(id=new_id, sku=f"SOAK-{new_id}", title=f"{base['title']} Soak {new_id}")
        base.setdefault("meta", {})["barcode"] = f"{new_id:013d}"
        return base

    def _mutate(self, rng: random.Random, number: int) -> tuple[list[dict[str, Any]], list[str]]:
        """This round's upstream changes: always one price change (so every write fault has a write
        to hit), then up to three more of any kind."""
        assert self.merchant is not None
        products = copy.deepcopy(self.catalog.products)
        by_id = {r["id"]: r for r in products}
        done = []
        kinds = [
            "price",
            *rng.choices(("price", "title", "images", "add", "remove", "re-add"), k=rng.randint(0, 3)),
        ]
        for kind in kinds:
            record = by_id[rng.choice(sorted(by_id))]
            if kind == "price":
                record["price"] = round(max(0.5, record["price"] * rng.uniform(0.7, 1.3)), 2)
            elif kind == "title":
                record["title"] = f"{record['title'].split(' (rev ')[0]} (rev {number})"
            elif kind == "images":
                record["images"] = [
                    f"https://cdn.soak.example/{record['id']}/{number}-{i}.webp"
                    for i in range(rng.randint(1, 3))
                ]
                record["thumbnail"] = record["images"][0]
            elif kind == "add":
                record = self._new_product(rng, products)
                products.append(record)
                by_id[record["id"]] = record
            elif kind == "remove":
                if len(self.removed) >= MAX_REMOVED or record["id"] == self.merchant.source_id:
                    continue
                products.remove(record)
                del by_id[record["id"]]
                self.removed[record["id"]] = record
            elif kind == "re-add":
                if not self.removed:
                    continue
                record = self.removed.pop(rng.choice(sorted(self.removed)))
                products.append(record)
                by_id[record["id"]] = record
            done.append(f"{kind} {record['id']}")
        return products, done

    # faults

    def _arm(self, fault: str, rng: random.Random, number: int) -> Armed:
        catalog, proxy = self.catalog, self.proxy
        if fault == "source_503_429":
            catalog.set_faults(
                Faults(
                    error_rate=0.3,
                    error_status=503,
                    burst_429=rng.randint(1, 3),
                    retry_after=1,
                    seed=rng.randrange(1 << 30),
                )
            )
            return Armed(catalog.reset_faults, lambda: _counts(catalog.fault_counts))
        if fault == "empty_page":
            skip = rng.choice((50, 100, 150))
            catalog.set_faults(Faults(empty_from_skip=skip))
            return Armed(
                catalog.reset_faults,
                lambda: f"empty from skip {skip}: {_counts(catalog.fault_counts)}",
                conf={"page_size": 50},
            )
        if fault == "catalog_edited_mid_read":
            assert self.merchant is not None
            products = catalog.products
            # A removal before the last page boundary shifts every later offset by one.
            candidates = [r["id"] for r in products[:140] if r["id"] != self.merchant.source_id]
            gone = rng.choice(candidates)
            added = self._new_product(rng, products)
            record = next(r for r in products if r["id"] == gone)
            if len(self.removed) < MAX_REMOVED:
                self.removed[gone] = record
            catalog.edit_after_first_page(gone, added)
            return Armed(
                fired=lambda: f"removed {gone}, added {added['id']} after page 1", conf={"page_size": 50}
            )
        if fault == "medusa_5xx_on_writes":
            times = rng.choice((3, 7, -1))
            injected = proxy.inject(
                Fault("POST", "/admin/products", status=rng.choice((500, 502, 503)), times=times)
            )
            return Armed(
                lambda: proxy.remove(injected),
                lambda: f"{injected.fired} x {injected.status} (times {times})",
            )
        if fault == "answer_lost_after_commit":
            lost = proxy.inject(
                Fault("POST", BATCH, status=504, forward=True, body={"message": "gateway timeout"})
            )
            return Armed(lambda: proxy.remove(lost), lambda: f"{lost.fired} answer(s) lost after commit")
        if fault == "worker_killed_mid_batch":
            return self._arm_kill(rng)
        raise ValueError(f"unknown fault {fault!r}")

    def _arm_kill(self, rng: random.Random) -> Armed:
        """Hold the first batch request at the proxy, kill the worker's task process meanwhile; the
        held request still reaches Medusa afterwards (the write lands, its sender is dead)."""
        held = self.proxy.watch(Watch("POST", BATCH, delay=rng.choice((5.0, 15.0))))
        killed: list[str] = []

        def during(run_id: str) -> None:
            deadline = time.monotonic() + RUN_TIMEOUT
            while held.count == 0 and time.monotonic() < deadline:
                if self.cluster.api.run_state(DAG_ID, run_id) in ac.FINISHED_RUN_STATES:
                    return
                time.sleep(0.2)
            with contextlib.suppress(ValueError):
                self.proxy.unwatch(held)  # only the first batch waits
            for ti in self.cluster.api.task_instances(DAG_ID, run_id):
                if ti["task_id"] == "upsert_batch" and ti["state"] == "running":
                    process = self.cluster.task_process(DAG_ID, run_id, "upsert_batch", ti["map_index"])
                    if process is not None:
                        os.kill(process.task_pid, signal.SIGKILL)
                        killed.append(f"upsert_batch[{ti['map_index']}]")
                        return

        def disarm() -> None:
            with contextlib.suppress(ValueError):
                self.proxy.unwatch(held)

        return Armed(disarm, lambda: f"killed {', '.join(killed)}" if killed else "no batch to kill", during)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items() if n) or "none fired"


# --- the command -----------------------------------------------------------------------------------


@contextlib.contextmanager
def soak_stack(
    home: Path, catalog_file: Path
) -> Iterator[tuple[ac.AirflowCluster, CatalogServer, CountingProxy, medusa_store.MedusaStore]]:
    """A Medusa of its own, the catalog server, the proxy and an Airflow, torn down afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    store_template = medusa_store.migrate_template()
    airflow_template = None
    try:
        airflow_template = ac.migrate_template(home / "airflow_template")
        with (
            medusa_store.open_store(store_template, home) as store,
            CatalogServer(load_catalog(catalog_file)) as catalog,
        ):
            proxy = CountingProxy(store.url).start()
            try:
                connections = {
                    "medusa_default": medusa_connection(proxy.url, api_key=store.api_key),
                    "dummyjson_default": source_connection(catalog.url),
                }
                with ac.AirflowCluster(
                    home / "airflow", airflow_template, connections=connections, env=ac.FAST_RETRIES
                ) as cluster:
                    cluster.start()
                    cluster.api.unpause(DAG_ID)
                    yield cluster, catalog, proxy, store
            finally:
                proxy.stop()
    finally:
        ms.drop_database(store_template.database)
        if airflow_template is not None:
            ms.drop_database(airflow_template.database)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./dev soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed first)")
    parser.add_argument(
        "--merchant-edits",
        choices=sorted(MERCHANT_EDITS),
        default="all",
        help="'basic' leaves out the variant, image, cross-listing and shared tag",
    )
    parser.add_argument("--catalog-file", type=Path, default=REAL_CATALOG_FILE)
    parser.add_argument("--table", type=Path, help="also write the table (markdown) to this file")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(1 << 31)
    # Stopped with SIGTERM, tear the stack down as on Ctrl-C (servers stopped, databases dropped).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"soak seed {seed}", flush=True)
    started = time.monotonic()
    home = REPO / ".devstack" / "soak" / f"{time.strftime('%Y%m%dT%H%M%S')}-{seed}"
    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    status = 0
    try:
        with soak_stack(home, args.catalog_file) as (cluster, catalog, proxy, store):
            Soak(
                cluster,
                catalog,
                proxy,
                store,
                seed=seed,
                rounds=args.rounds,
                merchant_edits=args.merchant_edits,
                out=out,
            ).run()
    except SoakFailure as failure:
        print(f"\nSOAK FAILED: {failure}\n(logs and run folders kept in {home})", file=sys.stderr, flush=True)
        status = 1
    minutes = (time.monotonic() - started) / 60
    if args.table:
        args.table.write_text("\n".join(lines) + "\n")
    print(f"\nsoak seed {seed}: {'passed' if status == 0 else 'FAILED'} in {minutes:.1f} min", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
