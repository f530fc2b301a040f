"""Only what the sync owns: merge a planned update with what the store holds, just before sending.

Medusa replaces whole lists on update (a product's variants, images, categories, tags and sales
channels, a variant's prices), so an update that carried only the sync's members would erase
everything a merchant added by hand; a variant left out of ``variants`` is deleted. The plan (and
its hash) knows only the sync's own members; this module turns a planned update plus the product
as the store holds it now into the body to send. Ownership is per product: each product records
in its metadata what the sync put there (the keys below), and only those members are replaced:

* variants: the sync's variant gets the planned fields; every other variant the product holds is
  sent back as ``{id}`` alone, which leaves it and its prices as they are;
* images: the store's images in their order, the sync's replaced by the desired ones, the others
  sent back by id;
* thumbnail: set or cleared only when the product has none or holds the one the sync set;
* categories and tags: the store's, minus those this product records as the sync's, plus the
  desired ones; a category or tag the merchant added stays even when the source uses it elsewhere;
* sales channels: the store's plus the sync's;
* a variant's prices: the sync's price in its currency (on the existing price's id) plus every
  other price the variant holds (other currencies, and prices with rules such as region prices);
* ``shipping_profile_id``: sent only when the product has none, never replacing the merchant's.

A product written by a release that kept no image, thumbnail or variant record is taken as it is:
what matches the source (its image URLs, its thumbnail, the variant on the sync's option value) is
the sync's, everything else is left alone. The records restate the payload, so they stay out of
the content hash and such a store is not rewritten by the upgrade.

Metadata needs no merge (Medusa shallow-merges it and the sync sends only its own keys) and the
handle is never sent on update. Pure: data in, data out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

# What the merge needs of a product, on top of what ``upsert_batch`` reads to settle an item:
# asked for only for the products about to be updated, never in the daily read of the whole store.
MERGE_FIELDS = (
    "thumbnail",
    "images.id",
    "images.url",
    "images.rank",
    "categories.id",
    "tags.id",
    "sales_channels.id",
    "variants.options.value",
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
# Metadata keys recording what the sync put on the product. They restate the payload, so they stay
# out of the content hash, like the hash itself. Categories and tags: their ids, comma-separated.
OWNED_CATEGORIES_KEY = "sync_category_ids"
OWNED_TAGS_KEY = "sync_tag_ids"
# Images and thumbnail: a short digest of each URL, comma-separated: the daily read of the whole
# store carries every product's metadata, and a digest is a fraction of a URL's length.
OWNED_IMAGES_KEY = "sync_images"
OWNED_THUMBNAIL_KEY = "sync_thumbnail"
# The id of the variant the sync writes (known once the product exists: recorded on update).
OWNED_VARIANT_KEY = "sync_variant_id"
# The option and value of the variant the sync creates: how a product with
# no variant record tells the sync's variant from a merchant's (Medusa allows one variant per
# combination of option values).
SYNC_OPTION_TITLE = "Default option"
SYNC_OPTION_VALUE = "Default"


def url_key(url: str) -> str:
    """The recorded form of an image or thumbnail URL."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def owned_urls(urls: Sequence[str]) -> str:
    """The metadata value recording the sync's image URLs ("" when none: Medusa then drops the key)."""
    return ",".join(dict.fromkeys(url_key(url) for url in urls))


def owned_members(members: Sequence[Mapping[str, Any]]) -> str:
    """The metadata value recording the sync's members ("" when none: Medusa then drops the key)."""
    return ",".join(_ids(members))


def _recorded(current: Mapping[str, Any], key: str) -> set[str] | None:
    """The members a product records under ``key``; None when it keeps no such record."""
    value = (current.get("metadata") or {}).get(key)
    return {member for member in value.split(",") if member} if isinstance(value, str) else None


def _ids(items: Sequence[Mapping[str, Any]] | None) -> list[str]:
    return [str(item["id"]) for item in items or () if item and item.get("id")]


def _merge_members(
    desired: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]] | None, owned: set[str]
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


def sync_variant_id(current: Mapping[str, Any]) -> str | None:
    """The id of the variant the sync writes on this product, if it still has one.

    The recorded one; without a record (a product no update has written since the record came),
    the only variant on the sync's option value. Never "the first variant": a merchant's may come
    first.
    """
    ids = [v["id"] for v in current.get("variants") or () if v and v.get("id")]
    recorded = (current.get("metadata") or {}).get(OWNED_VARIANT_KEY)
    if recorded in ids:
        return recorded
    on_ours = [
        v["id"]
        for v in current.get("variants") or ()
        if v and v.get("id") and [o.get("value") for o in v.get("options") or ()] == [SYNC_OPTION_VALUE]
    ]
    return on_ours[0] if len(on_ours) == 1 else None


def merge_variants(
    desired: Sequence[Mapping[str, Any]], current: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], str]:
    """The ``variants`` list to send and the id to record as the sync's variant ("" when new).

    Every variant the product holds is in the list: the sync's first, with the planned fields (its
    prices merged), then the others as ``{id}`` alone, which Medusa leaves as they are, prices
    included (a variant left out would be deleted). Without a variant of its own on the product,
    the sync's goes as a new one, on its option value. ``desired`` is the sync's one variant as
    ``mapping.as_update`` plans it.
    """
    [planned] = desired
    held = [v for v in current.get("variants") or () if v and v.get("id")]
    ours = sync_variant_id(current)
    fields = {k: v for k, v in planned.items() if k not in ("id", "options")}
    if ours is None:
        fields["options"] = {SYNC_OPTION_TITLE: SYNC_OPTION_VALUE}
    else:
        fields["id"] = ours
        if "prices" in fields:
            mine = next(v for v in held if v["id"] == ours)
            fields["prices"] = merge_prices(fields["prices"], mine.get("prices"))
    others = [{"id": v["id"]} for v in held if v["id"] != ours]
    return [fields, *others], ours or ""


def _thumbnail_is_ours(current: Mapping[str, Any], desired: str | None) -> bool:
    """Whether the sync may set or clear the product's thumbnail: none is set, or the one set is
    the sync's (as recorded; without a record, the one the source gives)."""
    held = current.get("thumbnail")
    if not held:
        return True
    recorded = _recorded(current, OWNED_THUMBNAIL_KEY)
    if recorded is None:
        return held == desired
    return url_key(held) in recorded


def merge_images(desired: Sequence[Mapping[str, Any]], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The store's images in rank order with the sync's replaced by the desired ones, which take
    the place of the first of the sync's (or come first, like on a new product).

    An image is the sync's when the product records its URL (without a record: when the source
    gives it). Images kept go back with their id, so Medusa keeps the same rows.
    """
    held = sorted(
        (i for i in current.get("images") or () if i and i.get("id") and i.get("url")),
        key=lambda image: image.get("rank") or 0,
    )
    recorded = _recorded(current, OWNED_IMAGES_KEY)
    wanted = [image["url"] for image in desired]
    if recorded is None:
        recorded = {url_key(url) for url in wanted}
    held_by_url = {image["url"]: image["id"] for image in held if url_key(image["url"]) in recorded}
    ours = [
        {"id": held_by_url[url], "url": url} if url in held_by_url else {"url": url}
        for url in dict.fromkeys(wanted)
    ]
    merged: list[dict[str, Any]] = []
    placed = False
    for image in held:
        if url_key(image["url"]) in recorded:
            if not placed:
                merged.extend(ours)
                placed = True
        else:
            merged.append({"id": image["id"], "url": image["url"]})
    if not placed:
        merged[:0] = ours
    return merged


def merge_update(update: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The body to send for a planned ``update`` of the product the store holds as ``current``
    (read with ``MERGE_FIELDS``). Keys the update does not carry are left out, as planned.

    The records of what the sync put on the product are sent with it (metadata), so the next
    merge knows them.
    """
    merged = dict(update)
    records: dict[str, str] = {}
    if "categories" in update:
        owned = _recorded(current, OWNED_CATEGORIES_KEY) or set()
        merged["categories"] = _merge_members(update["categories"], current.get("categories"), owned)
    if "tags" in update:
        owned = _recorded(current, OWNED_TAGS_KEY) or set()
        merged["tags"] = _merge_members(update["tags"], current.get("tags"), owned)
    if "sales_channels" in update:
        merged["sales_channels"] = _merge_members(
            update["sales_channels"], current.get("sales_channels"), set()
        )
    if "variants" in update:
        merged["variants"], records[OWNED_VARIANT_KEY] = merge_variants(update["variants"], current)
    if "images" in update:
        merged["images"] = merge_images(update["images"], current)
        records[OWNED_IMAGES_KEY] = owned_urls([image["url"] for image in update["images"]])
    if "thumbnail" in update:
        if _thumbnail_is_ours(current, update["thumbnail"]):
            records[OWNED_THUMBNAIL_KEY] = owned_urls([update["thumbnail"]] if update["thumbnail"] else [])
        else:
            del merged["thumbnail"]
            records[OWNED_THUMBNAIL_KEY] = ""
    if records:
        merged["metadata"] = {**(update.get("metadata") or {}), **records}
    if SHIPPING_PROFILE_KEY in update and (
        not update[SHIPPING_PROFILE_KEY] or (current.get("shipping_profile") or {}).get("id")
    ):
        del merged[SHIPPING_PROFILE_KEY]
    return merged
