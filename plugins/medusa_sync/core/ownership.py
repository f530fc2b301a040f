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
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

# The content hash of the sync's desired state, in a product's metadata (``mapping.content_hash``)
# and, for a product with variants, in each of the sync's variants' metadata too.
HASH_KEY = "sync_hash"

# --- A product with variants (the source gives options and variants).
# The source variant id, in the metadata of the Medusa variant the sync wrote for it: what makes a
# variant the sync's (a variant without it is the merchant's), and how it is found again, never
# by its position.
SOURCE_VARIANT_KEY = "source_variant_id"
# Each such variant's own content hash is in its metadata under ``HASH_KEY``; its source image
# URL under this key.
VARIANT_IMAGE_KEY = "image"
# Product metadata records: the hash of the product-level fields alone (everything but options and
# variants), and the source variant ids the product holds as the sync's, comma-separated (what the
# plan's variant deletion guard counts, from the daily read of product metadata).
FIELDS_HASH_KEY = "sync_fields_hash"
SYNC_VARIANTS_KEY = "sync_variants"
# What the send-time merge of a product with variants reads on top of ``MERGE_FIELDS`` (asked for
# only when a batch holds such a product): its options and values, each variant's fields the
# sync writes, and each variant's metadata (its source variant id and hash).
VARIANT_MERGE_FIELDS = (
    "options.id",
    "options.title",
    "options.values.value",
    "variants.title",
    "variants.sku",
    "variants.barcode",
    "variants.weight",
    "variants.width",
    "variants.height",
    "variants.length",
    "variants.manage_inventory",
    "variants.metadata",
    "variants.options.option_id",
)


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


# --- A product with variants: its options and variants are written through Medusa's own routes.


def is_variant_payload(item: Mapping[str, Any]) -> bool:
    """Whether a planned create or update is of a product with variants (its variants carry their
    source variant ids); a product without variants is the one-variant product of before."""
    return any(SOURCE_VARIANT_KEY in (v.get("metadata") or {}) for v in item.get("variants") or ())


@dataclass(frozen=True)
class VariantDeletes:
    """Whether a variant of the sync's that the source no longer has may be deleted when it is sent.

    Decided by the plan (``on_missing=delete``, a complete fetch, the variant deletion guard:
    ``planning.plan_variants``) and by the send (not ``missing_proof_max_age_minutes`` or more
    after the plan). A variant not deleted is kept and listed with ``because``; its product still
    records it (``SYNC_VARIANTS_KEY``), so every later plan counts it again, and one under
    ``on_missing=delete`` deletes it.
    """

    allowed: bool
    because: str = ""

    @classmethod
    def from_plan(cls, decision: Mapping[str, Any] | None, *, stale_because: str | None) -> VariantDeletes:
        """From the plan's ``variants.delete``; a plan that says nothing (an older run's plan)
        deletes no variant."""
        if not decision:
            return cls(False, "the plan made no decision about variants removed upstream")
        if decision.get("allowed") and stale_because:
            return cls(False, f"the plan's proof is too old: {stale_because}")
        return cls(bool(decision.get("allowed")), str(decision.get("because") or ""))


VARIANT_COUNTS = ("created", "updated", "deleted", "unchanged", "kept")


@dataclass
class VariantWrites:
    """What one update of a product with variants sends: an options batch (new options and option
    values, first), a variants batch (``{create, update, delete}``), and the product's own update
    for the product batch (None when the product itself needs no write)."""

    options: dict[str, Any] | None = None
    variants: dict[str, list[Any]] | None = None
    product: dict[str, Any] | None = None
    counts: Counter[str] = field(default_factory=Counter)
    # The sync's variants the source no longer has, left in the store: source and Medusa ids.
    kept: list[dict[str, str]] = field(default_factory=list)
    # A change of the product's shape (``shape_change``): the titles of the options the product
    # keeps once ``product`` is sent, which then carries them as ``option_ids`` (the ids are known
    # only once the options batch has answered). None: the product's options are not changed.
    option_titles: list[str] | None = None
    # Why the product was left as it is when its shape could not change (``shape_change``).
    because: str = ""


def _source_variant_id(variant: Mapping[str, Any]) -> str | None:
    source_id = (variant.get("metadata") or {}).get(SOURCE_VARIANT_KEY)
    return str(source_id) if source_id not in (None, "") else None


def _option_values(variant: Mapping[str, Any], titles: Mapping[str, str]) -> dict[str, str]:
    """A store variant's option values by option title (``titles``: option id → title)."""
    return {
        titles.get(o.get("option_id") or "", ""): o.get("value")
        for o in variant.get("options") or ()
        if o and o.get("option_id") in titles
    }


def _plain_amount(variant: Mapping[str, Any], currency_code: str) -> Any:
    """The amount of the variant's plain price in the currency (the one ``merge_prices`` reuses)."""
    for price in variant.get("prices") or ():
        if price and price.get("currency_code") == currency_code and _is_plain(price):
            return price.get("amount")
    return None


# A variant's fields the sync writes, compared with the store's one by one: only what differs is sent.
_VARIANT_FIELDS = ("title", "sku", "barcode", "weight", "width", "height", "length")


def variant_update(
    want: Mapping[str, Any], have: Mapping[str, Any], titles: Mapping[str, str]
) -> dict[str, Any]:
    """The update of one of the sync's variants whose hash differs: only the fields that differ
    from the store's (a field the source no longer has is cleared), its prices merged with the
    variant's others (``merge_prices``) and only when the sync's amount changed, and its metadata
    (the new hash). Inventory management is never turned off (see ``mapping.as_update``)."""
    body: dict[str, Any] = {"id": have["id"]}
    for name in _VARIANT_FIELDS:
        if want.get(name) != have.get(name):
            body[name] = want.get(name)
    if want.get("manage_inventory") and not have.get("manage_inventory"):
        body["manage_inventory"] = True
    if _option_values(have, titles) != dict(want.get("options") or {}):
        body["options"] = dict(want.get("options") or {})
    prices = want.get("prices") or []
    if any(_plain_amount(have, p["currency_code"]) != p["amount"] for p in prices):
        body["prices"] = merge_prices(prices, have.get("prices"))
    metadata = dict(want.get("metadata") or {})
    if VARIANT_IMAGE_KEY not in metadata and (have.get("metadata") or {}).get(VARIANT_IMAGE_KEY):
        metadata[VARIANT_IMAGE_KEY] = ""  # Medusa removes a metadata key sent as ""
    body["metadata"] = metadata
    return body


def _option_writes(options: Sequence[Mapping[str, Any]], current: Mapping[str, Any]) -> dict[str, Any] | None:
    """The options batch that gives the product every option and value the source's variants use:
    new options added whole (exclusive to the product), new values added to the option that has
    the title. Nothing is ever removed (a merchant's variant may use it)."""
    held = {o.get("title"): o for o in current.get("options") or () if o and o.get("id")}
    add: list[dict[str, Any]] = []
    update: list[dict[str, Any]] = []
    for option in options:
        have = held.get(option["title"])
        if have is None:
            # Exclusive to the product, as the options of a product create are: a shared option
            # must have a title no other shared option has ("Size" on two products would clash),
            # and an exclusive one is deleted with its last link (``shape_change``).
            add.append({"title": option["title"], "values": list(option["values"]), "is_exclusive": True})
            continue
        known = {v.get("value") for v in have.get("values") or () if v}
        new = [value for value in option["values"] if value not in known]
        if new:
            update.append({"product_option_id": have["id"], "add": [{"value": value} for value in new]})
    body = {key: value for key, value in (("add", add), ("update", update)) if value}
    return body or None


def _kept_default_option(update: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, str]:
    """The value the sync's variants name on the sync's "Default option" when a product that had
    one variant kept that option beside its source options (a merchant's variant used it when its
    variants came: ``shape_change``). Medusa wants a variant to name a value of every option of
    its product, so the sync's variants name the sync's value; otherwise nothing."""
    titles = {o.get("title") for o in current.get("options") or () if o and o.get("id")}
    source = {o.get("title") for o in update.get("options") or ()}
    return {SYNC_OPTION_TITLE: SYNC_OPTION_VALUE} if SYNC_OPTION_TITLE in titles - source else {}


def merge_variant_update(
    update: Mapping[str, Any], current: Mapping[str, Any], deletes: VariantDeletes
) -> VariantWrites:
    """What to send for a planned ``update`` of a product with variants, held by the store as
    ``current`` (read with ``MERGE_FIELDS`` and ``VARIANT_MERGE_FIELDS``).

    A variant is the sync's when its metadata names a source variant id; every other variant (the
    merchant's) is in no write. Of the sync's: one whose stored hash equals the planned one is not
    written; one that differs gets only what differs (``variant_update``); a source variant the
    product lacks is created (its new option values added first, through the options batch); one
    the source no longer has is deleted only when ``deletes`` allows it, else kept and counted.
    The product's own fields go through the product batch, without ``variants`` (so nothing is
    deleted by omission), and only when their hash (``FIELDS_HASH_KEY``) differs from the stored
    one; the product's hash is written last of all, with them or alone.
    """
    held = [v for v in current.get("variants") or () if v and v.get("id")]
    ours = {source_id: v for v in held if (source_id := _source_variant_id(v))}
    if not ours and _has_default_shape(current):
        return _to_variants(update, current)
    writes = VariantWrites()
    desired = {str(v["metadata"][SOURCE_VARIANT_KEY]): v for v in update.get("variants") or ()}
    titles = {o["id"]: o.get("title") or "" for o in current.get("options") or () if o and o.get("id")}
    default = _kept_default_option(update, current)
    create: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for source_id, want in desired.items():
        have = ours.get(source_id)
        if default:
            want = {**want, "options": {**want["options"], **default}}
        if have is None:
            create.append(dict(want))
        elif (have.get("metadata") or {}).get(HASH_KEY) == (want.get("metadata") or {}).get(HASH_KEY):
            writes.counts["unchanged"] += 1
        else:
            changed.append(variant_update(want, have, titles))
    delete = []
    for source_id, have in ours.items():
        if source_id in desired:
            continue
        if deletes.allowed:
            delete.append(have["id"])
        else:
            writes.kept.append({"source_variant_id": source_id, "variant_id": have["id"]})
    if create:
        writes.options = _option_writes(update.get("options") or (), current)
    if create or changed or delete:
        writes.variants = {"create": create, "update": changed, "delete": delete}
    writes.counts.update(
        created=len(create), updated=len(changed), deleted=len(delete), kept=len(writes.kept)
    )
    recorded = [*desired, *(entry["source_variant_id"] for entry in writes.kept)]
    writes.product = _product_write(update, current, recorded)
    return writes


def _product_write(
    update: Mapping[str, Any], current: Mapping[str, Any], variant_ids: list[str]
) -> dict[str, Any] | None:
    """The product's own update for the product batch (``merge_variant_update``), or None when the
    store holds it already: its fields when their hash changed, else only what its metadata lacks
    (the new hash, the record of its variants)."""
    planned = update.get("metadata") or {}
    stored = current.get("metadata") or {}
    records = {SYNC_VARIANTS_KEY: ",".join(variant_ids)}
    if stored.get(FIELDS_HASH_KEY) != planned.get(FIELDS_HASH_KEY):
        fields = {k: v for k, v in update.items() if k not in ("variants", "options")}
        body = merge_update(fields, current)
        body["metadata"] = {**body.get("metadata", {}), **records}
        return body
    metadata = {}
    if stored.get(HASH_KEY) != planned.get(HASH_KEY):
        metadata[HASH_KEY] = planned.get(HASH_KEY)
    if set((stored.get(SYNC_VARIANTS_KEY) or "").split(",")) - {""} != set(variant_ids):
        metadata |= records
    return {"id": update["id"], "metadata": metadata} if metadata else None


def variant_image_links(product: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """The links still to make between a product's images and the sync's variants, as ``(image
    id, [variant ids])``, one per image: each of the sync's variants gets the product image whose
    URL its metadata names (``VARIANT_IMAGE_KEY``). ``product`` is as the product batch answers
    it: images, and variants with their metadata and images.

    Medusa lists as a variant's images the product's general images (linked to no variant) and
    those linked to it, so an image every variant lists is general (or linked to all, which shows
    the same): the variants naming it are all still to link, unless they are every variant.
    """
    by_url = {i["url"]: i["id"] for i in product.get("images") or () if i and i.get("id") and i.get("url")}
    variants = [v for v in product.get("variants") or () if v and v.get("id")]
    listing = {v["id"]: {i.get("id") for i in v.get("images") or () if i} for v in variants}
    wanted: dict[str, list[str]] = {}
    for variant in variants:
        url = (variant.get("metadata") or {}).get(VARIANT_IMAGE_KEY)
        if url in by_url and _source_variant_id(variant) is not None:
            wanted.setdefault(by_url[url], []).append(variant["id"])
    links = []
    for image_id, variant_ids in wanted.items():
        holding = {v for v, images in listing.items() if image_id in images}
        if len(holding) == len(variants) and len(variant_ids) < len(variants):
            holding = set()  # a general image: linked to none of them yet
        if missing := [v for v in variant_ids if v not in holding]:
            links.append((image_id, missing))
    return links


# --- A product's shape changing upstream: one variant becomes variants, or variants become one.
#
# Medusa 2.21.2 wants a variant to name a value of every option of its product, refuses to unlink
# an option a live variant uses, and a product's options change only through the options batch or
# a product update's ``option_ids``. That update (one workflow, all or nothing) links the options
# named, writes its ``variants`` list (deleting every variant left out), then unlinks the options
# left out: so the old variants and the new are swapped in that one request, and the product is
# never without a variant to sell. Options it lacks are added first (options batch); an option
# added to a product leaves its variants as they are.


def _has_default_shape(current: Mapping[str, Any]) -> bool:
    """Whether the product holds the one-variant shape the sync wrote: its variant (as
    ``sync_variant_id`` finds it) or its "Default option"."""
    titles = {o.get("title") for o in current.get("options") or () if o and o.get("id")}
    return sync_variant_id(current) is not None or SYNC_OPTION_TITLE in titles


def _used_option_titles(variants: Sequence[Mapping[str, Any]], current: Mapping[str, Any]) -> set[str]:
    """The titles of the product's options that some of ``variants`` names a value of."""
    titles = {o["id"]: o.get("title") or "" for o in current.get("options") or () if o and o.get("id")}
    return {
        titles[o["option_id"]]
        for v in variants
        for o in v.get("options") or ()
        if o and o.get("option_id") in titles
    }


def is_shape_change(update: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether a planned update of a product without variants finds the store holding the sync's
    variants of a product with variants (variants → one variant: ``shape_change``)."""
    return (
        "variants" in update
        and not is_variant_payload(update)
        and any(_source_variant_id(v) for v in current.get("variants") or () if v and v.get("id"))
    )


def _swap_body(
    update: Mapping[str, Any],
    current: Mapping[str, Any],
    merchants: Sequence[Mapping[str, Any]],
    new_variants: list[dict[str, Any]],
    records: Mapping[str, str],
) -> dict[str, Any]:
    """The product update that swaps the sync's variants for ``new_variants``: the product's own
    fields merged as usual (``merge_update``), then ``variants``: the merchant's variants by id
    alone (left as they are, prices included), then the new ones; every variant left out (the
    sync's old ones) is deleted. The merchant's go first: Medusa compares each listed variant's
    option values with those after it, and one listed by id alone has none to compare."""
    fields = {k: v for k, v in update.items() if k not in ("variants", "options")}
    body = merge_update(fields, current)
    body["variants"] = [*({"id": v["id"]} for v in merchants), *new_variants]
    body["metadata"] = {**body.get("metadata", {}), **records}
    return body


def _to_variants(update: Mapping[str, Any], current: Mapping[str, Any]) -> VariantWrites:
    """One variant → variants: the product the sync wrote with one variant on "Default option" now
    has options and variants upstream. The sync's old variant (``sync_variant_id``) is deleted and
    the source's variants created in the same product update, which also unlinks "Default option"
    unless a merchant's variant uses it (then the sync's variants name its "Default" value beside
    their own, as Medusa wants every option named). The new options and values are added first.
    A merchant's variant is listed by id alone: it keeps its options and prices."""
    writes = VariantWrites()
    held = [v for v in current.get("variants") or () if v and v.get("id")]
    old = sync_variant_id(current)
    merchants = [v for v in held if v["id"] != old]
    source_titles = [o["title"] for o in update.get("options") or ()]
    kept = sorted(title for title in _used_option_titles(merchants, current) if title not in source_titles)
    default = {SYNC_OPTION_TITLE: SYNC_OPTION_VALUE} if SYNC_OPTION_TITLE in kept else {}
    create = [{**v, "options": {**v["options"], **default}} for v in update.get("variants") or ()]
    writes.options = _option_writes(update.get("options") or (), current)
    writes.option_titles = [*kept, *source_titles]
    records = {
        SYNC_VARIANTS_KEY: ",".join(str(v["metadata"][SOURCE_VARIANT_KEY]) for v in create),
        OWNED_VARIANT_KEY: "",
    }
    writes.product = _swap_body(update, current, merchants, create, records)
    writes.counts.update(created=len(create), deleted=int(old is not None))
    return writes


def to_one_variant(
    update: Mapping[str, Any], current: Mapping[str, Any], deletes: VariantDeletes
) -> VariantWrites:
    """Variants → one variant: the source's newest record of the product has no options any more,
    and the store holds the sync's variants (those with a source variant id). They are variants
    removed upstream, so they follow the same rule (``deletes``, as ``merge_variant_update``): when
    allowed, they are deleted and the one "Default" variant on "Default option" created in the
    same product update (the option added first when the product lacks it), so the product sells
    at the record's price; the source's options are unlinked with them.

    When not allowed, or when a merchant's variant names a value of an option the source's
    variants had (Medusa would want the new variant to name one too, and the sync has none to
    give), the sync's variants are kept and listed with why, and the product's own fields are
    written without ``variants``: the product still records them (``SYNC_VARIANTS_KEY``), so each
    later plan counts them again, and one allowed to delete them makes the swap.
    """
    writes = VariantWrites()
    held = [v for v in current.get("variants") or () if v and v.get("id")]
    ours = [v for v in held if _source_variant_id(v)]
    merchants = [v for v in held if not _source_variant_id(v)]
    used = _used_option_titles(merchants, current) - {SYNC_OPTION_TITLE}
    if not deletes.allowed or used:
        writes.because = (
            deletes.because
            if not deletes.allowed
            else f"a merchant's variant uses option(s) {', '.join(sorted(used))}, which the product's "
            "one variant would have to name: the sync's variants are kept"
        )
        writes.kept = [
            {"source_variant_id": _source_variant_id(v) or "", "variant_id": v["id"]} for v in ours
        ]
        writes.counts.update(kept=len(ours))
        stored = (current.get("metadata") or {}).get(HASH_KEY)
        if stored != (update.get("metadata") or {}).get(HASH_KEY):  # else in step: nothing to write
            writes.product = merge_update({k: v for k, v in update.items() if k != "variants"}, current)
        return writes
    [planned] = update["variants"]
    variant = {k: v for k, v in planned.items() if k not in ("id", "options")}
    variant["options"] = {SYNC_OPTION_TITLE: SYNC_OPTION_VALUE}
    if variant.get("manage_inventory") is None:
        variant.pop("manage_inventory", None)
    for name in ("sku", "barcode", "weight", "width", "height", "length"):
        if variant.get(name) is None:
            variant.pop(name, None)  # a new variant: nothing to clear
    writes.options = _option_writes([{"title": SYNC_OPTION_TITLE, "values": [SYNC_OPTION_VALUE]}], current)
    writes.option_titles = [SYNC_OPTION_TITLE]
    records = {SYNC_VARIANTS_KEY: "", FIELDS_HASH_KEY: "", OWNED_VARIANT_KEY: ""}
    writes.product = _swap_body(update, current, merchants, [variant], records)
    writes.counts.update(created=1, deleted=len(ours))
    return writes
