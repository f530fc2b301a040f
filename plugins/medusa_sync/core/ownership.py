"""Only what the sync owns: merge a planned update with what the store holds, just before sending.

Medusa replaces whole lists on update (a product's categories, tags and sales channels, a
variant's prices), so an update that carried only the sync's members would erase everything a
merchant added by hand. The plan (and its hash) knows only the sync's own members; this module
turns a planned update plus the product as the store holds it now into the body to send:

* categories and tags: the store's, minus every one the sync owns, plus the desired ones. The
  sync owns the source's categories and tags of this run, and those it last wrote to the product
  (their ids are kept in its metadata, ``OWNED_CATEGORIES_KEY`` and ``OWNED_TAGS_KEY``): so a
  source category or tag change still takes the old one off, even when no source product uses it
  any more;
* sales channels: the store's plus the sync's;
* a variant's prices: the sync's price in its currency (on the existing price's id) plus every
  other price the variant holds (other currencies, and prices with rules such as region prices);
* ``shipping_profile_id``: sent only when the product has none, never replacing the merchant's.

Metadata needs no merge (Medusa shallow-merges it and the sync sends only its own keys) and the
handle is never sent on update. Pure: data in, data out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

# What the merge needs of a product, on top of what ``upsert_batch`` reads to settle an item:
# asked for only for the products about to be updated, never in the daily read of the whole store.
MERGE_FIELDS = (
    "categories.id",
    "tags.id",
    "sales_channels.id",
    "variants.prices.id",
    "variants.prices.amount",
    "variants.prices.currency_code",
    "variants.prices.min_quantity",
    "variants.prices.max_quantity",
    # ``rules`` (e.g. ``{"region_id": …}``) comes back filled only when the price rules are read.
    "variants.prices.price_rules.attribute",
    "variants.prices.price_rules.value",
    "shipping_profile.id",
)
SHIPPING_PROFILE_KEY = "shipping_profile_id"
# Metadata keys holding the ids of the categories and tags the sync wrote (comma-separated). They
# restate the payload's lists, so they stay out of the content hash, like the hash itself.
OWNED_CATEGORIES_KEY = "sync_category_ids"
OWNED_TAGS_KEY = "sync_tag_ids"


def owned_members(members: Sequence[Mapping[str, Any]]) -> str:
    """The metadata value recording the sync's members ("" when none: Medusa then drops the key)."""
    return ",".join(_ids(members))


def _recorded(current: Mapping[str, Any], key: str) -> set[str]:
    value = (current.get("metadata") or {}).get(key)
    return {member for member in value.split(",") if member} if isinstance(value, str) else set()


def _ids(items: Sequence[Mapping[str, Any]] | None) -> list[str]:
    return [str(item["id"]) for item in items or () if item and item.get("id")]


def _merge_members(
    desired: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]] | None, owned: Collection[str]
) -> list[dict[str, str]]:
    """The desired members, then the store's members that the sync does not own, each once."""
    merged = dict.fromkeys(_ids(desired))
    for member in _ids(current):
        if member not in owned:
            merged.setdefault(member, None)
    return [{"id": member} for member in merged]


def _is_plain(price: Mapping[str, Any]) -> bool:
    """A price with no rules (region, customer group…) and no quantity tier: the kind the sync writes."""
    return not price.get("rules") and price.get("min_quantity") is None and price.get("max_quantity") is None


def _kept_price(price: Mapping[str, Any]) -> dict[str, Any]:
    """A price the sync does not own, sent back as Medusa holds it (its id keeps it the same row)."""
    kept: dict[str, Any] = {
        "id": price["id"],
        "amount": price["amount"],
        "currency_code": price["currency_code"],
    }
    if price.get("rules"):
        kept["rules"] = dict(price["rules"])
    for bound in ("min_quantity", "max_quantity"):
        if price.get(bound) is not None:
            kept[bound] = price[bound]
    return kept


def merge_prices(
    desired: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]] | None
) -> list[dict[str, Any]]:
    """The sync's prices (one per currency, plain) on the ids of the store's plain prices in those
    currencies, then every other price the variant holds.

    Reusing the id keeps the price row (Medusa updates it in place); a price list's prices are not
    among a variant's ``prices`` and are never touched.
    """
    current = [p for p in current or () if p and p.get("id")]
    plain: dict[str, Mapping[str, Any]] = {}
    for price in current:
        if _is_plain(price):
            plain.setdefault(price["currency_code"], price)  # the first one is the sync's
    reused = {plain[p["currency_code"]]["id"] for p in desired if p["currency_code"] in plain}
    merged: list[dict[str, Any]] = []
    for price in desired:
        existing = plain.get(price["currency_code"])
        merged.append({**price, "id": existing["id"]} if existing else dict(price))
    for price in current:
        if price["id"] not in reused:
            merged.append(_kept_price(price))
    return merged


def merge_update(
    update: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    owned_categories: Collection[str],
    owned_tags: Collection[str],
) -> dict[str, Any]:
    """The body to send for a planned ``update`` of the product the store holds as ``current``
    (read with ``MERGE_FIELDS``). Keys the update does not carry are left out, as planned."""
    merged = dict(update)
    if "categories" in update:
        owned = set(owned_categories) | _recorded(current, OWNED_CATEGORIES_KEY)
        merged["categories"] = _merge_members(update["categories"], current.get("categories"), owned)
    if "tags" in update:
        owned = set(owned_tags) | _recorded(current, OWNED_TAGS_KEY)
        merged["tags"] = _merge_members(update["tags"], current.get("tags"), owned)
    if "sales_channels" in update:
        merged["sales_channels"] = _merge_members(update["sales_channels"], current.get("sales_channels"), ())
    if "variants" in update:
        held = {v["id"]: v for v in current.get("variants") or () if v and v.get("id")}
        variants = []
        for variant in update["variants"]:
            variant = dict(variant)
            if "prices" in variant and variant.get("id") in held:
                variant["prices"] = merge_prices(variant["prices"], held[variant["id"]].get("prices"))
            variants.append(variant)
        merged["variants"] = variants
    if SHIPPING_PROFILE_KEY in update and (
        not update[SHIPPING_PROFILE_KEY] or (current.get("shipping_profile") or {}).get("id")
    ):
        del merged[SHIPPING_PROFILE_KEY]
    return merged
