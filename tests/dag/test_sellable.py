"""A synced catalog the shop can sell, and a merchant's hand edits that survive the sync.

One store, in order: the store is set up to sell (a USD region, a stock location with a flat
shipping option on the default shipping profile, a publishable key); a default sync, then a
customer buys 5 synced products through the store API with the publishable key only; a merchant
edits a synced product by hand (a variant "Large" with its own price, an image made its thumbnail, a
cross-listing into a category and a tag the sync made for other products, prices, a channel…), its
title, price and images change at the source, and the next run lands every upstream change, keeps
every hand edit and writes no other product; a ``sync_inventory=true`` sync, then the customer buys
5 more and their stock is reserved.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from medusa_sync.core.stock import STORE_LEVEL_FIELDS
from tests.fixtures.storefront import Storefront, open_storefront
from tests.stack.store_view import location_id, ours, store_products

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]

PRODUCTS = "/admin/products/batch"
EDITED = 1  # the source id of the product the merchant edits
UNPROFILED = 3  # a synced product whose shipping profile was taken away
OWN_FIELDS = (
    "id,external_id,handle,title,thumbnail,metadata,*categories,*tags,*sales_channels,shipping_profile.id,"
    "images.id,images.url,images.rank,options.id,options.title,variants.id,variants.title,"
    "variants.prices.id,variants.prices.amount,variants.prices.currency_code,"
    "variants.prices.price_rules.attribute,variants.prices.price_rules.value"
)
HAND_IMAGE = "https://shop.example/lash-princess-lifestyle.jpg"
# The source's record of the edited product, as it changes upstream.
NEW_IMAGES = [
    "https://cdn.dummyjson.com/product-images/beauty/essence-mascara-lash-princess/2.webp",
    "https://cdn.dummyjson.com/product-images/beauty/essence-mascara-lash-princess/3.webp",
]


def _ok(response) -> dict[str, Any]:
    assert response.status_code < 300, f"{response.url}: {response.status_code} {response.text[:500]}"
    return response.json()


@pytest.fixture(scope="module")
def storefront(medusa_store_module) -> Storefront:
    return open_storefront(medusa_store_module.admin)


def default_profile(store) -> str:
    found = _ok(store.admin.get("/admin/shipping-profiles", params={"type": "default"}))
    return found["shipping_profiles"][0]["id"]


def synced(store) -> dict[int, dict[str, Any]]:
    return ours(store_products(store, fields=OWN_FIELDS))


def buy(storefront: Storefront, store, source_ids: list[int]) -> dict[str, Any]:
    """List each product with a USD price, then buy one of each in one order."""
    products = ours(store_products(store))
    for source_id in source_ids:
        assert storefront.listed_price(products[source_id]["handle"]) is not None, source_id
    variant_ids = [products[source_id]["variants"][0]["id"] for source_id in source_ids]
    completed = storefront.checkout(variant_ids)
    assert completed.get("type") == "order", completed
    order = completed["order"]
    assert sorted(item["variant_id"] for item in order["items"]) == sorted(variant_ids)
    # Every item is shipped (its product has a shipping profile), and shipping is charged.
    assert all(item["requires_shipping"] for item in order["items"]), order["items"]
    assert order["shipping_total"] > 0
    return order


def test_a_default_sync_gives_every_product_the_default_shipping_profile_and_it_sells(
    sync, storefront, medusa_store_module
):
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["products"]["created"] == 194
    profile = default_profile(medusa_store_module)
    products = synced(medusa_store_module)
    assert {p["shipping_profile"]["id"] for p in products.values() if p.get("shipping_profile")} == {profile}
    assert all(p.get("shipping_profile") for p in products.values())

    buy(storefront, medusa_store_module, [2, 10, 50, 120, 190])


def hand_edit(store, product: dict[str, Any], storefront: Storefront) -> dict[str, Any]:
    """What a merchant does in the admin to a synced product; returns what they added.

    The category and the tag are ones the sync created for other source products ("fragrances",
    "perfumes"), never this product's: the sync must still leave them on it.
    """
    admin = store.admin
    [fragrances] = _ok(admin.get("/admin/product-categories", params={"handle": "fragrances"}))[
        "product_categories"
    ]
    [perfumes] = _ok(admin.get("/admin/product-tags", params={"value": "perfumes"}))["product_tags"]
    pos = _ok(admin.post("/admin/sales-channels", json={"name": "Point of sale"}))
    fragile = _ok(admin.post("/admin/shipping-profiles", json={"name": "Fragile", "type": "fragile"}))
    added = {
        "category": fragrances["id"],
        "tag": perfumes["id"],
        "channel": pos["sales_channel"]["id"],
        "profile": fragile["shipping_profile"]["id"],
        "handle": "mascara-summer-edition",
    }
    assert added["category"] not in {c["id"] for c in product["categories"]}
    assert added["tag"] not in {t["id"] for t in product["tags"]}
    [variant] = product["variants"]
    prices = [
        {"id": p["id"], "amount": p["amount"], "currency_code": p["currency_code"]} for p in variant["prices"]
    ]
    region_price = {"amount": 7.77, "currency_code": "usd", "rules": {"region_id": storefront.region_id}}
    _ok(
        admin.post(
            f"/admin/products/{product['id']}/variants/{variant['id']}",
            json={"prices": [*prices, {"amount": 8.5, "currency_code": "eur"}, region_price]},
        )
    )
    # A second size: a value of the product's option, then a variant on it with its own price.
    [option] = product["options"]
    _ok(
        admin.post(
            f"/admin/products/{product['id']}/options/batch",
            json={"update": [{"product_option_id": option["id"], "add": [{"value": "Large"}]}]},
        )
    )
    large = _ok(
        admin.post(
            f"/admin/products/{product['id']}/variants",
            json={
                "title": "Large",
                "options": {option["title"]: "Large"},
                "prices": [{"amount": 24.5, "currency_code": "usd"}],
            },
        )
    )
    added["variant"] = next(v["id"] for v in large["product"]["variants"] if v["title"] == "Large")
    _ok(
        admin.post(
            f"/admin/products/{product['id']}",
            json={
                "categories": [{"id": c["id"]} for c in product["categories"]] + [{"id": added["category"]}],
                "tags": [{"id": t["id"]} for t in product["tags"]] + [{"id": added["tag"]}],
                "sales_channels": [{"id": c["id"]} for c in product["sales_channels"]]
                + [{"id": added["channel"]}],
                "images": [{"id": i["id"], "url": i["url"]} for i in product["images"]]
                + [{"url": HAND_IMAGE}],
                "thumbnail": HAND_IMAGE,
                "metadata": {"merchant_note": "restock in June"},
                "handle": added["handle"],
                "shipping_profile_id": added["profile"],
            },
        )
    )
    return added


def test_hand_edits_survive_an_upstream_price_change_and_the_new_price_lands(
    sync, catalog, medusa_store_module, medusa_proxy, real_catalog, storefront
):
    store = medusa_store_module
    before = synced(store)
    edited = before[EDITED]
    added = hand_edit(store, edited, storefront)
    # A synced product without a shipping profile (as an older sync left them) gets the default
    # on its next write; it is not written before that (no change of its own).
    _ok(store.admin.post(f"/admin/products/{before[UNPROFILED]['id']}", json={"shipping_profile_id": None}))

    changed = copy.deepcopy(real_catalog)
    record = next(r for r in changed if r["id"] == EDITED)
    record["price"] = 19.99
    record["title"] = "Essence Mascara Lash Princess XL"
    record["images"] = NEW_IMAGES
    record["thumbnail"] = NEW_IMAGES[0]
    with catalog.serving(changed):
        outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    products = outcome.report["products"]
    assert (products["created"], products["updated"], products["unchanged"]) == (0, 1, 193)
    sent = [item["id"] for body in medusa_proxy.bodies("POST", PRODUCTS) for item in body.get("update", [])]
    assert sent == [edited["id"]]
    assert [w for w in medusa_proxy.writes() if w != ("POST", PRODUCTS)] == []

    after = synced(store)[EDITED]
    # Every upstream change landed...
    assert after["title"] == "Essence Mascara Lash Princess XL"
    variants = {v["title"]: v for v in after["variants"]}
    assert set(variants) == {"Default", "Large"}
    prices = {
        (p["currency_code"], tuple(sorted((p.get("rules") or {}).items()))): p["amount"]
        for p in variants["Default"]["prices"]
    }
    assert prices == {
        ("usd", ()): 19.99,
        ("eur", ()): 8.5,
        ("usd", (("region_id", storefront.region_id),)): 7.77,
    }
    images = [i["url"] for i in sorted(after["images"], key=lambda i: i["rank"])]
    # The source's old image is gone, its new ones take its place, before the merchant's.
    assert images == [*NEW_IMAGES, HAND_IMAGE]
    # ...and every hand edit is there.
    assert variants["Large"]["id"] == added["variant"]
    assert [(p["currency_code"], p["amount"]) for p in variants["Large"]["prices"]] == [("usd", 24.5)]
    assert after["thumbnail"] == HAND_IMAGE
    source_category = {c["id"] for c in edited["categories"]}
    assert {c["id"] for c in after["categories"]} == source_category | {added["category"]}
    assert {t["id"] for t in after["tags"]} == {t["id"] for t in edited["tags"]} | {added["tag"]}
    assert {c["id"] for c in after["sales_channels"]} == {storefront.sales_channel_id, added["channel"]}
    assert after["metadata"]["merchant_note"] == "restock in June"
    assert after["handle"] == added["handle"]
    assert after["shipping_profile"]["id"] == added["profile"]
    assert not synced(store)[UNPROFILED].get("shipping_profile")


def test_after_an_inventory_sync_the_products_sell_and_their_stock_is_reserved(
    sync, storefront, medusa_store_module
):
    store = medusa_store_module
    outcome = sync(sync_inventory=True)
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["products"]["updated"] == 194  # every variant switches to inventory once

    products = synced(store)
    assert products[UNPROFILED]["shipping_profile"]["id"] == default_profile(store)
    assert products[EDITED]["shipping_profile"]["id"] != default_profile(store)  # the merchant's stays

    bought = [3, 11, 60, 130, 194]
    before = reserved(store, bought)
    assert set(before.values()) == {0}
    buy(storefront, store, bought)
    assert reserved(store, bought) == dict.fromkeys(bought, 1)


def test_a_shipping_profile_medusa_does_not_know_fails_the_run_naming_the_param(sync, medusa_proxy):
    outcome = sync(shipping_profile_id="sp_01NOSUCHPROFILE0000000000")
    assert outcome.returncode != 0
    assert any("compute_diff" in why for why in outcome.report["failed_because"]), outcome.report
    assert "shipping_profile_id 'sp_01NOSUCHPROFILE0000000000': Medusa has no such" in outcome.output
    assert medusa_proxy.writes() == []


def reserved(store, source_ids: list[int]) -> dict[int, int]:
    """Each product's reserved quantity at the sync's stock location."""
    where = location_id(store)
    products = ours(store_products(store, fields=",".join(STORE_LEVEL_FIELDS)))
    found = {}
    for source_id in source_ids:
        [item] = products[source_id]["variants"][0]["inventory_items"]
        response = store.admin.get(
            f"/admin/inventory-items/{item['inventory_item_id']}/location-levels",
            params={"fields": "id,location_id,reserved_quantity"},
        )
        [level] = [lv for lv in _ok(response)["inventory_levels"] if lv["location_id"] == where]
        found[source_id] = level["reserved_quantity"]
    return found


NEWCOMER = 9003  # a product added upstream while the store has no default shipping profile


def remove_default_shipping_profile(store) -> str:
    """What a merchant may do in the admin: delete the default shipping profile. Medusa refuses
    while shipping options serve it or products are linked to it, so those go first."""
    admin = store.admin
    profile = default_profile(store)
    options = _ok(
        admin.get("/admin/shipping-options", params={"fields": "id,shipping_profile_id", "limit": 100})
    )
    for option in options["shipping_options"]:
        if option.get("shipping_profile_id") == profile:
            _ok(admin.delete(f"/admin/shipping-options/{option['id']}"))
    linked = [
        p["id"] for p in synced(store).values() if (p.get("shipping_profile") or {}).get("id") == profile
    ]
    _ok(admin.post(PRODUCTS, json={"update": [{"id": i, "shipping_profile_id": None} for i in linked]}))
    _ok(admin.delete(f"/admin/shipping-profiles/{profile}"))
    left = _ok(admin.get("/admin/shipping-profiles", params={"type": "default"}))["shipping_profiles"]
    assert left == []
    return profile


def test_a_store_without_a_default_shipping_profile_still_syncs_its_updates_and_holds_creates_back(
    sync, catalog, medusa_store_module, medusa_proxy, real_catalog
):
    """Last in the module: it leaves the store without a default shipping profile."""
    store = medusa_store_module
    remove_default_shipping_profile(store)
    changed = copy.deepcopy(real_catalog)
    next(r for r in changed if r["id"] == 5)["price"] = 12.34
    newcomer = copy.deepcopy(changed[0]) | {
        "id": NEWCOMER,
        "sku": f"NEW-{NEWCOMER}",
        "title": "Unshippable Lamp",
    }
    newcomer["meta"]["barcode"] = f"{NEWCOMER}000000000"
    with catalog.serving([*changed, newcomer]):
        outcome = sync(sync_inventory=True)  # as the module's last sync: only the price differs
    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report
    assert report["status"] == "success" and report["failed_because"] == []
    products = report["products"]
    assert (products["created"], products["updated"], products["unchanged"]) == (0, 1, 193)
    held = report["held_back"]
    print(f"\n[sellable] no default shipping profile: products {products}; held back {held}")
    assert (held["count"], held["external_ids"]) == (1, [f"dummyjson:{NEWCOMER}"])
    assert "shipping_profile_id" in held["because"]
    assert "1 new product(s) not created" in outcome.output  # the task log says it too
    after = synced(store)
    assert NEWCOMER not in after and len(after) == 194
    prices = {p["external_id"]: p["variants"][0]["prices"] for p in store_products(store)}
    assert [p["amount"] for p in prices["dummyjson:5"] if p["currency_code"] == "usd"] == [12.34]
    assert not medusa_proxy.bodies("POST", PRODUCTS)[0].get("create")
