"""Sort desired products against the store: create, update, unchanged, or missing upstream.

Only products carrying our external-id prefix are ours; everything else in the store is only
read for its handle, so nothing made by hand or by another integration is ever touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from medusa_sync.fingerprint import HASH_KEY

Action = Literal["create", "update", "unchanged"]

# The least the diff needs from each store product; asked for once per run.
STORE_PRODUCT_FIELDS = ("id", "handle", "external_id", "status", "updated_at", "metadata", "variants.id")


@dataclass(frozen=True)
class StoreProduct:
    id: str
    external_id: str
    handle: str | None
    variant_id: str | None
    sync_hash: str | None
    status: str | None
    updated_at: str | None = None

    @classmethod
    def from_api(cls, product: Mapping[str, Any]) -> StoreProduct:
        variants = product.get("variants") or []
        return cls(
            id=product["id"],
            external_id=product.get("external_id") or "",
            handle=product.get("handle"),
            variant_id=variants[0]["id"] if variants else None,
            sync_hash=(product.get("metadata") or {}).get(HASH_KEY),
            status=product.get("status"),
            updated_at=product.get("updated_at"),
        )


@dataclass
class StoreIndex:
    """The store as the diff sees it: our products by external id, and every handle in use."""

    prefix: str
    ours: dict[str, StoreProduct] = field(default_factory=dict)
    handles: set[str] = field(default_factory=set)
    # External ids found on more than one product: a broken invariant to report, not to guess at.
    duplicated: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, products: Iterable[Mapping[str, Any]], *, prefix: str) -> StoreIndex:
        index = cls(prefix=prefix)
        for raw in products:
            product = StoreProduct.from_api(raw)
            if product.handle:
                index.handles.add(product.handle)
            if not product.external_id.startswith(prefix):
                continue
            if product.external_id in index.ours:
                first = index.ours[product.external_id].id
                index.duplicated.setdefault(product.external_id, [first]).append(product.id)
                continue
            index.ours[product.external_id] = product
        return index

    def missing_upstream(self, seen_external_ids: set[str]) -> list[StoreProduct]:
        return [p for ext, p in sorted(self.ours.items()) if ext not in seen_external_ids]


def classify(desired: Mapping[str, Any], existing: StoreProduct | None, *, full_refresh: bool) -> Action:
    if existing is None:
        return "create"
    if full_refresh or existing.sync_hash != desired["metadata"][HASH_KEY]:
        return "update"
    return "unchanged"
