"""Stock levels, pure: the source's ``stock`` as a quantity Medusa can hold, and which inventory
levels a run must write to bring a stock location in step (no I/O; the operators feed it).

A stock Medusa cannot hold (negative, not a whole number, missing) never stops the product from
syncing: it is quarantined on its own, and that product's level is left as it is.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


def parse_stock(raw: Any) -> tuple[int | None, str | None]:
    """``(quantity, None)`` for a stock Medusa can hold, else ``(None, reason)``."""
    if raw is None:
        return None, "stock: missing"
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None, f"stock: {_show(raw)} is not an integer"
    if isinstance(raw, float) and (not math.isfinite(raw) or not raw.is_integer()):
        return None, f"stock: {_show(raw)} is not an integer"
    if raw < 0:
        return None, f"stock: {_show(raw)} is negative"
    return int(raw), None


def _show(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class StoreLevel:
    """A synced variant's inventory as the store holds it at the sync's stock location.

    ``level_id`` is None when the inventory item has no level there yet; ``inventory_item_id``
    is None when the variant has no inventory item (not managed by inventory yet).
    """

    external_id: str
    inventory_item_id: str | None
    stocked_quantity: int | None = None
    level_id: str | None = None


# What the store must tell about each product to plan its level: one list request per page.
# Levels come for every location; the one the sync keeps is picked out here.
STORE_LEVEL_FIELDS = (
    "id",
    "external_id",
    "variants.id",
    "variants.inventory_items.inventory_item_id",
    "variants.inventory_items.inventory.location_levels.id",
    "variants.inventory_items.inventory.location_levels.location_id",
    "variants.inventory_items.inventory.location_levels.stocked_quantity",
)


def store_level(product: Mapping[str, Any], location_id: str) -> StoreLevel:
    """The synced (single) variant's inventory item and its level at ``location_id``."""
    variants = product.get("variants") or []
    links = (variants[0].get("inventory_items") or []) if variants else []
    if not links:
        return StoreLevel(product["external_id"], None)
    item = links[0]
    levels = (item.get("inventory") or {}).get("location_levels") or []
    here = next((level for level in levels if level.get("location_id") == location_id), None)
    if here is None:
        return StoreLevel(product["external_id"], item["inventory_item_id"])
    return StoreLevel(
        product["external_id"], item["inventory_item_id"], _whole(here.get("stocked_quantity")), here["id"]
    )


def _whole(value: Any) -> int | None:
    """A stored quantity as a whole number when it is one (Medusa accepts fractions; the sync never
    writes one, so a fractional level always differs from the source)."""
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    return None


@dataclass
class LevelPlan:
    """The level writes of one run: ``create`` and ``update`` hold the batch endpoint's items."""

    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    # Source products the store has no synced variant for yet (the catalog sync creates them).
    not_in_store: list[str] = field(default_factory=list)
    # Synced variants without an inventory item: not managed by inventory (yet).
    unmanaged: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.create) + len(self.update)

    def describe(self) -> str:
        """The plan in one log line."""
        return (
            f"{len(self.create)} to create, {len(self.update)} to update, {self.unchanged} unchanged, "
            f"{len(self.not_in_store)} products not in the store yet, {len(self.unmanaged)} variants "
            "not managed by inventory"
        )

    def outcome(self, *, location_id: str, dry_run: bool, superseded: int, requests: int) -> dict[str, Any]:
        """What ``stock.json`` says of the run: what was written, planned, held back and skipped."""
        return {
            "location_id": location_id,
            "dry_run": dry_run,
            "created": 0 if dry_run else len(self.create),
            "updated": 0 if dry_run else len(self.update),
            "planned_create": len(self.create),
            "planned_update": len(self.update),
            "unchanged": self.unchanged,
            "superseded": superseded,
            "not_in_store": len(self.not_in_store),
            "unmanaged": len(self.unmanaged),
            "requests": requests,
        }


def source_stock(records: Iterable[Mapping[str, Any]], prefix: str) -> dict[str, int]:
    """``external id -> stock`` of every record the fetch kept with a stock Medusa can hold (a
    quarantined stock is absent: its level is left as it is)."""
    return {f"{prefix}{r['id']}": int(r["stock"]) for r in records if r.get("stock") is not None}


def store_levels(
    products: Iterable[Mapping[str, Any]], location_id: str, prefix: str
) -> dict[str, StoreLevel]:
    """``external id -> StoreLevel`` of the synced products in a listing (``STORE_LEVEL_FIELDS``)."""
    return {
        p["external_id"]: store_level(p, location_id)
        for p in products
        if str(p.get("external_id") or "").startswith(prefix)
    }


def plan_levels(source: Mapping[str, int], store: Mapping[str, StoreLevel], location_id: str) -> LevelPlan:
    """What to write so each synced variant's level at ``location_id`` holds the source's stock.

    ``source`` maps external id to quantity (only valid stocks). Products absent from
    ``source`` (a quarantined stock, or gone upstream) keep their level as it is; an equal
    quantity writes nothing. Only ``stocked_quantity`` is ever sent: reservations are Medusa's.
    """
    plan = LevelPlan()
    for external_id, quantity in source.items():
        held = store.get(external_id)
        if held is None:
            plan.not_in_store.append(external_id)
        elif held.inventory_item_id is None:
            plan.unmanaged.append(external_id)
        elif held.level_id is None:
            plan.create.append(_level(held.inventory_item_id, location_id, quantity))
        elif held.stocked_quantity != quantity:
            plan.update.append(_level(held.inventory_item_id, location_id, quantity))
        else:
            plan.unchanged += 1
    return plan


def _level(inventory_item_id: str, location_id: str, quantity: int) -> dict[str, Any]:
    return {"inventory_item_id": inventory_item_id, "location_id": location_id, "stocked_quantity": quantity}


def chunks(items: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
    held = len(plan.update)
    plan.update = []
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
