"""Stock as a level Medusa can hold, and the fewest level writes that bring a location in step."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from medusa_sync.core.models import SourceProduct
from medusa_sync.core.stock import LevelIndex, LevelPlan, StoreLevel, parse_stock, store_level, store_levels
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
        (float("nan"), (None, "stock: nan is not a finite number")),
        (True, (None, "stock: True is not an integer")),
        (None, (None, "stock: missing")),
        (Decimal("4.0"), (4, None)),
        (2**53 - 1, (2**53 - 1, None)),
        (
            Decimal("1e30"),
            (
                None,
                "stock: 1E+30 is larger than 9007199254740991, the largest number JavaScript holds exactly",
            ),
        ),
        (
            2**53 + 1,
            (
                None,
                "stock: 9007199254740993 is larger than 9007199254740991, the largest number "
                "JavaScript holds exactly",
            ),
        ),
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
    kept = SourceProduct.parse(record(1, stock="many")).kept()
    assert "stock_problem" not in kept
    assert kept["stock"] is None


def listed(external_id: str | None, item: str | None = None, *levels: dict[str, Any]) -> dict[str, Any]:
    """A store product as ``STORE_LEVEL_FIELDS`` lists it; without ``item``, its variant is not
    managed by inventory."""
    links = [{"inventory_item_id": item, "inventory": {"location_levels": list(levels)}}] if item else []
    variant = {"id": f"variant_{external_id}", "options": [{"value": "Default"}], "inventory_items": links}
    return {"id": f"prod_{external_id}", "external_id": external_id, "variants": [variant]}


def level(level_id: str, quantity: float, location_id: str = LOCATION) -> dict[str, Any]:
    return {"id": level_id, "location_id": location_id, "stocked_quantity": quantity}


def stock(**by_id: int | None) -> list[dict[str, Any]]:
    """Source records as the fetch keeps them: ``stock(_1=5)`` is ``[{"id": 1, "stock": 5}]``."""
    return [{"id": int(key.lstrip("_")), "stock": value} for key, value in by_id.items()]


@pytest.fixture
def index() -> Iterator[LevelIndex]:
    with LevelIndex(in_memory=True) as index:
        yield index


def planned(index: LevelIndex, source: list[dict], store: list[dict]) -> LevelPlan:
    index.add_source(source, "d:")
    index.add_store(store, LOCATION, "d:")
    return index.plan(LOCATION)


def written(plan: LevelPlan, kind: str, size: int = 1000) -> list[dict[str, Any]]:
    return [item for chunk in plan.chunks(kind, size) for item in chunk]


def item(inventory_item_id: str, quantity: int) -> dict[str, Any]:
    return {"inventory_item_id": inventory_item_id, "location_id": LOCATION, "stocked_quantity": quantity}


def test_only_levels_that_differ_are_written_and_only_their_stocked_quantity(index):
    store = [
        listed("d:1", "iitem_1", level("ilev_1", 5)),
        listed("d:2", "iitem_2", level("ilev_2", 5)),
        listed("d:3", "iitem_3"),
        listed("d:4"),
    ]
    plan = planned(index, stock(_1=5, _2=8, _3=0, _4=1, _9=2), store)
    assert written(plan, "update") == [item("iitem_2", 8)]
    assert written(plan, "create") == [item("iitem_3", 0)]
    assert (plan.unchanged, plan.writes) == (1, 2)
    assert (plan.not_in_store, plan.unmanaged) == (1, 1)  # d:9, d:4


def test_a_fractional_level_always_differs_and_a_whole_float_equals_its_integer(index):
    store = [listed("d:1", "iitem_1", level("ilev_1", 2.5)), listed("d:2", "iitem_2", level("ilev_2", 3.0))]
    plan = planned(index, stock(_1=2, _2=3), store)
    assert written(plan, "update") == [item("iitem_1", 2)]
    assert (plan.update, plan.unchanged) == (1, 1)


def test_a_quarantined_stock_is_left_out_and_its_product_keeps_its_level(index):
    store = [listed(f"d:{n}", f"iitem_{n}", level(f"ilev_{n}", 9)) for n in (1, 2, 3)]
    plan = planned(index, stock(_1=4, _2=None, _3=0), store)
    assert written(plan, "update") == [item("iitem_1", 4), item("iitem_3", 0)]
    assert (plan.unchanged, plan.not_in_store, plan.writes) == (0, 0, 2)


def test_a_product_without_a_stock_in_the_source_writes_nothing(index):
    plan = planned(index, [], [listed("d:1", "iitem_1", level("ilev_1", 5))])
    assert plan.writes == 0 and written(plan, "create") == written(plan, "update") == []


def test_a_source_id_given_twice_keeps_its_last_stock(index):
    plan = planned(index, [*stock(_1=4), *stock(_1=6)], [listed("d:1", "iitem_1", level("ilev_1", 4))])
    assert written(plan, "update") == [item("iitem_1", 6)]


def test_only_synced_products_of_a_listing_count_with_their_level_at_the_location(index):
    elsewhere = level("ilev_0", 9, location_id="sloc_other")
    here = level("ilev_1", 3)
    store = [
        listed("d:1", "iitem_1", elsewhere, here),
        listed("d:2", "iitem_2", elsewhere),
        listed(None, "iitem_8", here),
        listed("other:3", "iitem_9", here),
    ]
    assert store_level(store[0], LOCATION) == StoreLevel(
        "d:1", "iitem_1", stocked_quantity=3, level_id="ilev_1"
    )
    assert store_level(store[1], LOCATION) == StoreLevel("d:2", "iitem_2")
    plan = planned(index, stock(_1=3, _2=5, _3=7), store)
    assert written(plan, "create") == [item("iitem_2", 5)]
    assert (plan.unchanged, plan.update, plan.not_in_store) == (1, 0, 1)  # d:3 is not ours in the store


def test_a_variant_the_merchant_added_keeps_its_own_stock_whichever_comes_first(index):
    # The merchant's "Large" variant is listed before the sync's: the level planned is the sync's.
    product = listed("d:1", "iitem_sync", level("ilev_sync", 2))
    large = {
        "id": "variant_large",
        "options": [{"value": "Large"}],
        "inventory_items": [
            {"inventory_item_id": "iitem_large", "inventory": {"location_levels": [level("ilev_large", 50)]}}
        ],
    }
    product["variants"].insert(0, large)
    assert store_level(product, LOCATION) == StoreLevel(
        "d:1", "iitem_sync", stocked_quantity=2, level_id="ilev_sync"
    )
    plan = planned(index, stock(_1=7), [product])
    assert written(plan, "update") == [item("iitem_sync", 7)]


def test_the_first_product_listed_with_an_external_id_is_the_one_whose_level_is_written(index):
    store = [listed("d:1", "iitem_a", level("ilev_a", 1)), listed("d:1", "iitem_b")]
    plan = planned(index, stock(_1=4), store)
    assert written(plan, "update") == [item("iitem_a", 4)] and plan.create == 0


def test_only_creates_and_updates_are_read_and_a_chunk_holds_at_least_one_level(index):
    plan = planned(index, stock(_1=4), [listed("d:1", "iitem_1", level("ilev_1", 4))])
    with pytest.raises(ValueError, match="not a kind of level write"):
        plan.chunks("unchanged", 10)
    with pytest.raises(ValueError, match="at least one level"):
        plan.chunks("update", 0)


def synthetic_store(n: int) -> Iterator[dict[str, Any]]:
    """Products 501..n+500 (the first 500 source ids not in the store yet, the last 500 gone
    upstream), sorted into kinds by id; then products of another integration, and a second
    product for some ids (never the one kept)."""
    for pid in range(501, n + 501):
        quantity = pid % 10
        if pid % 50 == 0:
            yield listed(f"d:{pid}")
        elif pid % 7 == 0:
            yield listed(f"d:{pid}", f"iitem_{pid}", level(f"ilev_{pid}", 1, location_id="sloc_other"))
        elif pid % 3 == 0:
            yield listed(f"d:{pid}", f"iitem_{pid}", level(f"ilev_{pid}", quantity + 1))
        elif pid % 11 == 0:
            yield listed(f"d:{pid}", f"iitem_{pid}", level(f"ilev_{pid}", quantity + 0.5))
        else:
            yield listed(f"d:{pid}", f"iitem_{pid}", level(f"ilev_{pid}", float(quantity)))
    for pid in range(1, 101):
        yield listed(f"other:{pid}", f"iitem_other_{pid}", level(f"ilev_other_{pid}", 0))
    for pid in range(1000, 1100):
        yield listed(f"d:{pid}", f"iitem_twin_{pid}")


def kind_of(pid: int) -> str:
    """Where ``synthetic_store`` puts a source id, decided as a reader would."""
    if pid <= 500:
        return "not_in_store"
    if pid % 50 == 0:
        return "unmanaged"
    if pid % 7 == 0:
        return "create"
    if pid % 3 == 0 or pid % 11 == 0:
        return "update"
    return "unchanged"


def test_a_large_plan_counts_exactly_and_its_chunks_carry_every_write_once(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the index's file, where we can see it
    n, size = 20_000, 1000
    expected = Counter(kind_of(pid) for pid in range(1, n + 1))
    with LevelIndex() as index:
        index.add_source(({"id": pid, "stock": pid % 10} for pid in range(1, n + 1)), "d:")
        index.add_store(synthetic_store(n), LOCATION, "d:")
        plan = index.plan(LOCATION)
        counts = {kind: getattr(plan, kind) for kind in expected}
        chunks = {kind: list(plan.chunks(kind, size)) for kind in ("create", "update")}
        assert list(tmp_path.iterdir())  # on disk while open
    assert counts == expected
    for kind, lists in chunks.items():
        assert all(len(chunk) == size for chunk in lists[:-1]) and 0 < len(lists[-1]) <= size
        items = [entry for chunk in lists for entry in chunk]
        wanted = {f"iitem_{pid}": pid % 10 for pid in range(1, n + 1) if kind_of(pid) == kind}
        assert len(items) == len(wanted) == expected[kind]
        assert {i["inventory_item_id"]: i["stocked_quantity"] for i in items} == wanted
        assert {i["location_id"] for i in items} == {LOCATION}
    assert list(tmp_path.iterdir()) == []  # closing deleted the file


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


# --- Products with variants: a level per variant ----------------------------------------------


def test_a_stock_record_of_a_product_with_variants_keeps_each_variants_id_and_stock_and_sets_aside_a_bad_one(
    variant_record,
):
    whole = variant_record(7, stocks=(3, -2, None, 5))  # whole records too: other fields are ignored
    selected = {"id": 8, "stock": None, "variants": [{"id": 801, "stock": 4}, {"id": "802", "stock": 0}]}
    valid, quarantined = StockValidator().validate([whole, selected, {"id": 9, "stock": 6}])
    assert [r.kept() for r in valid] == [
        {"id": 7, "variants": [{"id": 701, "stock": 3}, {"id": 704, "stock": 5}]},
        {"id": 8, "variants": [{"id": 801, "stock": 4}, {"id": 802, "stock": 0}]},
        {"id": 9, "stock": 6},  # a product without variants: exactly as before
    ]
    assert [(q.source_id, q.reason) for q in quarantined] == [
        ("7", "variants.1.stock: -2 is negative (source variant 702)")
    ]


@pytest.mark.parametrize(
    ("variants", "reason"),
    [
        ([{"id": 1, "stock": 1}, {"id": 1, "stock": 2}], "variants.1.id: 1 appears twice in this product"),
        ([{"id": "x", "stock": 1}], "variants.0.id: Value error, 'x' is not an integer"),
        ([{"id": 1, "stock": 1}, "bad"], "variants: not a list of JSON objects"),
    ],
)
def test_a_stock_record_whose_variants_cannot_be_told_apart_is_quarantined_whole(variants, reason):
    valid, quarantined = StockValidator().validate([{"id": 5, "variants": variants}])
    assert valid == [] and [(q.source_id, q.reason) for q in quarantined] == [("5", reason)]


def variant(variant_id: str, source_variant_id: str | None, item: str | None, *levels: dict[str, Any]):
    """A store variant as ``STORE_LEVEL_FIELDS`` lists it: the sync's when it carries
    ``source_variant_id`` in its metadata, a merchant's when not."""
    links = [{"inventory_item_id": item, "inventory": {"location_levels": list(levels)}}] if item else []
    metadata = {"source_variant_id": source_variant_id, "sync_hash": "h"} if source_variant_id else {}
    options = [{"value": "M"}, {"value": "Red"}]
    return {"id": variant_id, "options": options, "metadata": metadata, "inventory_items": links}


def with_variants(external_id: str, *variants: dict[str, Any], product_id: str | None = None):
    return {"id": product_id or f"prod_{external_id}", "external_id": external_id, "variants": list(variants)}


def test_each_source_variants_level_goes_to_the_variant_carrying_its_id_and_a_merchants_is_never_touched(
    index, variant_record
):
    store = [
        with_variants(
            "d:7",
            variant("variant_merchant", None, "iitem_m", level("ilev_m", 40)),  # listed first
            variant("variant_b", "702", "iitem_b", level("ilev_b", 0)),
            variant("variant_a", "701", "iitem_a", level("ilev_a", 9)),
            variant("variant_c", "703", "iitem_c"),  # managed, no level here yet
            variant("variant_d", "704", None),  # not managed by inventory
        ),
        listed("d:1", "iitem_1", level("ilev_1", 5)),  # a product without variants, beside it
    ]
    # Whole records as the catalog fetch keeps them, a stock record as the stock fetch keeps it.
    source = [
        SourceProduct.parse(variant_record(7, stocks=(3, 0, 8, 5))).kept(),
        {"id": 1, "stock": 6},
        {"id": 8, "variants": [{"id": 801, "stock": 1}]},
    ]
    plan = planned(index, source, store)
    assert written(plan, "update") == [item("iitem_1", 6), item("iitem_a", 3)]
    assert written(plan, "create") == [item("iitem_c", 8)]
    assert (plan.unchanged, plan.unmanaged, plan.not_in_store) == (1, 1, 1)  # 702, 704, product 8
    assert "iitem_m" not in str([*written(plan, "update"), *written(plan, "create")])


def test_a_variant_not_created_yet_and_one_whose_stock_was_set_aside_are_not_written(index):
    store = [with_variants("d:7", variant("variant_a", "701", "iitem_a", level("ilev_a", 1)))]
    source = [{"id": 7, "variants": [{"id": 702, "stock": 4}]}]  # 701's stock was quarantined
    plan = planned(index, source, store)
    assert plan.writes == 0 and (plan.not_in_store, plan.unchanged) == (1, 0)


def test_a_merchants_only_variant_beside_the_sync_variants_is_never_taken_for_the_products_one(index):
    # The source lost its variants (a product without them now): the merchant's variant is not
    # the sync's one variant, even though it is the only one without a source variant id.
    store = [
        with_variants(
            "d:7",
            variant("variant_a", "701", "iitem_a", level("ilev_a", 1)),
            {**variant("variant_m", None, "iitem_m", level("ilev_m", 40)), "options": [{"value": "Large"}]},
        )
    ]
    plan = planned(index, stock(_7=3), store)
    assert plan.writes == 0 and plan.not_in_store == 1


def test_of_two_products_with_one_external_id_only_the_first_listeds_variants_are_written(index):
    store = [
        with_variants("d:7", variant("va", "701", "iitem_a", level("ilev_a", 1)), product_id="prod_first"),
        with_variants(
            "d:7",
            variant("vb", "701", "iitem_twin_a", level("ilev_ta", 1)),
            variant("vc", "702", "iitem_twin_b", level("ilev_tb", 1)),
            product_id="prod_twin",
        ),
    ]
    plan = planned(index, [{"id": 7, "variants": [{"id": 701, "stock": 5}, {"id": 702, "stock": 6}]}], store)
    assert written(plan, "update") == [item("iitem_a", 5)]
    assert plan.not_in_store == 1  # 702 is on the twin only


def test_a_store_product_without_source_variant_ids_is_read_exactly_as_before():
    product = listed("d:1", "iitem_1", level("ilev_1", 3))
    assert store_levels(product, LOCATION) == [store_level(product, LOCATION)]
    assert store_levels(product, LOCATION)[0].source_variant_id == ""
