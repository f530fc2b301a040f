"""A product's shape changing upstream, end to end: a real Medusa, a real Airflow.

One store, in order: two products synced with one variant ("Default option"/"Default") and two
with variants; a merchant adds a variant of their own to one of each (a "Gift box" value on the
one-variant product's "Default option", a "Tall / White" size on the other). Then upstream the
one-variant products gain sizes and colours, and the products with variants drop their options:

* one variant → variants (whatever ``on_missing``): the sync's "Default" variant is deleted and the
  source's variants created in the same request (the product is never without a variant to sell),
  "Default option" unlinked unless the merchant's variant uses it (then the sync's variants name
  its "Default" value too, as Medusa wants every option named);
* variants → one variant: the sync's variants are variants removed upstream, so under
  ``on_missing=ignore`` they are kept and reported; under ``on_missing=delete`` they are deleted
  and the one "Default" variant created at the record's price, unless a merchant's variant uses
  the product's options (the one variant could not name them): kept, with the reason.

The merchant's variants keep their ids, options and prices through all of it; a rerun writes
nothing.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.dag.test_variants import (
    _ok,
    by_source_variant,
    mismatches,
    option_values,
    record,
    synced,
)

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]

PRODUCTS = "/admin/products/batch"
GIFT, PLAIN = 1, 2  # one variant first; GIFT gets a merchant's "Gift box" variant
TALL, SHED = 3, 4  # variants first; TALL gets a merchant's "Tall / White" variant


def one_variant(product_id: int, price: float) -> dict[str, Any]:
    """A DummyJSON-style record without options: the one-variant product."""
    return {
        "id": product_id,
        "title": f"Plain Tee {product_id}",
        "description": "One size, one colour.",
        "category": "tops",
        "tags": ["cotton"],
        "brand": "Loom",
        "price": price,
        "sku": f"PLAIN-{product_id}",
        "images": [f"https://img.example/tees/{product_id}/main.jpg"],
        "thumbnail": f"https://img.example/tees/{product_id}/main.jpg",
    }


# TALL has both colours (its merchant's variant is white); the others black only.
BEFORE = [one_variant(GIFT, 12.05), one_variant(PLAIN, 13.15), record(TALL, 8), record(SHED, 4)]
AFTER = [record(GIFT, 4), record(PLAIN, 3), one_variant(TALL, 21.35), one_variant(SHED, 22.45)]


@pytest.fixture(scope="module")
def shape_catalog(catalog):
    """The module's catalog server serving the products before their shape changes."""
    catalog.replace_products(copy.deepcopy(BEFORE))
    return catalog


def sellable(product: dict[str, Any]) -> list[tuple[str, list[float]]]:
    return [(v["title"], [p["amount"] for p in v["prices"]]) for v in product["variants"]]


def option_titles(product: dict[str, Any]) -> set[str]:
    return {o["title"] for o in product["options"]}


def test_two_one_variant_and_two_products_with_variants_sync(sync, shape_catalog, medusa_store_module):
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    products = synced(medusa_store_module)
    for n in (GIFT, PLAIN):
        assert option_titles(products[n]) == {"Default option"}
        assert sellable(products[n]) == [("Default", [BEFORE[n - 1]["price"]])]
    for n in (TALL, SHED):
        assert mismatches(products[n], BEFORE[n - 1]) == []


@pytest.fixture(scope="module")
def merchants(medusa_store_module) -> dict[int, dict[str, Any]]:
    """A merchant's variant on GIFT (a "Gift box" value added to its "Default option") and on TALL
    (a "Tall" size in white), each with a USD and a EUR price; their state as first read."""
    admin = medusa_store_module.admin
    products = synced(medusa_store_module)
    made = {}
    for n, option, value, options in (
        (GIFT, "Default option", "Gift box", {"Default option": "Gift box"}),
        (TALL, "Size", "Tall", {"Size": "Tall", "Colour": "White"}),
    ):
        product = products[n]
        [held] = [o for o in product["options"] if o["title"] == option]
        path = f"/admin/products/{product['id']}"
        update = {"update": [{"product_option_id": held["id"], "add": [{"value": value}]}]}
        _ok(admin.post(f"{path}/options/batch", json=update))
        body = {
            "title": f"{value} (shop only)",
            "sku": f"HAND-{n}",
            "options": options,
            "prices": [{"amount": 31.5, "currency_code": "usd"}, {"amount": 29.9, "currency_code": "eur"}],
            "manage_inventory": False,
        }
        created = _ok(admin.post(f"{path}/variants", json=body))["product"]
        [variant] = [v for v in created["variants"] if v["sku"] == f"HAND-{n}"]
        made[n] = {"id": variant["id"], "state": merchant_state(medusa_store_module, n, variant["id"])}
    return made


def merchant_state(store, n: int, variant_id: str) -> tuple:
    product = synced(store)[n]
    [variant] = [v for v in product["variants"] if v["id"] == variant_id]
    prices = sorted((p["currency_code"], p["amount"], p["id"]) for p in variant["prices"])
    return variant["title"], variant["sku"], option_values(product, variant), prices, variant["metadata"]


def assert_untouched(store, proxy, merchants) -> None:
    """Each merchant's variant as first read, and named by no request but as ``{"id"}`` alone in
    a product update's variants (which leaves it as it is)."""
    listed = [v for b in proxy.bodies("POST", PRODUCTS) for u in b["update"] for v in u.get("variants", [])]
    for n, made in merchants.items():
        assert merchant_state(store, n, made["id"]) == made["state"], n
        assert all(v == {"id": made["id"]} for v in listed if v.get("id") == made["id"])
        others = [s.body.decode() for s in proxy.seen if s.body and s.path != PRODUCTS]
        assert made["id"] not in "".join(others)


def test_one_variant_becomes_variants_in_one_swap_and_variants_are_kept_under_ignore(
    sync, shape_catalog, medusa_store_module, medusa_proxy, merchants
):
    store = medusa_store_module
    before = synced(store)
    olds = {n: next(v["id"] for v in before[n]["variants"] if v["title"] == "Default") for n in (GIFT, PLAIN)}
    shape_catalog.replace_products(copy.deepcopy(AFTER))
    outcome = sync()  # on_missing=ignore
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["status"] == "success", outcome.report["failed_because"]
    assert outcome.report["rejected"] == [], [r["message"] for r in outcome.report["rejected"]]
    after = synced(store)
    for n, source in ((GIFT, AFTER[0]), (PLAIN, AFTER[1])):
        product = after[n]
        path = f"/admin/products/{product['id']}"
        # The new options first, then one product update that swaps the variants: no request
        # between the old variant's deletion and the new variants' creation.
        [options] = medusa_proxy.bodies("POST", f"{path}/options/batch")
        assert sorted(o["title"] for o in options["add"]) == ["Colour", "Size"]
        assert medusa_proxy.bodies("POST", f"{path}/variants/batch") == []
        [swap] = [
            u for b in medusa_proxy.bodies("POST", PRODUCTS) for u in b["update"] if u["id"] == product["id"]
        ]
        assert olds[n] not in {v.get("id") for v in swap["variants"]}
        assert olds[n] not in {v["id"] for v in product["variants"]}
        held = by_source_variant(product)
        assert sorted(held) == [v["id"] for v in source["variants"]]
        for want in source["variants"]:
            have = held[want["id"]]
            assert (have["title"], have["sku"], have["barcode"], have["weight"]) == (
                want["title"], want["sku"], want["barcode"], want["weight"]
            )  # fmt: skip
            assert [(p["amount"], p["currency_code"]) for p in have["prices"]] == [(want["price"], "usd")]
            named = option_values(product, have)
            if n == GIFT:  # the merchant's "Gift box" keeps "Default option"; the sync's name "Default"
                assert named.pop("Default option") == "Default"
            assert named == want["options"]
        if n == GIFT:
            assert option_titles(product) == {"Default option", "Size", "Colour"}
            assert {v["id"] for v in product["variants"]} - {v["id"] for v in held.values()} == {
                merchants[GIFT]["id"]
            }
        else:
            assert option_titles(product) == {"Size", "Colour"}  # "Default option" unlinked
            assert mismatches(product, source) == []
            assert len(product["variants"]) == len(source["variants"])
    # Under on_missing=ignore the products whose options were dropped keep the sync's variants.
    for n in (TALL, SHED):
        assert {v["id"] for v in after[n]["variants"]} == {v["id"] for v in before[n]["variants"]}
        assert after[n]["title"] == f"Plain Tee {n}"  # the product's own fields are written
    variants = outcome.report["variants"]
    assert (variants["created"], variants["deleted"], variants["kept"]) == (4 + 3, 2, 8 + 4)
    kept = {(k["external_id"], k["reason"]) for k in outcome.report["kept_variants"]}
    assert kept == {
        (f"dummyjson:{n}", "on_missing=ignore: a variant removed upstream is kept") for n in (TALL, SHED)
    }
    assert_untouched(store, medusa_proxy, merchants)


def test_variants_become_one_variant_under_on_missing_delete_unless_a_merchants_variant_needs_the_options(
    sync, shape_catalog, medusa_store_module, medusa_proxy, merchants
):
    store = medusa_store_module
    before = synced(store)
    outcome = sync(on_missing="delete", max_missing_percent=100)
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["rejected"] == [], outcome.report["rejected"]
    after = synced(store)
    shed = after[SHED]
    assert option_titles(shed) == {"Default option"}
    [variant] = shed["variants"]
    assert (variant["title"], variant["sku"], option_values(shed, variant)) == (
        "Default", f"PLAIN-{SHED}", {"Default option": "Default"}
    )  # fmt: skip
    assert [(p["amount"], p["currency_code"]) for p in variant["prices"]] == [(22.45, "usd")]
    assert "sync_variants" not in shed["metadata"]
    # The merchant's Tall / White needs Size and Colour, which the one variant could not name.
    tall = after[TALL]
    assert {v["id"] for v in tall["variants"]} == {v["id"] for v in before[TALL]["variants"]}
    [reason] = {k["reason"] for k in outcome.report["kept_variants"]}
    assert "a merchant's variant uses option(s) Colour, Size" in reason
    variants = outcome.report["variants"]
    assert (variants["created"], variants["deleted"], variants["kept"]) == (1, 4, 8)
    assert_untouched(store, medusa_proxy, merchants)


def test_a_rerun_writes_nothing(sync, shape_catalog, medusa_store_module, medusa_proxy, merchants):
    outcome = sync(on_missing="delete", max_missing_percent=100)
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert medusa_proxy.writes() == []
    assert_untouched(medusa_store_module, medusa_proxy, merchants)
