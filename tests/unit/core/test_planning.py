"""Planning what vanished upstream: what is asked of the source by id, and what is written."""

from __future__ import annotations

from functools import partial

import pytest

from medusa_sync.core.mapping import HASH_KEY, MappingContext, desired_product
from medusa_sync.core.missing import confirm_absent
from medusa_sync.core.models import SourceProduct
from medusa_sync.core.planning import PlanSettings, plan_sync
from medusa_sync.core.planning import plan_missing as plan_missing_products
from medusa_sync.core.report import MAX_LISTED
from medusa_sync.core.store_index import StoreIndex
from tests.fixtures.store_records import store_product

# Source id -> (status, body, error) as the source hook's lookup returns them.
ANSWERS = {
    "1": (404, None, ""),
    "2": (200, {"id": 2}, ""),
    "3": (None, None, "GET /products/3: no response (connection refused)"),
    "99": (200, {"id": 99}, ""),  # a product the fetch read: the source answers for it
}


class Sink:
    """The batch files, in memory: what the plan hands over, by kind."""

    def __init__(self) -> None:
        self.items: dict[str, list] = {"create": [], "update": [], "delete": []}

    def add(self, kind, item, planned=None) -> None:
        assert kind == "create" or planned is not None, "an update or delete without its planned state"
        self.items[kind].append(item)


def settings_for(**changes) -> PlanSettings:
    defaults = dict(
        dry_run=False,
        full_refresh=False,
        batch_size=100,
        on_missing="ignore",
        max_missing_percent=10,
        product_status="published",
        currency_code="usd",
        sales_channel_id=None,
    )
    return PlanSettings(**{**defaults, **changes})


@pytest.fixture
def asked() -> list[str]:
    return []


def plan_missing(asked, owned: int, missing: int, listed: str = "99", on_missing: str = "delete", **changes):
    def lookup(ids):
        asked.extend(ids)
        return ((i, ANSWERS.get(i, (404, None, ""))) for i in ids)

    settings = settings_for(on_missing=on_missing, **changes)
    products = [store_product(f"prod_{n}", f"dummyjson:{n}", f"h-{n}", "abc") for n in range(1, owned + 1)]
    sink = Sink()
    with StoreIndex.build(products, prefix="dummyjson:") as index:
        for product in products[missing:]:
            index.seen_upstream(product["external_id"])
        confirm = partial(
            confirm_absent, prefix="dummyjson:", listed_source_id=listed, lookup=lookup, sleep=lambda _: None
        )
        plan = plan_missing_products({"partial": False}, index, sink, settings, confirm)
    return plan, sink.items


def test_only_the_product_answered_404_is_deleted(asked):
    plan, written = plan_missing(asked, owned=40, missing=3, on_missing="delete")
    # A product it listed first, then the missing ones, then the one that answered 404 again.
    assert asked == ["99", "1", "2", "3", "1"]
    assert written["delete"] == ["prod_1"]
    assert plan["missing_acted_on"] == 1
    assert [a["id"] for a in plan["found_upstream"]] == ["prod_2"]
    assert [a["id"] for a in plan["unproven_missing"]] == ["prod_3"]
    assert len(plan["missing_unconfirmed_because"]) == 3


def test_nothing_is_asked_when_the_guard_holds(asked):
    plan, written = plan_missing(asked, owned=10, missing=3, on_missing="delete")
    assert plan["guard"]["allowed"] is False
    assert asked == [] and written["delete"] == []


def test_all_proven_absent_are_drafted_and_the_fetch_stays_complete(asked):
    plan, written = plan_missing(asked, owned=100, missing=1, on_missing="draft")
    assert asked == ["99", "1", "1"]
    assert [item["id"] for item in written["update"]] == ["prod_1"]
    assert plan["missing_unconfirmed_because"] == [] and plan["found_upstream"] == []


def test_a_source_that_answers_404_even_for_a_product_it_listed_proves_nothing(asked):
    # A gateway, a wrong base path or a source without /products/{id}: 404 for everything.
    plan, written = plan_missing(asked, owned=40, missing=3, listed="98", on_missing="delete")
    assert asked == ["98", "1", "2", "3"]
    assert written["delete"] == []
    assert plan["missing_acted_on"] == 0
    assert [a["id"] for a in plan["unproven_missing"]] == ["prod_1", "prod_3"]
    assert "its 404s prove nothing" in plan["unproven_missing"][0]["detail"]
    assert [a["id"] for a in plan["found_upstream"]] == ["prod_2"]


def test_a_wrong_but_complete_source_is_stopped_by_the_guard_from_counts_alone():
    # 100 products upstream against a store of 5,000: the guard decides from two counts; no
    # product is asked for, and the plan lists only the first MAX_LISTED of the missing.
    def confirm(products):
        pytest.fail("the guard holds: nothing per missing product is read")

    sink = Sink()
    store = [store_product(f"prod_{n:05d}", f"dummyjson:{n}", f"h-{n}", "abc") for n in range(5000)]
    with StoreIndex.build(store, prefix="dummyjson:") as index:
        for n in range(100):
            index.seen_upstream(f"dummyjson:{n}")
        plan = plan_missing_products(
            {"partial": False}, index, sink, settings_for(on_missing="draft"), confirm
        )
    assert plan["guard"]["allowed"] is False and plan["missing_action"] == "blocked by the deletion guard"
    assert (plan["guard"]["acting"], plan["guard"]["owned"]) == (4900, 5000)
    assert (plan["missing_upstream"], len(plan["missing"])) == (4900, MAX_LISTED)
    assert sink.items == {"create": [], "update": [], "delete": []}


def test_missing_products_are_asked_for_a_chunk_at_a_time_and_each_404_is_drafted(asked):
    plan, written = plan_missing(asked, owned=2600, missing=2500, on_missing="draft", max_missing_percent=100)
    # A product the fetch listed, then each missing, then again each that answered 404 (not 2 nor 3).
    assert asked[0] == "99" and len(asked) == 1 + 2500 + 2497
    assert plan["missing_acted_on"] == 2500 - 3  # 2 and 99 are still upstream, 3 is unanswered
    assert len(written["update"]) == 2497 and {u["status"] for u in written["update"]} == {"draft"}


def test_the_catalog_plans_a_create_an_update_and_leaves_the_unchanged_alone(record):
    ctx = MappingContext(
        sales_channel_id="sc_1",
        category_ids={"beauty": "pcat_1"},
        tag_ids={"beauty": "ptag_1", "mascara": "ptag_2"},
        shipping_profile_id="sp_1",
    )
    # The records as the fetch keeps them.
    same, changed, new = (SourceProduct.parse(dict(record, id=n)).kept() for n in (1, 2, 3))
    unchanged_hash = desired_product(same, ctx)["metadata"]
    store = [
        store_product("prod_1", "dummyjson:1", "mascara", unchanged_hash[HASH_KEY]),
        store_product("prod_2", "dummyjson:2", "essence-mascara-lash-princess", "an-older-hash"),
    ]
    sink = Sink()
    with StoreIndex.build(store, prefix="dummyjson:") as index:
        plan = plan_sync(
            pages=[[same, changed], [new]],
            quarantine=[],
            fetch={"partial": False},
            ctx=ctx,
            index=index,
            sink=sink,
            settings=settings_for(),
            confirm_absent=lambda products: pytest.fail("nothing is missing: nothing to ask"),
        )
    assert (plan["create"], plan["update"], plan["unchanged"], plan["missing_upstream"]) == (1, 1, 1, 0)
    [create] = sink.items["create"]
    # The title's handle is taken by prod_2: the new product gets the next free one, and a profile.
    assert (create["external_id"], create["handle"]) == ("dummyjson:3", "essence-mascara-lash-princess-1")
    assert create["shipping_profile_id"] == "sp_1"
    [update] = sink.items["update"]
    assert (update["id"], update["variants"][0]["id"]) == ("prod_2", "variant_prod_2")
    assert "handle" not in update


def test_without_a_shipping_profile_creates_are_held_back_and_reported_the_rest_goes_ahead(record, asked):
    ctx = MappingContext(sales_channel_id="sc_1", category_ids={"beauty": "pcat_1"}, shipping_profile_id=None)
    changed, new, newer = (SourceProduct.parse(dict(record, id=n)).kept() for n in (2, 3, 4))
    store = [
        store_product("prod_2", "dummyjson:2", "h-2", "an-older-hash"),
        *(store_product(f"prod_{n}", f"dummyjson:{n}", f"h-{n}", "abc") for n in range(5, 40)),
        store_product("prod_1", "dummyjson:1", "h-1", "abc"),  # gone upstream: answered 404 twice
    ]
    sink = Sink()

    def lookup(ids):
        asked.extend(ids)
        return [(i, ANSWERS.get(i, (200, {"id": int(i)}, ""))) for i in ids]

    with StoreIndex.build(store, prefix="dummyjson:") as index:
        for n in range(5, 40):
            index.seen_upstream(f"dummyjson:{n}")
        plan = plan_sync(
            pages=[[changed, new, newer]],
            quarantine=[],
            fetch={"partial": False},
            ctx=ctx,
            index=index,
            sink=sink,
            settings=settings_for(on_missing="delete"),
            confirm_absent=partial(
                confirm_absent,
                prefix="dummyjson:",
                listed_source_id="99",
                lookup=lookup,
                sleep=lambda _: None,
            ),
        )
    # The update and the delete go ahead; the two new products are held back, not failed.
    assert [u["id"] for u in sink.items["update"]] == ["prod_2"] and sink.items["delete"] == ["prod_1"]
    assert sink.items["create"] == [] and "shipping_profile_id" not in sink.items["update"][0]
    assert (plan["create"], plan["update"], plan["missing_acted_on"]) == (0, 1, 1)
    held = plan["held_back"]
    assert (held["count"], held["external_ids"]) == (2, ["dummyjson:3", "dummyjson:4"])
    assert "no default shipping profile and shipping_profile_id is empty" in held["because"]


def test_with_a_shipping_profile_nothing_is_held_back(record):
    ctx = MappingContext(shipping_profile_id="sp_1")
    with StoreIndex.build([], prefix="dummyjson:") as index:
        plan = plan_sync(
            pages=[[SourceProduct.parse(dict(record, id=3)).kept()]],
            quarantine=[],
            fetch={"partial": False},
            ctx=ctx,
            index=index,
            sink=Sink(),
            settings=settings_for(),
            confirm_absent=lambda products: pytest.fail("nothing is missing: nothing to ask"),
        )
    assert plan["create"] == 1 and plan["held_back"] is None


def test_a_quarantined_record_is_never_missing_upstream(asked):
    store = [store_product("prod_7", "dummyjson:7", "h-7", "abc")]
    with StoreIndex.build(store, prefix="dummyjson:") as index:
        plan = plan_sync(
            pages=[],
            quarantine=[{"source_id": "7", "reason": "price: -1 is negative"}],
            fetch={"partial": False},
            ctx=MappingContext(),
            index=index,
            sink=Sink(),
            settings=settings_for(on_missing="delete"),
            confirm_absent=lambda products: pytest.fail("a quarantined record exists upstream"),
        )
    assert (plan["missing_upstream"], plan["missing_acted_on"]) == (0, 0)
