"""What the store looked like when an item was planned, and whether it still does.

Invariant: an item planned against one store state is written only if the store is still in that
state when it is sent. A batch cleared days later (or retried after a newer run) must never write
older data over newer, so each update, draft and delete carries the product's ``updated_at`` and
sync hash from plan time, and ``upsert_batch`` compares them with the store just before sending.
Pure: data in, verdict out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.mapping import HASH_KEY

Verdict = Literal["send", "in_step", "superseded", "not_found"]


def planned_state(product: StoreProduct) -> dict[str, Any]:
    """The part of a store product an item is planned against (and its external id, for reports)."""
    return {
        "updated_at": product.updated_at,
        "sync_hash": product.sync_hash,
        "external_id": product.external_id,
    }


def _in_desired_state(kind: str, item: Any, current: StoreProduct) -> bool:
    if kind == "delete":
        return False
    desired_hash = (item.get("metadata") or {}).get(HASH_KEY)
    if item.get("status") == "draft" and desired_hash == "":
        return current.status == "draft" and not current.sync_hash
    return current.sync_hash == desired_hash


def verdict(kind: str, item: Any, planned: Mapping[str, Any] | None, current: StoreProduct | None) -> Verdict:
    """Decide one update/draft/delete item (``kind`` is the batch key: update or delete).

    * ``send``: the store is as planned (or no plan state was recorded): write it.
    * ``in_step``: the store already holds what the item would write (an earlier attempt of this
      batch committed it); nothing to send.
    * ``superseded``: the store moved since the plan (a newer run, a person in the admin):
      writing now would roll it back.
    * ``not_found``: the product is gone from the store.
    """
    if current is None:
        return "not_found"
    if planned is not None and _as_planned(planned, current):
        return "send"
    if _in_desired_state(kind, item, current):
        return "in_step"
    return "send" if planned is None else "superseded"


def create_verdict(item: Mapping[str, Any], existing: StoreProduct | None) -> Verdict:
    """A create whose external id may already be in the store (looked up on retries only).

    Equal hash: an earlier attempt of this batch created it (``in_step``). Another hash: someone
    changed it since, or a newer run created it: writing the older plan would roll that back.
    """
    if existing is None:
        return "send"
    return "in_step" if existing.sync_hash == item["metadata"][HASH_KEY] else "superseded"


def _as_planned(planned: Mapping[str, Any], current: StoreProduct) -> bool:
    return planned.get("updated_at") == current.updated_at and planned.get("sync_hash") == current.sync_hash
