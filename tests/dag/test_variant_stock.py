"""Stock per variant in a real Medusa, kept by the hourly ``medusa_stock_sync`` run by Airflow.

The store holds two products with variants written as the catalog sync writes them (options Size
by Colour, every variant managed by inventory and carrying its source variant id in its metadata),
and a variant a merchant added by hand to one of them, stocked at the sync's location. The
catalog server serves the matching source records (DummyJSON paging, records with ``options`` and
``variants``). In order, on one store: the first stock run gives every source variant a level
holding its stock and leaves the merchant's level alone; one variant's stock changed upstream (and
a variant added upstream that the catalog sync has not created yet) is one level written; a
variant's stock Medusa cannot hold is quarantined and only its level is left. Every write is
counted at the proxy in front of Medusa.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from medusa_sync.core.models import SOURCE_VARIANT_KEY
from medusa_sync.core.stock import STORE_LEVEL_FIELDS
from medusa_sync.operators.sync_stock import STOCK_LOCATION_NAME
from medusa_sync.rundata.run_folder import RunFolder
from tests.dag.conftest import LEVELS, STOCK_DAG, level_writes
from tests.stack.store_view import location_id

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]

MERCHANT_SKU = "TEE-L-BLUE-BY-HAND"
MERCHANT_QUANTITY = 77


def source_product(pid: int, title: str, sizes: list[str], colours: list[str], stocks: list[int]) -> dict:
    """A source record with variants: one variant per (size, colour) in order, as many as ``stocks``
    (source variant ids ``pid * 100 + 1, 2, …``); the options list every size and colour."""
    combos = [(size, colour) for size in sizes for colour in colours][: len(stocks)]
    return {
        "id": pid,
        "title": title,
        "description": f"{title}, in sizes and colours.",
        "category": "tops",
        "tags": ["cotton"],
        "images": [f"https://cdn.example.test/{pid}/1.webp"],
        "options": [{"title": "Size", "values": sizes}, {"title": "Colour", "values": colours}],
        "variants": [
            {
                "id": pid * 100 + n,
                "title": f"{size} / {colour}",
                "options": {"Size": size, "Colour": colour},
                "sku": f"{title.upper()}-{size}-{colour}".replace(" ", "-"),
                "barcode": f"{pid:06d}{n:04d}",
                "price": 19.99 + n,
                "stock": stock,
                "weight": 200,
            }
            for n, ((size, colour), stock) in enumerate(zip(combos, stocks, strict=True), start=1)
        ],
    }


# The tee's sixth combination (L / Blue) is the merchant's: the source has five variants.
SOURCE = [
    source_product(501, "Tee", ["S", "M", "L"], ["Red", "Blue"], [3, 0, 12, 7, 5]),
    source_product(502, "Cap", ["One size"], ["Black", "White", "Green"], [40, 2, 9]),
]


def _ok(response) -> dict[str, Any]:
    assert response.ok, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json()


def create_as_the_sync_does(admin, record: dict[str, Any], *, channel: str, profile: str) -> None:
    """The product as the catalog sync creates a product with variants: its options, and one
    variant per source variant, managed by inventory, its source variant id in its metadata."""
    product = {
        "title": record["title"],
        "description": record["description"],
        "status": "published",
        "external_id": f"dummyjson:{record['id']}",
        "images": [{"url": url} for url in record["images"]],
        "options": record["options"],
        "variants": [
            {
                "title": variant["title"],
                "sku": variant["sku"],
                "barcode": variant["barcode"],
                "options": variant["options"],
                "prices": [{"amount": variant["price"], "currency_code": "usd"}],
                "manage_inventory": True,
                "weight": variant["weight"],
                "metadata": {SOURCE_VARIANT_KEY: str(variant["id"]), "sync_hash": f"h{variant['id']}"},
            }
            for variant in record["variants"]
        ],
        "sales_channels": [{"id": channel}],
        "shipping_profile_id": profile,
        "metadata": {"sync_hash": f"h{record['id']}"},
    }
    _ok(admin.post("/admin/products/batch", json={"create": [product]}))


def variant_levels(store) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """Every variant's levels (at any location) by (source product id, source variant id); a
    variant without a source variant id (a merchant's) under its sku."""
    fields = ",".join([*STORE_LEVEL_FIELDS, "variants.sku", "variants.manage_inventory"])
    products = _ok(store.admin.get("/admin/products", params={"limit": 100, "fields": fields}))["products"]
    found = {}
    for product in products:
        for variant in product["variants"]:
            assert variant["manage_inventory"] is True, variant
            key = (variant["metadata"] or {}).get(SOURCE_VARIANT_KEY) or variant["sku"]
            [item] = variant["inventory_items"]
            found[(int(product["external_id"].split(":")[1]), key)] = item["inventory"]["location_levels"]
    return found


def stocked_here(store) -> dict[tuple[int, str], int]:
    """Each variant's stocked quantity at the sync's location (variants without a level there left out)."""
    where = location_id(store)
    return {
        key: level["stocked_quantity"]
        for key, here in variant_levels(store).items()
        for level in here
        if level["location_id"] == where
    }


def expected(records: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
    return {(r["id"], str(v["id"])): v["stock"] for r in records for v in r["variants"]}


@pytest.fixture(scope="module")
def variant_store(medusa_store_module, catalog):
    """The store with the two products as the catalog sync wrote them, the merchant's variant on
    the tee stocked at the sync's location, and one sync variant with an out-of-date level there;
    the catalog server serving the source records. Returns the merchant's inventory item id."""
    admin = medusa_store_module.admin
    channel = _ok(admin.get("/admin/stores"))["stores"][0]["default_sales_channel_id"]
    [profile] = _ok(admin.get("/admin/shipping-profiles", params={"type": "default"}))["shipping_profiles"]
    for record in SOURCE:
        create_as_the_sync_does(admin, record, channel=channel, profile=profile["id"])
    # The sync's location, already linked to the channel as the catalog sync's first run left it.
    location = _ok(admin.post("/admin/stock-locations", json={"name": STOCK_LOCATION_NAME}))["stock_location"]
    _ok(admin.post(f"/admin/stock-locations/{location['id']}/sales-channels", json={"add": [channel]}))

    fields = "id,external_id,variants.id,variants.sku,variants.inventory_items.inventory_item_id"
    listed = _ok(admin.get("/admin/products", params={"fields": fields, "limit": 10}))["products"]
    tee = next(p for p in listed if p["external_id"] == "dummyjson:501")
    merchant = {
        "title": "L / Blue (added by hand)",
        "sku": MERCHANT_SKU,
        "options": {"Size": "L", "Colour": "Blue"},
        "prices": [{"amount": 25, "currency_code": "usd"}],
        "manage_inventory": True,
    }
    _ok(admin.post(f"/admin/products/{tee['id']}/variants", json=merchant))
    items = {
        v["sku"]: v["inventory_items"][0]["inventory_item_id"]
        for p in _ok(admin.get("/admin/products", params={"fields": fields, "limit": 10}))["products"]
        for v in p["variants"]
    }
    for sku, quantity in ((MERCHANT_SKU, MERCHANT_QUANTITY), (SOURCE[0]["variants"][2]["sku"], 1)):
        body = {"location_id": location["id"], "stocked_quantity": quantity}
        _ok(admin.post(f"/admin/inventory-items/{items[sku]}/location-levels", json=body))
    catalog.replace_products(copy.deepcopy(SOURCE))
    return items[MERCHANT_SKU]


def test_the_first_stock_run_gives_every_source_variant_its_level_and_leaves_the_merchants_alone(
    variant_store, stock_sync, medusa_store_module, medusa_proxy
):
    before = variant_levels(medusa_store_module)
    assert before[(501, MERCHANT_SKU)][0]["stocked_quantity"] == MERCHANT_QUANTITY

    result = stock_sync()

    # Eight source variants: seven levels created, the one held out of date (1, source 12) updated.
    assert (result["created"], result["updated"], result["unchanged"]) == (7, 1, 0)
    assert (result["not_in_store"], result["unmanaged"]) == (0, 0)
    assert level_writes(medusa_proxy) == (7, 1)
    assert [path for _, path in medusa_proxy.writes()] == [LEVELS, LEVELS]  # creates, then the update
    updated = [item for body in medusa_proxy.bodies("POST", LEVELS) for item in body.get("update", [])]
    assert variant_store not in {item["inventory_item_id"] for item in updated}

    after = variant_levels(medusa_store_module)
    assert after[(501, MERCHANT_SKU)] == before[(501, MERCHANT_SKU)]  # the merchant's level, as it was
    assert stocked_here(medusa_store_module) == {**expected(SOURCE), (501, MERCHANT_SKU): MERCHANT_QUANTITY}
    assert all(len(here) == 1 for here in after.values())  # one level each, at the sync's location


def test_one_variants_stock_changed_upstream_is_exactly_one_level_written(
    variant_store, stock_sync, catalog, medusa_store_module, medusa_proxy
):
    records = copy.deepcopy(SOURCE)
    records[1]["variants"][1]["stock"] = 31  # the white cap: 2 -> 31
    # A variant added upstream that the catalog sync has not created yet: no level to write.
    records[1]["options"][1]["values"].append("Navy")
    new = {**records[1]["variants"][0], "id": 50204, "title": "One size / Navy", "stock": 6}
    records[1]["variants"].append(
        {**new, "options": {"Size": "One size", "Colour": "Navy"}, "sku": "CAP-NAVY"}
    )
    catalog.replace_products(records)

    result = stock_sync()

    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 7)
    assert result["not_in_store"] == 1  # the navy cap
    assert level_writes(medusa_proxy) == (0, 1)
    assert medusa_proxy.writes() == [("POST", LEVELS)]
    [body] = medusa_proxy.bodies("POST", LEVELS)
    assert [item["stocked_quantity"] for item in body["update"]] == [31]
    held = stocked_here(medusa_store_module)
    assert held == {
        **expected(SOURCE),
        (502, "50202"): 31,
        (501, MERCHANT_SKU): MERCHANT_QUANTITY,
    }

    again = stock_sync()  # nothing changed since: nothing written
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 8)
    assert medusa_proxy.writes() == []


def test_a_variants_stock_medusa_cannot_hold_is_quarantined_and_only_its_level_is_left(
    variant_store, stock_sync, catalog, local_airflow, medusa_store_module, medusa_proxy
):
    before = stocked_here(medusa_store_module)
    records = copy.deepcopy(catalog.products)  # in step with the store (the previous test's run)
    records[0]["variants"][0]["stock"] = -4  # the small red tee: not a stock
    records[0]["variants"][1]["stock"] = 8  # the small blue tee: 0 -> 8
    catalog.replace_products(records)

    result = stock_sync()

    assert (result["created"], result["updated"]) == (0, 1)
    newest = max((local_airflow.storage / STOCK_DAG).glob("*/stock.json"), key=lambda p: p.stat().st_mtime)
    quarantined = RunFolder(f"file://{newest.parent}").quarantined()
    assert [(q["source_id"], q["reason"]) for q in quarantined] == [
        ("501", "variants.0.stock: -4 is negative (source variant 50101)")
    ]
    after = stocked_here(medusa_store_module)
    assert after[(501, "50101")] == before[(501, "50101")]  # left as it was
    assert after == {**before, (501, "50102"): 8}
