"""Source records as the fetch keeps them: what a valid record becomes, byte for byte.

The hashes below were computed by the release before numbers were checked by one rule
(``core.numbers``): every product a store holds carries such a hash, so any drift here would
rewrite every product of every store once after an upgrade.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from medusa_sync.core.mapping import HASH_KEY, MappingContext, desired_product
from medusa_sync.core.models import SourceProduct


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
