"""Source product → Medusa payloads. Pure: the same record and context always give the same payload.

The desired state is expressed as a *create* payload; an update is derived from it by dropping what
Medusa refuses or must keep (``options``, the handle). Which of the product's variants, images and
other members are the sync's is decided when the update is sent (``ownership.merge_update``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from medusa_sync.core.handles import slugify
from medusa_sync.core.ownership import (
    FIELDS_HASH_KEY,
    HASH_KEY,
    OWNED_CATEGORIES_KEY,
    OWNED_IMAGES_KEY,
    OWNED_TAGS_KEY,
    OWNED_THUMBNAIL_KEY,
    SOURCE_VARIANT_KEY,
    SYNC_OPTION_TITLE,
    SYNC_OPTION_VALUE,
    SYNC_VARIANTS_KEY,
    VARIANT_IMAGE_KEY,
    is_variant_payload,
    owned_members,
    owned_urls,
)

DEFAULT_EXTERNAL_ID_PREFIX = "dummyjson:"
OPTION_TITLE = SYNC_OPTION_TITLE
OPTION_VALUE = SYNC_OPTION_VALUE
VARIANT_TITLE = "Default"

# Source fields kept in product metadata under the source's own names.
METADATA_FIELDS = (
    "brand",
    "rating",
    "discountPercentage",
    "stock",
    "availabilityStatus",
    "warrantyInformation",
    "shippingInformation",
    "returnPolicy",
    "minimumOrderQuantity",
)
# Fields an update must clear explicitly when the source no longer has them: Medusa keeps any
# field an update leaves out, and removes a metadata key only when it is sent as "".
CLEARABLE_PRODUCT_FIELDS = ("thumbnail", "weight", "width", "height", "length")
CLEARABLE_VARIANT_FIELDS = ("sku", "barcode", "weight", "width", "height", "length")


@dataclass(frozen=True)
class MappingContext:
    """Everything besides the record that decides the payload: params and resolved ids."""

    currency_code: str = "usd"
    status: str = "published"
    sales_channel_id: str | None = None
    category_ids: Mapping[str, str] = field(default_factory=dict)
    tag_ids: Mapping[str, str] = field(default_factory=dict)
    external_id_prefix: str = DEFAULT_EXTERNAL_ID_PREFIX
    # ``sync_inventory``: variants are managed by inventory, and the stock lives in a level at a
    # stock location instead of metadata, so a change of stock alone never rewrites the product.
    manage_inventory: bool = False
    # Given to new products, and to existing ones that have none (see ``ownership``). Kept out of
    # the hash: changing the param must not rewrite the catalog.
    shipping_profile_id: str | None = None

    def external_id(self, source_id: int | str) -> str:
        return f"{self.external_id_prefix}{source_id}"


def _measurements(record: Mapping[str, Any]) -> dict[str, float]:
    dims = record.get("dimensions") or {}
    values = {
        "weight": record.get("weight"),
        "width": dims.get("width"),
        "height": dims.get("height"),
        "length": dims.get("depth"),
    }
    return {k: v for k, v in values.items() if v is not None}


def desired_product(record: Mapping[str, Any], ctx: MappingContext) -> dict[str, Any]:
    """The product as Medusa should hold it, as a create payload without a handle.

    ``record`` is a valid record as the fetch keeps it (``SourceProduct.kept``): validated once,
    by the fetch, and read here as plain data, so planning a million products does not validate
    each one again. ``metadata.sync_hash`` is the hash of everything else, so an equal hash in
    the store means there is nothing to write.

    A record with ``variants`` gets its own options and one variant per source variant, each with
    its source variant id and its own hash in its metadata (``desired_variant``); its variants'
    images join the product's (each once, in order). The product's hash still covers the whole
    payload, variants included; the hash of its own fields alone and the source variant ids are
    recorded beside it (``ownership.FIELDS_HASH_KEY``, ``SYNC_VARIANTS_KEY``), outside the hash.
    A record without variants is the one-variant product it always was, byte for byte.
    """
    measurements = _measurements(record)
    source_variants = record.get("variants") or ()
    if source_variants:
        options = [{"title": o["title"], "values": list(o["values"])} for o in record["options"]]
        variants = [desired_variant(variant, ctx) for variant in source_variants]
        urls = [*(record.get("images") or ()), *(v["image"] for v in source_variants if v.get("image"))]
        images = [{"url": url} for url in dict.fromkeys(urls)]
    else:
        variant: dict[str, Any] = {
            "title": VARIANT_TITLE,
            "sku": record.get("sku"),
            "barcode": (record.get("meta") or {}).get("barcode"),
            "manage_inventory": ctx.manage_inventory,
            "options": {OPTION_TITLE: OPTION_VALUE},
            "prices": [{"amount": record["price"], "currency_code": ctx.currency_code}],
            **measurements,
        }
        options = [{"title": OPTION_TITLE, "values": [OPTION_VALUE]}]
        variants = [{k: v for k, v in variant.items() if v is not None}]
        images = [{"url": url} for url in record.get("images") or ()]
    category = record["category"]
    metadata = {
        name: value
        for name in METADATA_FIELDS
        if (value := record.get(name)) is not None and not (name == "stock" and ctx.manage_inventory)
    }
    payload: dict[str, Any] = {
        "title": record["title"],
        "description": record.get("description") or "",
        "status": ctx.status,
        "external_id": ctx.external_id(record["id"]),
        "thumbnail": record.get("thumbnail"),
        "images": images,
        "options": options,
        "variants": variants,
        "categories": [{"id": ctx.category_ids[category]}] if category in ctx.category_ids else [],
        "tags": [{"id": ctx.tag_ids[t]} for t in dict.fromkeys(record.get("tags") or ()) if t in ctx.tag_ids],
        "sales_channels": [{"id": ctx.sales_channel_id}] if ctx.sales_channel_id else [],
        **measurements,
        "metadata": metadata,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    payload["metadata"][HASH_KEY] = content_hash(payload)
    if source_variants:
        own_fields = {k: v for k, v in payload.items() if k not in ("options", "variants")}
        payload["metadata"][FIELDS_HASH_KEY] = content_hash(own_fields)
        payload["metadata"][SYNC_VARIANTS_KEY] = ",".join(v["metadata"][SOURCE_VARIANT_KEY] for v in variants)
    # Which categories and tags are the sync's, for the merge of a later update (``ownership``).
    payload["metadata"][OWNED_CATEGORIES_KEY] = owned_members(payload["categories"])
    payload["metadata"][OWNED_TAGS_KEY] = owned_members(payload["tags"])
    return payload


def desired_variant(variant: Mapping[str, Any], ctx: MappingContext) -> dict[str, Any]:
    """One source variant as Medusa should hold it (a create payload): its title, sku, barcode,
    option values, price in the run's currency and measures, and in its metadata its source
    variant id, its image URL and its own content hash (``sync_hash``), so a later update writes
    only the variants whose hash changed. Without inventory, its stock is kept in its metadata,
    as a one-variant product's is in the product's."""
    metadata: dict[str, Any] = {SOURCE_VARIANT_KEY: str(variant["id"])}
    if variant.get("image"):
        metadata[VARIANT_IMAGE_KEY] = variant["image"]
    if variant.get("stock") is not None and not ctx.manage_inventory:
        metadata["stock"] = variant["stock"]
    fields: dict[str, Any] = {
        "title": variant["title"],
        "sku": variant.get("sku"),
        "barcode": variant.get("barcode"),
        "manage_inventory": ctx.manage_inventory,
        "options": dict(variant["options"]),
        "prices": [{"amount": variant["price"], "currency_code": ctx.currency_code}],
        **_measurements(variant),
        "metadata": metadata,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    metadata[HASH_KEY] = content_hash(fields)
    return fields


def as_create(desired: dict[str, Any], handle: str, shipping_profile_id: str | None = None) -> dict[str, Any]:
    """A new product: the desired state with its handle, its shipping profile, and the record of the
    images and thumbnail the sync puts there (``ownership``).

    The image records are made here, for the products written, not in ``desired_product`` for every
    product planned: an update records them as ``ownership.merge_update`` sends it. A new product
    without a thumbnail gets its first image as one from Medusa: the sync's too.
    """
    urls = [image["url"] for image in desired.get("images") or ()]
    thumbnail = desired.get("thumbnail") or next(iter(urls), None)
    records = {
        OWNED_IMAGES_KEY: owned_urls(urls),
        OWNED_THUMBNAIL_KEY: owned_urls([thumbnail] if thumbnail else []),
    }
    create = {**desired, "handle": handle, "metadata": {**desired.get("metadata", {}), **records}}
    if shipping_profile_id:
        create["shipping_profile_id"] = shipping_profile_id
    return create


def as_update(
    desired: dict[str, Any], product_id: str, variant_id: str | None, shipping_profile_id: str | None = None
) -> dict[str, Any]:
    """An update that makes the product equal the desired state, as far as the sync owns it.

    The lists hold the sync's own members only: ``upsert_batch`` merges them with what the store
    holds just before sending (``ownership.merge_update``), which also picks the product's variant
    that is the sync's (``variant_id`` is the plan's guess, used only by a body sent unmerged) and
    drops the shipping profile when the product already has one. ``options`` is refused on update
    and the handle is kept as first allocated.

    A product with variants keeps its desired options and variants in the update: the send writes
    them through Medusa's variant-level routes (``ownership.merge_variant_update``).
    """
    if is_variant_payload(desired):
        # Options and variants as desired: ``ownership.merge_variant_update`` sends them through
        # the options and variants routes, and the product's own fields without them.
        update = {k: v for k, v in desired.items() if k != "handle"}
    else:
        update = {k: v for k, v in desired.items() if k not in ("options", "handle")}
    for name in CLEARABLE_PRODUCT_FIELDS:
        update.setdefault(name, None)
    update["metadata"] = {**dict.fromkeys(METADATA_FIELDS, ""), **desired.get("metadata", {})}
    if is_variant_payload(desired):
        update["id"] = product_id
        if shipping_profile_id:
            update["shipping_profile_id"] = shipping_profile_id
        return update
    variants = []
    for variant in desired.get("variants", []):
        fields = {k: v for k, v in variant.items() if k != "options"}
        # ``false`` on an update unlinks the variant's inventory item (Medusa keeps the item), and
        # switching back would then clash with it: with inventory off, leave the field as it is.
        if fields.get("manage_inventory") is False:
            del fields["manage_inventory"]
        for name in CLEARABLE_VARIANT_FIELDS:
            fields.setdefault(name, None)
        if variant_id:
            fields["id"] = variant_id
        else:
            fields["options"] = variant.get("options", {})
        variants.append(fields)
    update["variants"] = variants
    update["id"] = product_id
    if shipping_profile_id:
        update["shipping_profile_id"] = shipping_profile_id
    return update


def stored_hash(product: Mapping[str, Any]) -> str | None:
    return (product.get("metadata") or {}).get(HASH_KEY)


def draft_update(product_id: str) -> dict[str, Any]:
    """The whole write for a product that vanished upstream under ``on_missing=draft``.

    The stored hash is removed with it, so the product no longer looks in step: if it comes back
    upstream it is rewritten, and republished.
    """
    return {"id": product_id, "status": "draft", "metadata": {HASH_KEY: ""}}


def is_draft_update(item: Mapping[str, Any]) -> bool:
    return item.get("status") == "draft" and item.get("metadata") == {HASH_KEY: ""}


# --- Content hash of a product's desired state, kept in Medusa metadata to skip unchanged products.

# Bump when the mapping changes meaning, so every product is rewritten once with the new mapping.
# 2: products carry a shipping profile and record the categories and tags the sync wrote; the one
# rewrite after an upgrade gives every product synced by version 1 both, so it can be shipped.
MAPPING_VERSION = "2"
# The text every stored hash was made from: sorted keys, compact, ASCII. A payload is plain data,
# so the check for a structure holding itself is skipped; it changes no byte of the text.
_HASHED_TEXT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False)


def content_hash(payload: dict[str, Any]) -> str:
    """Stable across key order and runs; the handle is excluded because it is set once and kept."""
    material = {k: v for k, v in payload.items() if k != "handle"}
    metadata = {k: v for k, v in (material.get("metadata") or {}).items() if k != HASH_KEY}
    material["metadata"] = metadata
    text = _HASHED_TEXT.encode([MAPPING_VERSION, material])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- What the products need to exist before they are written: categories and tags, from the pages.


def display_name(slug: str) -> str:
    """The source's own rule for category names: each dash-separated word capitalised."""
    return " ".join(word.capitalize() for word in slug.split("-") if word)


def category_namer(source_categories: Iterable[Mapping[str, str]]) -> Callable[[str], str]:
    """How a category the records use is named in the store: as the source's category list names
    it (``{slug, name}`` each), else by the source's own rule (``display_name``)."""
    by_slug = {c["slug"]: c["name"] for c in source_categories}
    return lambda category: by_slug.get(category) or display_name(category)


class TaxonomyNeeds:
    """Categories and tags the records use, each once, in first-seen order, gathered page by page
    as the fetch writes them (``needed_taxonomy.json``), so ``sync_categories`` reads one small
    file instead of every page again."""

    def __init__(self) -> None:
        self.categories: dict[str, None] = {}
        self.tags: dict[str, None] = {}

    def add(self, records: Iterable[Mapping[str, Any]]) -> TaxonomyNeeds:
        """Adds what the records use; returns what of it was not seen before (a new ``TaxonomyNeeds``)."""
        new = TaxonomyNeeds()
        for record in records:
            # A stock fetch's records carry none; a product of some feeds has none (None).
            category = record.get("category")
            if category is not None and category not in self.categories:
                self.categories[category] = new.categories[category] = None
            for tag in record.get("tags") or ():
                if tag not in self.tags:
                    self.tags[tag] = new.tags[tag] = None
        return new

    def to_json(self) -> dict[str, list[str]]:
        return {"categories": list(self.categories), "tags": list(self.tags)}


def needed_taxonomy(records: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """Categories and tags the records use, each once, in first-seen order."""
    needs = TaxonomyNeeds()
    needs.add(records)
    return list(needs.categories), list(needs.tags)


def category_handle(source_category: str) -> str:
    return slugify(source_category) or "uncategorized"
