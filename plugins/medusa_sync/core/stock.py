"""Stock levels: the source's ``stock`` as a quantity Medusa can hold, and which inventory levels a
run must write to bring a stock location in step: one level per product without variants (its one
variant's), one per variant of a product with variants (the Medusa variant whose metadata
``source_variant_id`` is the source variant's id); a merchant's variant is never touched. No
network (the operators feed it); the plan of a whole catalog is made in a task-local SQLite file,
so its memory does not grow with the catalog.

A stock Medusa cannot hold (negative, not a whole number, missing) never stops the product from
syncing: it is quarantined on its own, and that product's level is left as it is.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from medusa_sync.core.number_rules import STOCK, NumberProblem
from medusa_sync.core.ownership import SOURCE_VARIANT_KEY, sync_variant_id
from medusa_sync.core.scratch import ScratchDb

log = logging.getLogger(__name__)


def parse_stock(raw: Any) -> tuple[int | None, str | None]:
    """``(quantity, None)`` for a stock Medusa can hold, else ``(None, reason)``: a whole JSON
    number from 0 to 2**53 - 1 (``core.number_rules.STOCK``; JavaScript rounds a larger one, so the
    level read back would differ from the source every day)."""
    if raw is None:
        return None, "stock: missing"
    try:
        return int(STOCK.exact(raw)), None
    except NumberProblem as problem:
        return None, f"stock: {problem}"


@dataclass(frozen=True)
class StoreLevel:
    """A synced variant's inventory as the store holds it at the sync's stock location.

    ``level_id`` is None when the inventory item has no level there yet; ``inventory_item_id``
    is None when the variant has no inventory item (not managed by inventory yet).
    ``source_variant_id`` is "" for the one variant of a product without variants.
    """

    external_id: str
    inventory_item_id: str | None
    stocked_quantity: int | None = None
    level_id: str | None = None
    source_variant_id: str = ""


# What the store must tell about each product to plan its level: one list request per page.
# Levels come for every location; the one the sync keeps is picked out here.
STORE_LEVEL_FIELDS = (
    "id",
    "external_id",
    "variants.id",
    # Which variant is the sync's (``ownership.sync_variant_id``): a merchant may add others.
    "variants.options.value",
    # Which source variant a variant is (``SOURCE_VARIANT_KEY``); the sync keeps a few short keys
    # there, and Medusa cannot send one key of a JSON column alone.
    "variants.metadata",
    "variants.inventory_items.inventory_item_id",
    "variants.inventory_items.inventory.location_levels.id",
    "variants.inventory_items.inventory.location_levels.location_id",
    "variants.inventory_items.inventory.location_levels.stocked_quantity",
)


def store_level(product: Mapping[str, Any], location_id: str) -> StoreLevel:
    """The sync's variant's inventory item and its level at ``location_id``, for a product
    without variants.

    A variant a merchant added beside it keeps its own stock: never the first variant, the sync's
    (on the sync's option value; a product with one variant, that one).
    """
    variants = {v["id"]: v for v in product.get("variants") or () if v and v.get("id")}
    ours = sync_variant_id(product) or (next(iter(variants)) if len(variants) == 1 else None)
    return _variant_level(product["external_id"], variants.get(ours) if ours else None, location_id)


def source_variant_of(variant: Mapping[str, Any]) -> str | None:
    """The source variant id a Medusa variant was written for; None for a merchant's variant."""
    value = (variant.get("metadata") or {}).get(SOURCE_VARIANT_KEY)
    return None if value is None or value == "" else str(value)


def store_levels(product: Mapping[str, Any], location_id: str) -> list[StoreLevel]:
    """Every level the sync keeps on a listed product (``STORE_LEVEL_FIELDS``).

    A product none of whose variants carries a source variant id is today's one-variant product:
    its one level, as ``store_level`` finds it. Otherwise, one level per variant that carries one
    (keyed by it), plus the sync's one-variant variant if the product still holds it; a variant
    without a source variant id is a merchant's and is left out, whichever comes first.
    """
    variants = [v for v in product.get("variants") or () if v and v.get("id")]
    if not any(v.get("metadata") for v in variants):  # most products: no need to look closer
        return [store_level(product, location_id)]
    keyed = [(key, v) for v in variants if (key := source_variant_of(v)) is not None]
    if not keyed:
        return [store_level(product, location_id)]
    external_id = product["external_id"]
    found = [_variant_level(external_id, v, location_id, source_variant_id=key) for key, v in keyed]
    single = sync_variant_id(product)
    if single and single not in {v["id"] for _, v in keyed}:
        found.append(_variant_level(external_id, next(v for v in variants if v["id"] == single), location_id))
    return found


def _variant_level(
    external_id: str, variant: Mapping[str, Any] | None, location_id: str, *, source_variant_id: str = ""
) -> StoreLevel:
    """One variant's inventory item and its level at ``location_id`` (None: no such variant)."""
    links = (variant.get("inventory_items") or []) if variant else []
    if not links:
        return StoreLevel(external_id, None, source_variant_id=source_variant_id)
    item = links[0]
    levels = (item.get("inventory") or {}).get("location_levels") or []
    here = next((level for level in levels if level.get("location_id") == location_id), None)
    if here is None:
        return StoreLevel(external_id, item["inventory_item_id"], source_variant_id=source_variant_id)
    return StoreLevel(
        external_id,
        item["inventory_item_id"],
        _whole(here.get("stocked_quantity")),
        here["id"],
        source_variant_id,
    )


def _whole(value: Any) -> int | None:
    """A stored quantity as a whole number when it is one (Medusa accepts fractions; the sync never
    writes one, so a fractional level always differs from the source)."""
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    return None


# The two sides of the plan, one row per level the sync keeps: (external id, source variant id),
# the variant id "" for a product without variants. A million products cost disk, not memory.
# Quantities are kept as decimal text (``parse_stock`` caps them at 2**53 - 1, SQLite integers stop
# at 2**63; the text of a Python int is unique, so equality holds either way). ``seq`` is the
# listing order, so that of two products with one external id the first listed is kept.
_LEVEL_SCHEMA = """
CREATE TABLE source (external_id TEXT NOT NULL, variant TEXT NOT NULL, stock TEXT NOT NULL,
                     PRIMARY KEY (external_id, variant)) WITHOUT ROWID;
CREATE TABLE store (external_id TEXT NOT NULL, variant TEXT NOT NULL, seq INTEGER NOT NULL,
                    product_id TEXT, inventory_item_id TEXT, stocked_quantity TEXT, level_id TEXT,
                    PRIMARY KEY (external_id, variant)) WITHOUT ROWID;
"""

# Which source levels fall in each kind, over ``source s LEFT JOIN store t``: the same order of
# questions a single level is asked (in the store? managed? a level here? the same quantity?).
# ``IS NOT`` makes a NULL stored quantity (a fractional level) differ from every source stock.
_LEVEL_HERE = "t.inventory_item_id IS NOT NULL AND t.level_id IS NOT NULL"
_KINDS = {
    "not_in_store": "t.external_id IS NULL",
    "unmanaged": "t.external_id IS NOT NULL AND t.inventory_item_id IS NULL",
    "create": "t.inventory_item_id IS NOT NULL AND t.level_id IS NULL",
    "update": f"{_LEVEL_HERE} AND t.stocked_quantity IS NOT s.stock",
    "unchanged": f"{_LEVEL_HERE} AND t.stocked_quantity IS s.stock",
}
_FROM = "FROM source s LEFT JOIN store t ON t.external_id = s.external_id AND t.variant = s.variant"
# Of two products listed with one external id, the rows of all but the first listed go: only one
# of them is kept in step (the catalog's ``StoreIndex`` keeps the same one).
_LATER_TWINS = """
DELETE FROM store WHERE external_id IN (
    SELECT external_id FROM store GROUP BY external_id HAVING count(DISTINCT product_id) > 1
) AND product_id IS NOT (
    SELECT first.product_id FROM store first
    WHERE first.external_id = store.external_id ORDER BY first.seq LIMIT 1
)
"""
# The kinds that are written, and so streamed: the batch endpoint's two lists.
WRITE_KINDS = ("create", "update")


@dataclass
class LevelPlan:
    """The level writes of one run, as counts; ``chunks`` reads the items from the index.

    A count is what gets written: ``chunks`` yields nothing for a kind whose count is zero, so
    zeroing ``update`` (``hold_back_older``) leaves the store's levels as they are.
    """

    index: LevelIndex = field(repr=False, compare=False)
    location_id: str
    create: int = 0
    update: int = 0
    unchanged: int = 0
    # Source levels the store has no synced variant for yet (the catalog sync creates them): a
    # product without variants not created yet, or a variant of a product with variants.
    not_in_store: int = 0
    # Synced variants without an inventory item: not managed by inventory (yet).
    unmanaged: int = 0

    @property
    def writes(self) -> int:
        return self.create + self.update

    def chunks(self, kind: str, size: int) -> Iterator[list[dict[str, Any]]]:
        """The batch endpoint's items of ``kind`` (``create`` or ``update``), ``size`` a list."""
        if kind not in WRITE_KINDS:
            raise ValueError(f"{kind!r} is not a kind of level write ({', '.join(WRITE_KINDS)})")
        if size < 1:  # fetchmany(0) reads nothing: the writes would be silently skipped
            raise ValueError(f"a chunk holds at least one level, not {size}")
        if not getattr(self, kind):
            return iter(())
        return self.index.items(kind, self.location_id, size)

    def describe(self) -> str:
        """The plan in one log line."""
        return (
            f"{self.create} to create, {self.update} to update, {self.unchanged} unchanged, "
            f"{self.not_in_store} products or variants not in the store yet, {self.unmanaged} "
            "variants not managed by inventory"
        )

    def outcome(self, *, location_id: str, dry_run: bool, superseded: int, requests: int) -> dict[str, Any]:
        """What ``stock.json`` says of the run: what was written, planned, held back and skipped."""
        return {
            "location_id": location_id,
            "dry_run": dry_run,
            "created": 0 if dry_run else self.create,
            "updated": 0 if dry_run else self.update,
            "planned_create": self.create,
            "planned_update": self.update,
            "unchanged": self.unchanged,
            "superseded": superseded,
            "not_in_store": self.not_in_store,
            "unmanaged": self.unmanaged,
            "requests": requests,
        }


class LevelIndex:
    """The source's stock and the store's levels of one run, in a task-local SQLite file.

    Both sides are streamed in (the run folder's pages, the store's paged listing) and planned
    with SQL; the writes are read back a batch at a time. Nothing held in Python grows with the
    catalog. Use as a context manager (or call ``close``): closing deletes the file, and a plan
    of this index can no longer be read.
    """

    def __init__(self, *, in_memory: bool = False) -> None:
        # ``in_memory`` for the small inputs of tests and one-off calls (see ``ScratchDb``).
        self._scratch = ScratchDb(_LEVEL_SCHEMA, in_memory=in_memory)
        self._db = self._scratch.db
        # Products listed so far (``add_store`` may be given the listing in parts).
        self._listed = 0

    def add_source(self, records: Iterable[Mapping[str, Any]], prefix: str) -> None:
        """Every level the fetch kept a stock Medusa can hold for, keyed by external id and source
        variant id (a quarantined stock is absent: its level is left as it is). Records of either
        fetch, whole products or stock records, of either shape (``StockRecord``). A repeated id
        keeps its last stock."""
        # executemany consumes the generator row by row: one page of records in memory at a time.
        self._db.executemany("INSERT OR REPLACE INTO source VALUES (?, ?, ?)", _source_rows(records, prefix))
        self._db.commit()

    def add_store(self, products: Iterable[Mapping[str, Any]], location_id: str, prefix: str) -> None:
        """The synced products of a listing (``STORE_LEVEL_FIELDS``), each with its levels at
        ``location_id`` (``store_levels``); the first product seen with an external id is the one
        kept, as in the catalog's ``StoreIndex``, so the levels written are those of the product
        it keeps in step."""
        listed = itertools.count(self._listed)
        rows = (
            (
                level.external_id,
                level.source_variant_id,
                seq,
                product.get("id"),
                level.inventory_item_id,
                None if level.stocked_quantity is None else str(level.stocked_quantity),
                level.level_id,
            )
            for seq, product in zip(listed, products, strict=False)
            if str(product.get("external_id") or "").startswith(prefix)
            for level in store_levels(product, location_id)
        )
        self._db.executemany("INSERT OR IGNORE INTO store VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self._listed = next(listed)
        self._db.execute(_LATER_TWINS)
        self._db.commit()

    def plan(self, location_id: str) -> LevelPlan:
        """What to write so each synced variant's level at ``location_id`` holds the source's stock.

        Products and variants absent from the source (a quarantined stock, or gone upstream) keep
        their level as it is; an equal quantity writes nothing. Only ``stocked_quantity`` is ever sent:
        reservations are Medusa's. ``location_id`` must be the one the store was added with.
        """
        counts = ", ".join(f"count(*) FILTER (WHERE {where})" for where in _KINDS.values())
        row = self._db.execute(f"SELECT {counts} {_FROM}").fetchone()
        return LevelPlan(self, location_id, **dict(zip(_KINDS, row, strict=True)))

    def items(self, kind: str, location_id: str, size: int) -> Iterator[list[dict[str, Any]]]:
        """The batch endpoint's items of ``kind``, ``size`` a list, by external id (a cursor: one
        list in memory at a time). A reading left halfway (a failed request) ends with the index."""
        cursor = self._db.execute(
            f"SELECT t.inventory_item_id, s.stock {_FROM} WHERE {_KINDS[kind]} "
            "ORDER BY s.external_id, s.variant"
        )
        while rows := cursor.fetchmany(size):
            yield [_level(item, location_id, int(stock)) for item, stock in rows]

    def close(self) -> None:
        self._scratch.close()

    def __enter__(self) -> LevelIndex:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _source_rows(records: Iterable[Mapping[str, Any]], prefix: str) -> Iterator[tuple[str, str, str]]:
    """``(external id, source variant id or "", stock)`` of every stock a record holds."""
    for record in records:
        external_id = f"{prefix}{record['id']}"
        variants = record.get("variants")
        if variants:  # a product with variants: a level per variant, none for the product
            for variant in variants:
                if variant.get("stock") is not None:
                    yield external_id, str(variant["id"]), str(int(variant["stock"]))
        elif record.get("stock") is not None:
            yield external_id, "", str(int(record["stock"]))


def _level(inventory_item_id: str, location_id: str, quantity: int) -> dict[str, Any]:
    return {"inventory_item_id": inventory_item_id, "location_id": location_id, "stocked_quantity": quantity}


# --- Newest wins: the stock watermark ---------------------------------------------------------
# Each run's fetch records when it read the source. The newest such time of a run that planned its
# levels for real is the watermark: a run whose read is older (cleared or retried later) still
# creates missing levels, but holds its level updates back, so older stock never overwrites newer.


def read_before(earlier: str, later: str) -> bool:
    """Whether the ISO 8601 time ``earlier`` comes before ``later``."""
    return datetime.fromisoformat(earlier) < datetime.fromisoformat(later)


def hold_back_older(plan: LevelPlan, fetched_at: str | None, mark: Mapping[str, Any] | None) -> int:
    """Drop the plan's level updates when the watermark ``mark`` is newer than this run's read;
    returns how many were held back (its creates stay: a missing level is never stale)."""
    if (
        not plan.update
        or mark is None
        or fetched_at is None
        or not read_before(fetched_at, mark["fetched_at"])
    ):
        return 0
    held = plan.update
    plan.update = 0
    log.warning(
        "the source was read at %s, before the stock %s/%s wrote (read at %s): %d level updates held "
        "back so older stock never overwrites newer; missing levels are still created",
        fetched_at,
        mark.get("dag_id"),
        mark.get("run_id"),
        mark["fetched_at"],
        held,
    )
    return held


def raised_watermark(
    mark: Mapping[str, Any] | None, fetched_at: str, *, dag_id: str, run_id: str
) -> dict[str, Any] | None:
    """The watermark moved forward to this run's read, or None when it already holds a newer one
    (it never moves back)."""
    if mark is None or read_before(mark["fetched_at"], fetched_at):
        return {"fetched_at": fetched_at, "dag_id": dag_id, "run_id": run_id}
    return None
