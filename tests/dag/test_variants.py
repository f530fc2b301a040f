"""Products with variants, end to end: a real Medusa, a real Airflow, the requests counted.

One store, in order: a catalog of products with 1 to 12 variants (sizes by colours, each variant
its own sku, price to the cent and image) is synced and read back field by field; an unchanged
rerun writes nothing; a merchant adds a variant of their own to a synced product by hand; then, on
that same product, one variant's price changes upstream (exactly that price is written), a variant
is added upstream on a new size (the size first, then exactly one variant), and one is removed
upstream: kept and reported under ``on_missing=ignore``, then exactly that variant deleted by the
next run under ``on_missing=delete``. The merchant's variant keeps its id, prices and options
through all of it, and no request ever names it. Last, a variant added
upstream with another product's sku costs that product alone a rejection, with Medusa's reason.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.stack.store_view import ours, store_products

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]

PRODUCTS = "/admin/products/batch"
SIZES = ("XS", "S", "M", "L", "XL", "XXL")
COLOURS = ("Black", "White")
COUNT = 24  # products 1..24 with 1..12 variants (product n has 1 + (n - 1) % 12)
MAIN = 8  # the product the merchant edits and the source changes: 8 variants
PRICED, REMOVED = 803, 805  # source variant ids on it: one whose price changes, one removed later
FIELDS = (
    "id,external_id,title,metadata,images.id,images.url,options.id,options.title,options.values.value,"
    "variants.id,variants.title,variants.sku,variants.barcode,variants.metadata,variants.manage_inventory,"
    "variants.weight,variants.options.value,variants.options.option_id,variants.prices.id,"
    "variants.prices.amount,variants.prices.currency_code,variants.images.url"
)


def image(product_id: int, colour: str) -> str:
    return f"https://img.example/tees/{product_id}/{colour.lower()}.jpg"


def record(product_id: int, count: int) -> dict[str, Any]:
    """A DummyJSON-shaped record in the canonical shape with ``count`` variants: the sizes of black,
    then of white; prices in cents that a float sum would get wrong (x.05, x.15 …)."""
    combos = [(size, colour) for colour in COLOURS for size in SIZES][:count]
    variants = [
        {
            "id": product_id * 100 + n,
            "title": f"{size} / {colour}",
            "options": {"Size": size, "Colour": colour},
            "sku": f"TEE-{product_id}-{size}-{colour[0]}",
            "barcode": f"40{product_id:04d}{n:04d}",
            "price": round(9.05 + product_id + n * 0.1, 2),
            "weight": 120 + n,
            "image": image(product_id, colour),
        }
        for n, (size, colour) in enumerate(combos, start=1)
    ]
    return {
        "id": product_id,
        "title": f"Organic Tee {product_id}",
        "description": f"A tee in {count} variants.",
        "category": "tops",
        "tags": ["cotton"],
        "brand": "Loom",
        "images": [f"https://img.example/tees/{product_id}/main.jpg"],
        "thumbnail": f"https://img.example/tees/{product_id}/main.jpg",
        "options": [
            {"title": "Size", "values": list(dict.fromkeys(size for size, _ in combos))},
            {"title": "Colour", "values": list(dict.fromkeys(colour for _, colour in combos))},
        ],
        "variants": variants,
    }


CATALOG = [record(n, 1 + (n - 1) % 12) for n in range(1, COUNT + 1)]
TOTAL_VARIANTS = sum(len(r["variants"]) for r in CATALOG)


def _ok(response) -> dict[str, Any]:
    assert response.status_code < 300, f"{response.url}: {response.status_code} {response.text[:500]}"
    return response.json()


def synced(store) -> dict[int, dict[str, Any]]:
    return ours(store_products(store, fields=FIELDS))


def option_values(product: dict[str, Any], variant: dict[str, Any]) -> dict[str, str]:
    titles = {o["id"]: o["title"] for o in product["options"]}
    return {titles[o["option_id"]]: o["value"] for o in variant["options"]}


def by_source_variant(product: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {
        int(v["metadata"]["source_variant_id"]): v
        for v in product["variants"]
        if (v.get("metadata") or {}).get("source_variant_id")
    }


def mismatches(product: dict[str, Any], source: dict[str, Any]) -> list[str]:
    """Every field where the store's product and its variants disagree with the source record."""
    found = []
    options = {o["title"]: {v["value"] for v in o["values"]} for o in product["options"]}
    for option in source["options"]:
        if not set(option["values"]) <= options.get(option["title"], set()):
            found.append(f"option {option['title']}: {options.get(option['title'])} lacks {option['values']}")
    held = by_source_variant(product)
    if set(held) != {v["id"] for v in source["variants"]}:
        found.append(f"variants by source id: {sorted(held)} != {[v['id'] for v in source['variants']]}")
    for want in source["variants"]:
        have = held.get(want["id"])
        if have is None:
            continue
        usd = [p["amount"] for p in have["prices"] if p["currency_code"] == "usd"]
        actual = (
            have["title"],
            have["sku"],
            have["barcode"],
            usd,
            option_values(product, have),
            have["weight"],
        )
        expected = (
            want["title"],
            want["sku"],
            want["barcode"],
            [want["price"]],
            want["options"],
            want["weight"],
        )
        if actual != expected:
            found.append(f"variant {want['id']}: {actual} != {expected}")
        # Medusa lists a variant's own images with the product's general ones (linked to none).
        shown = {i["url"] for i in have.get("images") or []}
        if shown != {*source["images"], want["image"]}:
            found.append(
                f"variant {want['id']} images: {sorted(shown)} != {[*source['images'], want['image']]}"
            )
    urls = [i["url"] for i in product["images"]]
    wanted = list(dict.fromkeys([*source["images"], *(v["image"] for v in source["variants"])]))
    if sorted(urls) != sorted(wanted):
        found.append(f"images {urls} != {wanted}")
    return found


def every_body(proxy) -> str:
    """Every request body that reached the store, as one text (to look for an id in)."""
    return json.dumps([s.body.decode() for s in proxy.seen if s.body])


@pytest.fixture(scope="module")
def variant_catalog(catalog):
    """The module's catalog server serving the variant catalog (the tests change it in order)."""
    catalog.replace_products(copy.deepcopy(CATALOG))
    return catalog


def test_products_with_1_to_12_variants_sync_field_exact(sync, variant_catalog, medusa_store_module):
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report
    assert report["products"]["created"] == COUNT and report["products"]["rejected"] == 0, report["products"]
    assert report["variants"]["created"] == TOTAL_VARIANTS
    products = synced(medusa_store_module)
    assert sorted(products) == list(range(1, COUNT + 1))
    assert sorted(len(p["variants"]) for p in products.values()) == sorted(
        len(r["variants"]) for r in CATALOG
    )
    wrong = {n: found for n, r in enumerate(CATALOG, start=1) if (found := mismatches(products[n], r))}
    assert wrong == {}


def test_an_unchanged_rerun_sends_no_write(sync, variant_catalog, medusa_proxy):
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert medusa_proxy.writes() == []
    assert outcome.report["products"]["unchanged"] == COUNT
    assert outcome.report["variants"]["unchanged"] == TOTAL_VARIANTS


@pytest.fixture(scope="module")
def merchants_variant(medusa_store_module) -> dict[str, Any]:
    """A variant a merchant adds by hand to the product ``MAIN``: a size of their own (an option
    value the source does not have) in white, with a USD and a EUR price."""
    admin = medusa_store_module.admin
    product = synced(medusa_store_module)[MAIN]
    size = next(o for o in product["options"] if o["title"] == "Size")
    path = f"/admin/products/{product['id']}"
    _ok(
        admin.post(
            f"{path}/options/batch",
            json={"update": [{"product_option_id": size["id"], "add": [{"value": "Tall"}]}]},
        )
    )
    body = {
        "title": "Tall / White (shop only)",
        "sku": "HAND-TALL-W",
        "options": {"Size": "Tall", "Colour": "White"},
        "prices": [{"amount": 31.5, "currency_code": "usd"}, {"amount": 29.9, "currency_code": "eur"}],
        "manage_inventory": False,
    }
    created = _ok(admin.post(f"{path}/variants", json=body))["product"]
    [variant] = [v for v in created["variants"] if v["sku"] == "HAND-TALL-W"]
    return {
        "product_id": product["id"],
        "id": variant["id"],
        "state": merchant_state(medusa_store_module, variant["id"]),
    }


def merchant_state(store, variant_id: str) -> tuple:
    product = synced(store)[MAIN]
    [variant] = [v for v in product["variants"] if v["id"] == variant_id]
    prices = sorted((p["currency_code"], p["amount"], p["id"]) for p in variant["prices"])
    return (
        variant["id"],
        variant["title"],
        variant["sku"],
        option_values(product, variant),
        prices,
        variant["metadata"],
    )


def assert_untouched(store, proxy, merchants: dict[str, Any]) -> None:
    assert merchant_state(store, merchants["id"]) == merchants["state"]
    assert merchants["id"] not in every_body(proxy)


def variant_writes(proxy, product_id: str) -> list[dict[str, Any]]:
    return proxy.bodies("POST", f"/admin/products/{product_id}/variants/batch")


def test_one_variants_price_changed_upstream_writes_exactly_that_price(
    sync, variant_catalog, medusa_store_module, medusa_proxy, merchants_variant
):
    changed = copy.deepcopy(CATALOG)
    main = changed[MAIN - 1]
    [priced] = [v for v in main["variants"] if v["id"] == PRICED]
    priced["price"] = 47.35
    variant_catalog.replace_products(changed)
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    store = medusa_store_module
    product = synced(store)[MAIN]
    held = by_source_variant(product)[PRICED]
    [body] = variant_writes(medusa_proxy, product["id"])
    assert body["create"] == [] and body["delete"] == []
    [update] = body["update"]
    assert update["id"] == held["id"]
    assert [(p["amount"], p["currency_code"]) for p in update["prices"]] == [(47.35, "usd")]
    assert set(update) == {"id", "prices", "metadata"}  # nothing else of the variant changed
    # The product's own fields did not change: its write is its hash alone.
    [product_body] = medusa_proxy.bodies("POST", PRODUCTS)
    assert product_body["create"] == [] and product_body["delete"] == []
    assert [set(u) for u in product_body["update"]] == [{"id", "metadata"}]
    assert sorted(medusa_proxy.writes()) == sorted(
        [("POST", f"/admin/products/{product['id']}/variants/batch"), ("POST", PRODUCTS)]
    )
    assert [p["amount"] for p in held["prices"]] == [47.35]
    assert mismatches(product, main) == []
    variants = outcome.report["variants"]
    assert (variants["updated"], variants["created"], variants["deleted"]) == (1, 0, 0)
    assert variants["unchanged"] == TOTAL_VARIANTS - 1
    assert_untouched(store, medusa_proxy, merchants_variant)


def test_a_variant_added_upstream_on_a_new_size_is_created_alone_after_its_size(
    sync, variant_catalog, medusa_store_module, medusa_proxy, merchants_variant
):
    changed = copy.deepcopy(variant_catalog.products)
    main = changed[MAIN - 1]
    main["options"][0]["values"].append("XXXL")
    main["variants"].append(
        {
            "id": 899,
            "title": "XXXL / Black",
            "options": {"Size": "XXXL", "Colour": "Black"},
            "sku": "TEE-8-XXXL-B",
            "barcode": "4000089999",
            "price": 27.15,
            "weight": 140,
            "image": image(MAIN, "Black"),
        }
    )
    variant_catalog.replace_products(changed)
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    store = medusa_store_module
    product = synced(store)[MAIN]
    writes = medusa_proxy.writes()
    options_path = f"/admin/products/{product['id']}/options/batch"
    variants_path = f"/admin/products/{product['id']}/variants/batch"
    # The new size first, then the variant on it, then the product's hash, then its image link.
    assert writes[:3] == [("POST", options_path), ("POST", variants_path), ("POST", PRODUCTS)], writes
    assert [path for _, path in writes[3:]] == [
        f"/admin/products/{product['id']}/images/{i['id']}/variants/batch"
        for i in product["images"]
        if i["url"] == image(MAIN, "Black")
    ]
    [options] = medusa_proxy.bodies("POST", options_path)
    assert [u["add"] for u in options["update"]] == [[{"value": "XXXL"}]]
    [body] = medusa_proxy.bodies("POST", variants_path)
    assert (body["update"], body["delete"]) == ([], [])
    [created] = body["create"]
    assert created["sku"] == "TEE-8-XXXL-B" and created["metadata"]["source_variant_id"] == "899"
    assert mismatches(product, main) == []
    assert outcome.report["variants"]["created"] == 1
    assert_untouched(store, medusa_proxy, merchants_variant)


def test_a_variant_removed_upstream_is_kept_and_reported_under_on_missing_ignore(
    sync, variant_catalog, medusa_store_module, medusa_proxy, merchants_variant
):
    store = medusa_store_module
    removed_id = by_source_variant(synced(store)[MAIN])[REMOVED]["id"]
    changed = copy.deepcopy(variant_catalog.products)
    main = changed[MAIN - 1]
    main["variants"] = [v for v in main["variants"] if v["id"] != REMOVED]
    variant_catalog.replace_products(changed)
    outcome = sync()  # on_missing=ignore
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert medusa_proxy.writes() == [("POST", PRODUCTS)]  # the product's new hash alone
    assert removed_id in {v["id"] for v in synced(store)[MAIN]["variants"]}
    variants = outcome.report["variants"]
    assert (variants["kept"], variants["missing_upstream"], variants["deleted"]) == (1, 1, 0)
    [kept] = outcome.report["kept_variants"]
    assert (kept["external_id"], kept["source_variant_id"], kept["variant_id"]) == (
        f"dummyjson:{MAIN}",
        str(REMOVED),
        removed_id,
    )
    assert kept["reason"] == "on_missing=ignore: a variant removed upstream is kept"
    assert_untouched(store, medusa_proxy, merchants_variant)


def test_the_kept_variant_is_deleted_alone_once_on_missing_is_delete(
    sync, variant_catalog, medusa_store_module, medusa_proxy, merchants_variant
):
    store = medusa_store_module
    before = synced(store)[MAIN]
    removed_id = by_source_variant(before)[REMOVED]["id"]
    outcome = sync(on_missing="delete")
    assert outcome.returncode == 0, outcome.output[-5000:]
    variants_path = f"/admin/products/{before['id']}/variants/batch"
    [body] = medusa_proxy.bodies("POST", variants_path)
    assert body == {"create": [], "update": [], "delete": [removed_id]}
    # The product's hash was written before: only its record of the sync's variants changes.
    main = variant_catalog.products[MAIN - 1]
    record = ",".join(str(v["id"]) for v in main["variants"])
    [product_body] = medusa_proxy.bodies("POST", PRODUCTS)
    assert product_body["update"] == [{"id": before["id"], "metadata": {"sync_variants": record}}]
    assert sorted(medusa_proxy.writes()) == [("POST", PRODUCTS), ("POST", variants_path)]
    product = synced(store)[MAIN]
    assert removed_id not in {v["id"] for v in product["variants"]}
    assert mismatches(product, main) == []
    variants = outcome.report["variants"]
    assert (variants["deleted"], variants["created"], variants["updated"], variants["kept"]) == (1, 0, 0, 0)
    assert_untouched(store, medusa_proxy, merchants_variant)
    # Every other product kept its variants.
    after = synced(store)
    assert all(mismatches(after[n], r) == [] for n, r in enumerate(variant_catalog.products, start=1))


def test_a_variant_with_a_sku_the_store_already_holds_costs_its_product_a_rejection_with_the_reason(
    sync, variant_catalog, medusa_store_module, medusa_proxy
):
    """A sku two records of the feed share is quarantined by the fetch (``core.validation``); one a
    product outside the feed holds in the store (a merchant's own) only Medusa can refuse: that
    costs the one product a rejection naming the sku, and the rest of its batch lands."""
    store = medusa_store_module
    taken = "MERCHANT-OWN-SKU-1"
    hand_made = {
        "title": "Hand-made Scarf",
        "options": [{"title": "Kind", "values": ["One"]}],
        "variants": [
            {
                "title": "One",
                "sku": taken,
                "options": {"Kind": "One"},
                "prices": [{"amount": 5, "currency_code": "usd"}],
            }
        ],
    }
    merchants = _ok(store.admin.post("/admin/products", json=hand_made))["product"]
    changed = copy.deepcopy(variant_catalog.products)
    clashing = changed[11]  # product 12: 12 variants, every size of both colours
    clashing["variants"][0]["sku"] = taken
    clashing["variants"][1]["price"] = 99.5  # a change the rest of the product would carry
    other = changed[4]
    other["variants"][0]["price"] = 42.25  # another product of the same batch
    variant_catalog.replace_products(changed)
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report
    assert report["status"] == "success", report["failed_because"]
    assert report["source"]["quarantined"] == 0, report["quarantine"]
    [rejected] = report["rejected"]
    assert rejected["external_id"] == "dummyjson:12"
    assert taken in rejected["message"], rejected
    held = synced(store)
    assert by_source_variant(held[12])[1201]["sku"] != taken
    # The product's other change waits with it: its variants are written in one request.
    assert 99.5 not in [p["amount"] for p in by_source_variant(held[12])[1202]["prices"]]
    fifth = by_source_variant(held[other["id"]])[other["variants"][0]["id"]]
    assert [p["amount"] for p in fifth["prices"] if p["currency_code"] == "usd"] == [42.25]
    still = _ok(store.admin.get(f"/admin/products/{merchants['id']}", params={"fields": "variants.sku"}))
    assert [v["sku"] for v in still["product"]["variants"]] == [taken]
