"""Sort desired products against the store: create, update, unchanged, or missing upstream.

The store side is read once per run into a ``store_index.StoreIndex``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from medusa_sync.core.mapping import HASH_KEY
from medusa_sync.core.ownership import SYNC_VARIANTS_KEY

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
    # The source variant ids the product records as the sync's (a product with variants), comma-separated.
    sync_variants: str | None = None

    @property
    def source_variant_ids(self) -> list[str]:
        return [v for v in (self.sync_variants or "").split(",") if v]

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
            sync_variants=(product.get("metadata") or {}).get(SYNC_VARIANTS_KEY) or None,
        )


def classify(desired: Mapping[str, Any], existing: StoreProduct | None, *, full_refresh: bool) -> Action:
    if existing is None:
        return "create"
    if full_refresh or existing.sync_hash != desired["metadata"][HASH_KEY]:
        return "update"
    return "unchanged"
