"""Source records as the fetch keeps them: what a valid record becomes, byte for byte.

The hashes below were computed by the release before numbers were checked by one rule
(``core.number_rules``): every product a store holds carries such a hash, so any drift here would
rewrite every product of every store once after an upgrade.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from medusa_sync.core.mapping import HASH_KEY, MappingContext, desired_product
from medusa_sync.core.models import SourceProduct
from medusa_sync.core.number_rules import load_source_json
from medusa_sync.core.validation import Validator


def ctx(manage_inventory: bool) -> MappingContext:
    return MappingContext(
        currency_code="usd",
        sales_channel_id="sc_1",
        category_ids={"beauty": "pcat_b"},
        tag_ids={"beauty": "t"},
        manage_inventory=manage_inventory,
    )


def hash_of(record: dict, manage_inventory: bool = False) -> str:
    return desired_product(SourceProduct.parse(record).kept(), ctx(manage_inventory))["metadata"][HASH_KEY]


# Integers where the model holds floats and a float where it holds an integer: the kept values
# (and so the hash) must come out as they always did (10 -> 10.0, 48.0 -> 48).
EDGE = {
    "id": 7,
    "title": "Edge",
    "category": "beauty",
    "price": 10,
    "weight": 3,
    "rating": 5,
    "discountPercentage": 12,
    "minimumOrderQuantity": 48.0,
    "stock": 7.0,
    "dimensions": {"width": 2, "height": 0.5, "depth": 1e-3},
    "tags": ["beauty"],
}


@pytest.mark.parametrize(
    ("manage_inventory", "expected"),
    [
        (False, "49b3533c167fe0c6ba000f2e850f9f7d53e2790067db1ac2ae1dad60e2b217c7"),
        (True, "d438200c570fc050edf8e8c963a8a7dd60fd2206b5f5a9b854197c191454d278"),
    ],
)
def test_the_hashes_of_the_real_catalog_stay_what_the_stores_hold(real_catalog, manage_inventory, expected):
    hashes = [hash_of(json.loads(json.dumps(r)), manage_inventory) for r in real_catalog]
    assert len(hashes) == 194
    assert hashlib.sha256(",".join(hashes).encode()).hexdigest() == expected


@pytest.mark.parametrize(
    ("manage_inventory", "expected"),
    [(False, "214e222d0505a154c04883d87f1e677c"), (True, "dbd3e1a42e794c63c273162777fa6fb5")],
)
def test_the_hash_of_whole_numbers_in_float_fields_stays_what_the_stores_hold(manage_inventory, expected):
    assert hash_of(EDGE, manage_inventory) == expected


def test_the_kept_record_keeps_its_json_form():
    assert json.dumps(SourceProduct.parse(EDGE).kept()) == (
        '{"id": 7, "title": "Edge", "description": "", "category": "beauty", "price": 10.0, '
        '"tags": ["beauty"], "brand": null, "sku": null, "weight": 3.0, "dimensions": {"width": 2.0, '
        '"height": 0.5, "depth": 0.001}, "images": [], "thumbnail": null, "meta": null, "rating": 5.0, '
        '"discountPercentage": 12.0, "stock": 7, "availabilityStatus": null, "warrantyInformation": null, '
        '"shippingInformation": null, "returnPolicy": null, "minimumOrderQuantity": 48}'
    )


def test_the_largest_price_keeps_its_hash():
    record = {**EDGE, "price": "9999999999999.99"}
    assert desired_product(SourceProduct.parse(record).kept(), MappingContext())["metadata"][HASH_KEY] == (
        "07794865fff48417b8de0c421f28ebdd"
    )


# --- Every numeric field x every bad value, as the source's JSON carries it ----------------------

# (JSON text, what the reason says of it)
BAD_NUMBERS = {
    "NaN literal": ("NaN", "nan is not a finite number"),
    '"NaN"': ('"NaN"', "'NaN' is not a finite number"),
    '"Infinity"': ('"Infinity"', "'Infinity' is not a finite number"),
    "-5": ("-5", "-5 is negative"),
    "1e26": ("1e26", "1E+26 is larger than"),
    "2**53+1": (str(2**53 + 1), "9007199254740993 is larger than"),
    "5000 digits": ("1" * 5000, "111111111111... (a number of 5000 digits) is larger than"),
    "true": ("true", "True is not"),
}
# Where each numeric field sits in a record, and the largest value it takes.
FIELDS = {
    "id": (("id",), "9007199254740991"),
    "price": (("price",), "9999999999999.99"),
    "weight": (("weight",), "9007199254740991"),
    "dimensions.width": (("dimensions", "width"), "9007199254740991"),
    "dimensions.height": (("dimensions", "height"), "9007199254740991"),
    "dimensions.depth": (("dimensions", "depth"), "9007199254740991"),
    "rating": (("rating",), "5"),
    "discountPercentage": (("discountPercentage",), "100"),
    "minimumOrderQuantity": (("minimumOrderQuantity",), "9007199254740991"),
}


def page_with(record: dict, where: tuple[str, ...], json_text: str) -> list:
    """A source page of ``record`` with ``json_text`` at ``where`` and a good record after it,
    decoded as the source hook decodes it."""
    bad = json.loads(json.dumps(record))
    target = bad
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = "@@BAD@@"
    good = {**record, "id": 2, "sku": "OTHER", "meta": {"barcode": "222"}}
    body = json.dumps({"products": [bad, good]}).replace('"@@BAD@@"', json_text)
    return load_source_json(body.encode())["products"]


def expected_reason(field: str, bad: str) -> str:
    """How the quarantine reason of ``field`` holding ``bad`` begins."""
    why = BAD_NUMBERS[bad][1]
    if bad == "true":
        why = "True is not a"
    elif field == "id" and bad == "-5":
        why = "-5 is less than 1"
    elif field in ("rating", "discountPercentage") and why.endswith("is larger than"):
        why += " 5," if field == "rating" else " 100,"
    return f"{field}: Value error, {why}"


@pytest.mark.parametrize("bad", BAD_NUMBERS, ids=list(BAD_NUMBERS))
@pytest.mark.parametrize("field", FIELDS, ids=list(FIELDS))
def test_a_bad_number_quarantines_its_record_with_a_reason_naming_the_field(record, field, bad):
    where, _ = FIELDS[field]
    valid, quarantined = Validator(check_stock=True).validate(page_with(record, where, BAD_NUMBERS[bad][0]))
    assert [p.id for p in valid] == [2]  # the rest of the page is kept
    assert len(quarantined) == 1
    assert quarantined[0].reason.startswith(expected_reason(field, bad)), quarantined[0].reason
    assert len(quarantined[0].reason) < 250
    if field != "id":
        assert quarantined[0].source_id == "1"


def test_an_id_of_thousands_of_digits_is_quarantined_without_one(record):
    _, quarantined = Validator().validate(page_with(record, ("id",), "1" * 5000))
    assert quarantined[0].source_id is None


@pytest.mark.parametrize("field", FIELDS, ids=list(FIELDS))
def test_each_field_takes_its_largest_value_and_zero(record, field):
    where, largest = FIELDS[field]
    for text in (largest, "0"):
        valid, quarantined = Validator().validate(page_with(record, where, text)[:1])
        if field == "id" and text == "0":
            assert quarantined[0].reason.startswith("id: Value error, 0 is less than 1")
            continue
        assert quarantined == [], quarantined
        kept = valid[0].kept()
        value = kept
        for key in where:
            value = value[key]
        assert Decimal(json.dumps(value)) == Decimal(text)


@pytest.mark.parametrize("bad", BAD_NUMBERS, ids=list(BAD_NUMBERS))
def test_a_bad_stock_costs_only_the_stock_the_product_still_syncs(record, bad):
    json_text, why = BAD_NUMBERS[bad]
    products = page_with(record, ("stock",), json_text)
    valid, quarantined = Validator(check_stock=True).validate(products)
    assert [p.id for p in valid] == [1, 2]
    assert valid[0].kept()["stock"] is None
    assert [(q.source_id, q.reason.split(" is ")[0]) for q in quarantined] == [
        ("1", f"stock: {why.split(' is ')[0]}")
    ]
    assert Validator(check_stock=False).validate(products)[1] == []


@pytest.mark.parametrize("bad", BAD_NUMBERS, ids=list(BAD_NUMBERS))
@pytest.mark.parametrize("field", [*FIELDS, "stock"])
def test_nothing_a_fetch_keeps_can_fail_to_encode(record, field, bad):
    where = FIELDS[field][0] if field in FIELDS else ("stock",)
    valid, _ = Validator().validate(page_with(record, where, BAD_NUMBERS[bad][0]))
    for product in valid:
        json.dumps(product.kept(), allow_nan=False)
        desired = desired_product(product.kept(), ctx(False))
        json.dumps(desired, allow_nan=False)
