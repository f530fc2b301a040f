"""A Shopify-shaped feed of products with sizes and colours, synced into a real Medusa by the real DAG.

One store and one feed (``products.json`` of 200 generated products with 1 to 12 variants, and
one with 100), in order: a first sync with ``sync_inventory`` on lands every product field-exact
(options and their values, variant titles, skus, prices to the cent, stock levels, images and the
variants they belong to, categories from ``product_type``, tags), read back from the store and
checked against the feed as Shopify sends it, not as the adapter reads it; the feed then pages by
``Link: rel="next"`` instead of page numbers and the rerun is complete and writes nothing; an
empty page in the middle of the feed makes the fetch partial, so ``on_missing=delete`` deletes
nothing; and a customer buys a chosen size and colour, whose stock is reserved.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.fixtures.storefront import Storefront, open_storefront
from tests.stack.catalog_generator import generate_shopify_catalog
from tests.stack.catalog_server import CatalogServer
from tests.stack.store_view import location_id, ours, store_products

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]

PREFIX = "shopify:"
SHOPIFY = {"source_format": "shopify"}
FEED_SIZE = 200
FIELDS = (
    "id,external_id,title,description,status,metadata,*categories,*tags,images.id,images.url,"
    "options.title,options.values.value,variants.id,variants.title,variants.sku,variants.barcode,"
    "variants.weight,variants.metadata,variants.manage_inventory,variants.options.value,"
    "variants.options.option.title,variants.prices.amount,variants.prices.currency_code,"
    "variants.images.url,variants.inventory_items.inventory_item_id,"
    "variants.inventory_items.inventory.location_levels.location_id,"
    "variants.inventory_items.inventory.location_levels.stocked_quantity"
)


@pytest.fixture(scope="module")
def feed() -> list[dict[str, Any]]:
    return generate_shopify_catalog(FEED_SIZE, seed=31)


@pytest.fixture(scope="module")
def catalog(feed: list[dict[str, Any]]) -> Iterator[CatalogServer]:
    """This module's source: the Shopify-shaped feed (the suite's default catalog is DummyJSON)."""
    with CatalogServer(feed) as server:
        yield server


@pytest.fixture(scope="module")
def storefront(medusa_store_module) -> Storefront:
    return open_storefront(medusa_store_module.admin)


def _ok(response) -> dict[str, Any]:
    assert response.status_code < 300, f"{response.url}: {response.status_code} {response.text[:500]}"
    return response.json()


def _tags(product: dict[str, Any]) -> list[str]:
    tags = product.get("tags") or []
    if isinstance(tags, str):  # the Admin API's comma-separated form
        tags = tags.split(",")
    return sorted({tag.strip() for tag in tags if tag.strip()})


def _variant_image(product: dict[str, Any], variant: dict[str, Any]) -> str | None:
    featured = variant.get("featured_image") or {}
    if featured.get("src"):
        return featured["src"]
    linked = [i["src"] for i in product.get("images") or [] if variant["id"] in (i.get("variant_ids") or [])]
    return linked[0] if linked else None


def _is_default_only(product: dict[str, Any]) -> bool:
    """Shopify's product without options: one variant on option ``Title``, value ``Default Title``."""
    return [o["name"] for o in product["options"]] == ["Title"] and len(product["variants"]) == 1


def expected(product: dict[str, Any]) -> dict[str, Any]:
    """What a store owner expects of one Shopify product in Medusa, read from the feed as sent."""
    options = [o["name"] for o in product["options"]]
    images = [i["src"] for i in product.get("images") or []]
    # An image linked to no variant is the product's general one: a storefront shows it with every
    # variant, beside the variant's own.
    general = {i["src"] for i in product.get("images") or [] if not i.get("variant_ids")}
    variants = {}
    for variant in product["variants"]:
        values = [variant[f"option{n + 1}"] for n in range(len(options))]
        variants[str(variant["id"])] = {
            "title": variant["title"],
            "options": dict(zip(options, values, strict=True)),
            "sku": variant.get("sku") or None,
            "barcode": variant.get("barcode") or None,
            "price": Decimal(variant["price"]),
            "stock": variant.get("inventory_quantity"),
            "image": _variant_image(product, variant),
            "images": sorted(general | {_variant_image(product, variant)} - {None}),
        }
    return {
        "title": product["title"],
        "category": product.get("product_type") or None,
        "tags": _tags(product),
        "images": sorted(set(images) | {v["image"] for v in variants.values() if v["image"]}),
        "variants": variants,
    }


def actual(product: dict[str, Any], location: str) -> dict[str, Any]:
    """The same view of a product read back from Medusa, stock at the sync's ``location``."""
    variants = {}
    for variant in product["variants"]:
        source_id = (variant.get("metadata") or {}).get("source_variant_id")
        [item] = variant["inventory_items"]
        usd = [p["amount"] for p in variant["prices"] if p["currency_code"] == "usd"]
        variants[source_id] = {
            "title": variant["title"],
            "options": {o["option"]["title"]: o["value"] for o in variant["options"]},
            "sku": variant["sku"],
            "barcode": variant["barcode"],
            "price": Decimal(str(usd[0])) if len(usd) == 1 else usd,
            "stock": next(
                (
                    level["stocked_quantity"]
                    for level in item["inventory"]["location_levels"]
                    if level["location_id"] == location
                ),
                None,
            ),
            "image": (variant.get("metadata") or {}).get("image"),
            "images": sorted(i["url"] for i in variant.get("images") or []),
        }
    return {
        "title": product["title"],
        "category": next(iter(c["name"] for c in product["categories"]), None),
        "tags": sorted(t["value"] for t in product["tags"]),
        "images": sorted(i["url"] for i in product["images"]),
        "variants": variants,
    }


def synced(store) -> dict[int, dict[str, Any]]:
    return ours(store_products(store, fields=FIELDS), prefix=PREFIX)


def test_a_shopify_feed_syncs_field_exact_with_every_variant_its_stock_and_its_image(
    sync, feed, storefront, medusa_store_module
):
    outcome = sync(sync_inventory=True, settings=SHOPIFY)
    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report
    assert report["status"] == "success", report
    assert report["products"]["created"] == FEED_SIZE, report["products"]
    assert report["source"]["quarantined"] == 0, report["quarantine"]
    total_variants = sum(len(p["variants"]) for p in feed)
    print(f"\n[shopify] first sync: products {report['products']}, variants {report.get('variants')}")
    assert report["variants"]["created"] == total_variants - sum(_is_default_only(p) for p in feed)

    store = medusa_store_module
    products = synced(store)
    assert sorted(products) == sorted(p["id"] for p in feed)
    location = location_id(store)
    wrong = {}
    for product in feed:
        held = products[product["id"]]
        want, got = expected(product), actual(held, location)
        if _is_default_only(product):
            # No options upstream: the sync's one variant on its own option, priced and stocked.
            [variant] = want["variants"].values()
            [mine] = got["variants"].values()
            want["variants"] = {
                "default": {
                    **variant,
                    "title": "Default",
                    "options": {"Default option": "Default"},
                    "image": None,
                    "images": want["images"],
                }
            }
            got["variants"] = {"default": mine}
        else:
            # Medusa lists a product's options in no set order: the same names, each once.
            assert sorted(o["title"] for o in held["options"]) == sorted(
                o["name"] for o in product["options"]
            )
            for option in held["options"]:
                upstream = next(o for o in product["options"] if o["name"] == option["title"])
                assert sorted(v["value"] for v in option["values"]) == sorted(upstream["values"])
        assert all(v["manage_inventory"] for v in held["variants"]), product["id"]
        if want != got:
            wrong[product["id"]] = (want, got)
    assert not wrong, f"{len(wrong)} products differ, e.g. {next(iter(wrong.items()))}"
    biggest = max(feed, key=lambda p: len(p["variants"]))
    assert len(products[biggest["id"]]["variants"]) == len(biggest["variants"]) == 100


def test_the_same_feed_paged_by_link_headers_is_read_whole_and_the_rerun_writes_nothing(
    sync, catalog, medusa_proxy
):
    catalog.link_paging = True
    try:
        outcome = sync(sync_inventory=True, on_missing="delete", settings=SHOPIFY)
    finally:
        catalog.link_paging = False
    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report
    print(f"\n[shopify] Link-paged rerun: products {report['products']}, writes {medusa_proxy.writes()}")
    assert report["source"]["complete"] is True, report["source"]
    assert report["products"]["unchanged"] == FEED_SIZE, report["products"]
    assert medusa_proxy.writes() == []


def test_an_empty_page_in_the_middle_of_the_feed_blocks_every_delete(sync, catalog, medusa_store_module):
    before = synced(medusa_store_module)
    catalog.set_faults(short_page_at_skip=100, short_page_keep=0)  # the page from record 100 on: empty
    try:
        outcome = sync(sync_inventory=True, on_missing="delete", settings=SHOPIFY, page_size=50)
    finally:
        catalog.set_faults()
    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report
    print(f"\n[shopify] empty page mid-feed: source {report['source']}, products {report['products']}")
    assert report["source"]["complete"] is False, report["source"]
    assert report["products"]["deleted"] == report["products"]["drafted"] == 0
    after = synced(medusa_store_module)
    assert sorted(after) == sorted(before)
    assert {i: len(p["variants"]) for i, p in after.items()} == {
        i: len(p["variants"]) for i, p in before.items()
    }


def test_a_customer_buys_a_chosen_size_and_colour_and_its_stock_is_reserved(
    feed, storefront, medusa_store_module
):
    store = medusa_store_module
    product = next(
        p for p in feed if [o["name"] for o in p["options"]] == ["Size", "Color"] and len(p["variants"]) >= 4
    )
    chosen = product["variants"][-1]
    size, colour = chosen["option1"], chosen["option2"]
    held = synced(store)[product["id"]]
    [variant] = [
        v
        for v in held["variants"]
        if {o["option"]["title"]: o["value"] for o in v["options"]} == {"Size": size, "Color": colour}
    ]
    [item] = variant["inventory_items"]

    def reserved() -> int:
        levels = _ok(
            store.admin.get(
                f"/admin/inventory-items/{item['inventory_item_id']}/location-levels",
                params={"fields": "id,location_id,reserved_quantity"},
            )
        )["inventory_levels"]
        [level] = [lv for lv in levels if lv["location_id"] == location_id(store)]
        return level["reserved_quantity"]

    assert reserved() == 0
    completed = storefront.checkout([variant["id"]], quantity=2)
    assert completed.get("type") == "order", completed
    [line] = completed["order"]["items"]
    assert line["variant_id"] == variant["id"] and line["quantity"] == 2
    assert Decimal(str(line["unit_price"])) == Decimal(chosen["price"])
    print(f"\n[shopify] bought 2 x {product['title']} {size} / {colour} at {chosen['price']}")
    assert reserved() == 2
