"""Stock as a level Medusa can hold, and the fewest level writes that bring a location in step."""

from __future__ import annotations

import pytest

from medusa_sync.core.models import SourceProduct
from medusa_sync.core.stock import StoreLevel, parse_stock, plan_levels, source_stock, store_levels
from medusa_sync.core.validation import StockValidator, Validator

LOCATION = "sloc_1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, (0, None)),
        (17, (17, None)),
        (4.0, (4, None)),
        (-3, (None, "stock: -3 is negative")),
        ("many", (None, "stock: 'many' is not an integer")),
        ("12", (None, "stock: '12' is not an integer")),
        (2.5, (None, "stock: 2.5 is not an integer")),
        (float("nan"), (None, "stock: nan is not an integer")),
        (True, (None, "stock: True is not an integer")),
        (None, (None, "stock: missing")),
    ],
)
def test_a_stock_is_a_whole_non_negative_number(raw, expected):
    assert parse_stock(raw) == expected


def record(pid: int, **changes):
    return {"id": pid, "title": f"P{pid}", "category": "beauty", "price": 9.99, "stock": 5, **changes}


def test_a_bad_stock_never_stops_the_product_and_is_quarantined_only_when_inventory_is_synced():
    records = [record(1, stock=-3), record(2, stock="many"), record(3), record(4, stock=None)]
    valid, quarantined = Validator(check_stock=True).validate(records)
    assert [p.id for p in valid] == [1, 2, 3, 4]
    assert [(p.stock, p.stock_problem) for p in valid][:3] == [
        (None, "stock: -3 is negative"),
        (None, "stock: 'many' is not an integer"),
        (5, None),
    ]
    assert [(q.source_id, q.reason) for q in quarantined] == [
        ("1", "stock: -3 is negative"),
        ("2", "stock: 'many' is not an integer"),
        ("4", "stock: missing"),
    ]
    assert Validator(check_stock=False).validate([record(5, stock="many")])[1] == []


def test_the_stock_problem_never_reaches_the_page_files():
    product = SourceProduct.parse(record(1, stock="many"))
    assert "stock_problem" not in product.model_dump(mode="json")
    assert product.model_dump(mode="json")["stock"] is None


def test_only_levels_that_differ_are_written_and_only_their_stocked_quantity():
    store = {
        "d:1": StoreLevel("d:1", "iitem_1", stocked_quantity=5, level_id="ilev_1"),
        "d:2": StoreLevel("d:2", "iitem_2", stocked_quantity=5, level_id="ilev_2"),
        "d:3": StoreLevel("d:3", "iitem_3"),
        "d:4": StoreLevel("d:4", None),
    }
    plan = plan_levels({"d:1": 5, "d:2": 8, "d:3": 0, "d:4": 1, "d:9": 2}, store, LOCATION)
    assert plan.update == [{"inventory_item_id": "iitem_2", "location_id": LOCATION, "stocked_quantity": 8}]
    assert plan.create == [{"inventory_item_id": "iitem_3", "location_id": LOCATION, "stocked_quantity": 0}]
    assert (plan.unchanged, plan.writes) == (1, 2)
    assert plan.not_in_store == ["d:9"]
    assert plan.unmanaged == ["d:4"]


def test_the_source_stock_is_keyed_by_external_id_and_leaves_out_quarantined_stocks():
    records = [{"id": 1, "stock": 4}, {"id": 2, "stock": None}, {"id": 3, "stock": 0}]
    assert source_stock(records, "d:") == {"d:1": 4, "d:3": 0}


def test_only_synced_products_of_a_listing_count_with_their_level_at_the_location():
    def product(external_id: str | None, levels: list[dict]) -> dict:
        item = {"inventory_item_id": "iitem_1", "inventory": {"location_levels": levels}}
        return {"id": "prod_1", "external_id": external_id, "variants": [{"inventory_items": [item]}]}

    elsewhere = {"id": "ilev_0", "location_id": "sloc_other", "stocked_quantity": 9}
    here = {"id": "ilev_1", "location_id": LOCATION, "stocked_quantity": 3}
    listing = [product("d:1", [elsewhere, here]), product("d:2", [elsewhere]), product(None, [here])]
    assert store_levels(listing, LOCATION, "d:") == {
        "d:1": StoreLevel("d:1", "iitem_1", stocked_quantity=3, level_id="ilev_1"),
        "d:2": StoreLevel("d:2", "iitem_1"),
    }


def test_a_product_whose_stock_is_quarantined_keeps_its_level():
    store = {"d:1": StoreLevel("d:1", "iitem_1", stocked_quantity=5, level_id="ilev_1")}
    assert plan_levels({}, store, LOCATION).writes == 0


def test_the_stock_fetch_keeps_whole_stocks_and_quarantines_bad_ones_and_repeated_ids():
    validator = StockValidator()
    first, bad = validator.validate([{"id": 1, "stock": 5}, {"id": 2, "stock": "many"}, {"id": 3}])
    again, repeated = validator.validate([{"id": 1, "stock": 6}, {"id": 4, "stock": 0}])
    assert [(r.id, r.stock) for r in [*first, *again]] == [(1, 5), (4, 0)]
    assert [(q.source_id, q.reason) for q in [*bad, *repeated]] == [
        ("2", "stock: 'many' is not an integer"),
        ("3", "stock: missing"),
        ("1", "id: 1 appears more than once in this fetch"),
    ]
    assert validator.repeated_ids == [1]
