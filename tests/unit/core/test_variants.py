"""A product with variants: its payload, its plan, and what an update of it writes (and never
writes) against the product as the store holds it."""

from __future__ import annotations

import copy
from typing import Any

from medusa_sync.core.batch_sending import BatchSender
from medusa_sync.core.batching import Batch
from medusa_sync.core.mapping import (
    HASH_KEY,
    MappingContext,
    as_create,
    as_update,
    content_hash,
    desired_product,
)
from medusa_sync.core.models import SourceProduct
from medusa_sync.core.ownership import (
    FIELDS_HASH_KEY,
    OWNED_CATEGORIES_KEY,
    OWNED_TAGS_KEY,
    SOURCE_VARIANT_KEY,
    SYNC_VARIANTS_KEY,
    VariantDeletes,
    is_shape_change,
    merge_variant_update,
    to_one_variant,
    variant_image_links,
)
from medusa_sync.core.planning import plan_catalog, plan_variants
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.errors import MedusaApiError
from tests.unit.core.test_batch_sending import MemoryStore, planned
from tests.unit.core.test_planning import Sink, settings_for

CTX = MappingContext(currency_code="usd", sales_channel_id="sc_1", category_ids={"tops": "pcat_tops"})
BLACK, WHITE = "https://img.example/tee-black.jpg", "https://img.example/tee-white.jpg"
DELETE = VariantDeletes(True, "within the guard")
KEEP = VariantDeletes(False, "on_missing=ignore: a variant removed upstream is kept")


def tee(**changes: Any) -> dict[str, Any]:
    """A valid record with three variants over two options, each with its own image."""
    record = {
        "id": 7,
        "title": "Organic Tee",
        "category": "tops",
        "images": ["https://img.example/tee.jpg", BLACK],
        "options": [
            {"title": "Size", "values": ["S", "M"]},
            {"title": "Colour", "values": ["Black", "White"]},
        ],
        "variants": [
            {"id": 71, "title": "S / Black", "options": {"Size": "S", "Colour": "Black"}, "sku": "T-S-B",
             "price": 19.99, "weight": 120, "image": BLACK},
            {"id": 72, "title": "M / Black", "options": {"Size": "M", "Colour": "Black"}, "sku": "T-M-B",
             "barcode": "4006381333931", "price": 19.99, "image": BLACK},
            {"id": 73, "title": "S / White", "options": {"Size": "S", "Colour": "White"}, "sku": "T-S-W",
             "price": 21.05, "dimensions": {"width": 20, "height": 2, "depth": 30}, "image": WHITE},
        ],
    }  # fmt: skip
    return {**record, **changes}


def desired(record: dict[str, Any], ctx: MappingContext = CTX) -> dict[str, Any]:
    return desired_product(SourceProduct.parse(record).kept(), ctx)


def by_source(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["metadata"][SOURCE_VARIANT_KEY]: v for v in payload["variants"]}


# --- mapping ---------------------------------------------------------------------------------------


def test_a_product_with_variants_gets_its_options_and_one_variant_per_source_variant():
    payload = desired(tee())
    assert payload["options"] == [
        {"title": "Size", "values": ["S", "M"]},
        {"title": "Colour", "values": ["Black", "White"]},
    ]
    variants = by_source(payload)
    assert list(variants) == ["71", "72", "73"]
    assert variants["72"] == {
        "title": "M / Black",
        "sku": "T-M-B",
        "barcode": "4006381333931",
        "manage_inventory": False,
        "options": {"Size": "M", "Colour": "Black"},
        "prices": [{"amount": 19.99, "currency_code": "usd"}],
        "metadata": {
            SOURCE_VARIANT_KEY: "72",
            "image": BLACK,
            HASH_KEY: variants["72"]["metadata"][HASH_KEY],
        },
    }
    assert (variants["71"]["weight"], variants["73"]["width"], variants["73"]["length"]) == (120, 20, 30)
    assert by_source(desired(tee(), CTX.__class__(currency_code="eur", manage_inventory=True)))["73"][
        "prices"
    ] == [{"amount": 21.05, "currency_code": "eur"}]


def test_the_variants_images_join_the_products_each_once_in_order():
    assert [i["url"] for i in desired(tee())["images"]] == ["https://img.example/tee.jpg", BLACK, WHITE]


def test_a_price_change_of_one_variant_changes_its_hash_and_the_products_but_not_the_others_nor_the_fields():
    before = desired(tee())
    record = tee()
    record["variants"][2]["price"] = 22.5
    after = desired(record)
    old, new = by_source(before), by_source(after)
    assert new["73"]["metadata"][HASH_KEY] != old["73"]["metadata"][HASH_KEY]
    assert [new[v]["metadata"][HASH_KEY] for v in ("71", "72")] == [
        old[v]["metadata"][HASH_KEY] for v in ("71", "72")
    ]
    assert after["metadata"][HASH_KEY] != before["metadata"][HASH_KEY]
    assert after["metadata"][FIELDS_HASH_KEY] == before["metadata"][FIELDS_HASH_KEY]


def test_a_change_of_the_products_own_fields_leaves_every_variant_hash():
    before, after = desired(tee()), desired(tee(title="Organic Tee, heavy"))
    assert after["metadata"][FIELDS_HASH_KEY] != before["metadata"][FIELDS_HASH_KEY]
    assert [v["metadata"][HASH_KEY] for v in after["variants"]] == [
        v["metadata"][HASH_KEY] for v in before["variants"]
    ]


def test_the_records_beside_the_hash_stay_out_of_it():
    payload = desired(tee())
    assert payload["metadata"][SYNC_VARIANTS_KEY] == "71,72,73"
    records = (FIELDS_HASH_KEY, SYNC_VARIANTS_KEY, OWNED_CATEGORIES_KEY, OWNED_TAGS_KEY)
    without = {**payload, "metadata": {k: v for k, v in payload["metadata"].items() if k not in records}}
    assert content_hash(without) == payload["metadata"][HASH_KEY]
    own_fields = {k: v for k, v in without.items() if k not in ("options", "variants")}
    assert content_hash(own_fields) == payload["metadata"][FIELDS_HASH_KEY]


def test_a_product_without_variants_has_no_variant_records(record):
    metadata = desired_product(SourceProduct.parse(record).kept(), CTX)["metadata"]
    assert FIELDS_HASH_KEY not in metadata and SYNC_VARIANTS_KEY not in metadata


def test_a_create_carries_the_options_and_variants_and_an_update_keeps_them_for_the_send():
    payload = desired(tee())
    create = as_create(payload, "organic-tee", "sp_1")
    assert create["options"] == payload["options"] and create["variants"] == payload["variants"]
    update = as_update(payload, "prod_7", "variant_guess", "sp_1")
    assert update["variants"] == payload["variants"] and update["options"] == payload["options"]
    assert update["id"] == "prod_7" and "handle" not in update
    assert all("id" not in v for v in update["variants"])


# --- the send-time merge -----------------------------------------------------------------------------


def held(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The product as the store holds it after ``payload`` was written, with a merchant's variant
    (a size of their own, two prices), read with the merge fields; variants listed newest first."""
    options = [
        {"id": f"opt_{o['title']}", "title": o["title"], "values": [{"value": v} for v in o["values"]]}
        for o in payload["options"]
    ]
    options[0]["values"].append({"value": "Tall"})
    variants = [
        {
            "id": f"variant_{v['metadata'][SOURCE_VARIANT_KEY]}",
            "title": v["title"],
            "sku": v.get("sku"),
            "barcode": v.get("barcode"),
            "weight": v.get("weight"),
            "width": v.get("width"),
            "height": v.get("height"),
            "length": v.get("length"),
            "manage_inventory": v["manage_inventory"],
            "metadata": dict(v["metadata"]),
            "options": [
                {"value": value, "option_id": f"opt_{title}"} for title, value in v["options"].items()
            ],
            "prices": [
                {
                    "id": f"price_{v['metadata'][SOURCE_VARIANT_KEY]}",
                    "amount": v["prices"][0]["amount"],
                    "currency_code": "usd",
                },
                {"id": f"eur_{v['metadata'][SOURCE_VARIANT_KEY]}", "amount": 18.0, "currency_code": "eur"},
            ],
        }
        for v in payload["variants"]
    ]
    merchants = {
        "id": "variant_hand",
        "title": "Tall / White",
        "sku": "HAND-1",
        "metadata": None,
        "options": [
            {"value": "Tall", "option_id": "opt_Size"},
            {"value": "White", "option_id": "opt_Colour"},
        ],
        "prices": [{"id": "price_hand", "amount": 31.5, "currency_code": "usd"}],
    }
    return {
        "id": "prod_7",
        "metadata": {k: payload["metadata"][k] for k in (HASH_KEY, FIELDS_HASH_KEY, SYNC_VARIANTS_KEY)},
        "options": options,
        "variants": [merchants, *reversed(variants)],
        "images": [{"id": f"img_{n}", "url": i["url"], "rank": n} for n, i in enumerate(payload["images"])],
        **changes,
    }


def test_an_unchanged_variant_is_not_written_and_a_price_change_writes_that_price_alone():
    store = held(desired(tee()))
    record = tee()
    record["variants"][1]["price"] = 24.95
    writes = merge_variant_update(as_update(desired(record), "prod_7", None), store, DELETE)
    assert writes.options is None
    assert writes.variants == {
        "create": [],
        "update": [
            {
                "id": "variant_72",
                # The sync's price on its own row, the variant's EUR price sent back as it is.
                "prices": [
                    {"amount": 24.95, "currency_code": "usd", "id": "price_72"},
                    {"id": "eur_72", "amount": 18.0, "currency_code": "eur"},
                ],
                "metadata": by_source(desired(record))["72"]["metadata"],
            }
        ],
        "delete": [],
    }
    assert dict(writes.counts) == {"unchanged": 2, "updated": 1, "created": 0, "deleted": 0, "kept": 0}
    # The product's own fields did not change: its write is its new hash alone, last.
    assert writes.product == {"id": "prod_7", "metadata": {HASH_KEY: desired(record)["metadata"][HASH_KEY]}}


def test_a_variant_is_found_by_its_source_id_whatever_its_position_and_the_merchants_is_never_written():
    payload = desired(tee())
    store = held(payload)
    store["variants"].reverse()
    record = tee()
    for variant in record["variants"]:
        variant["title"] += " (new)"
    writes = merge_variant_update(as_update(desired(record), "prod_7", None), store, DELETE)
    assert [u["id"] for u in writes.variants["update"]] == ["variant_71", "variant_72", "variant_73"]
    assert all(set(u) == {"id", "title", "metadata"} for u in writes.variants["update"])
    assert "variant_hand" not in repr(writes)


def test_a_variant_added_upstream_on_a_new_value_is_created_after_the_value():
    store = held(desired(tee()))
    record = tee()
    record["options"][0]["values"].append("L")
    record["variants"].append(
        {
            "id": 74,
            "title": "L / White",
            "options": {"Size": "L", "Colour": "White"},
            "sku": "T-L-W",
            "price": 23,
        }
    )
    payload = desired(record)
    writes = merge_variant_update(as_update(payload, "prod_7", None), store, DELETE)
    assert writes.options == {"update": [{"product_option_id": "opt_Size", "add": [{"value": "L"}]}]}
    assert writes.variants == {"create": [by_source(payload)["74"]], "update": [], "delete": []}
    assert writes.product["metadata"][SYNC_VARIANTS_KEY] == "71,72,73,74"


def test_a_variant_removed_upstream_is_deleted_only_when_allowed_and_recorded_while_it_is_kept():
    store = held(desired(tee()))
    record = tee()
    del record["variants"][0]
    update = as_update(desired(record), "prod_7", None)

    deleted = merge_variant_update(update, store, DELETE)
    assert deleted.variants == {"create": [], "update": [], "delete": ["variant_71"]}
    assert deleted.product["metadata"] == {HASH_KEY: update["metadata"][HASH_KEY], SYNC_VARIANTS_KEY: "72,73"}

    kept = merge_variant_update(update, store, KEEP)
    assert kept.variants is None and kept.kept == [{"source_variant_id": "71", "variant_id": "variant_71"}]
    assert kept.counts["kept"] == 1
    # The product records the kept variant still, so each later plan counts it again.
    assert kept.product == {"id": "prod_7", "metadata": {HASH_KEY: update["metadata"][HASH_KEY]}}
    store["metadata"][HASH_KEY] = update["metadata"][HASH_KEY]
    assert merge_variant_update(update, store, KEEP).product is None  # in step: nothing to write


def test_the_products_own_fields_go_without_variants_only_when_their_hash_changed():
    store = held(desired(tee()))
    update = as_update(desired(tee(title="Organic Tee, heavy")), "prod_7", None, "sp_1")
    writes = merge_variant_update(update, store, DELETE)
    assert writes.variants is None and writes.options is None
    assert writes.product["title"] == "Organic Tee, heavy"
    assert "variants" not in writes.product and "options" not in writes.product
    assert writes.product["metadata"][HASH_KEY] == update["metadata"][HASH_KEY]
    assert [i.get("id") for i in writes.product["images"]] == ["img_0", "img_1", "img_2"]


def test_a_stale_plan_deletes_no_variant_and_a_plan_without_a_decision_neither():
    decision = {"allowed": True, "because": "within"}
    assert VariantDeletes.from_plan(decision, stale_because=None).allowed
    stale = VariantDeletes.from_plan(decision, stale_because="planned 90 min ago")
    assert not stale.allowed and "90 min" in stale.because
    assert not VariantDeletes.from_plan(None, stale_because=None).allowed


def test_each_variant_is_linked_to_the_image_its_source_names_unless_it_has_it():
    product = held(desired(tee()))
    general = [{"id": f"img_{n}", "url": i["url"]} for n, i in enumerate(product["images"])]
    # As Medusa lists them: every variant has every general image, and those linked to it.
    for variant in product["variants"]:
        variant["images"] = general
    product["images"].append({"id": "img_9", "url": "https://shop.example/hand.jpg"})
    assert variant_image_links(product) == [
        ("img_2", ["variant_73"]),
        ("img_1", ["variant_72", "variant_71"]),
    ]
    # Once linked, the white image is the white variant's alone; the black one still general.
    for variant in product["variants"]:
        variant["images"] = general[:2] + ([general[2]] if variant["id"] == "variant_73" else [])
    assert variant_image_links(product) == [("img_1", ["variant_72", "variant_71"])]
    for variant in product["variants"]:
        variant["images"] = [general[0], general[1 if variant["id"] in ("variant_71", "variant_72") else 2]]
    assert variant_image_links(product) == []


# --- planning ------------------------------------------------------------------------------------------


def plan_against_store(records, stored_records, **settings):
    """Plan ``records`` against a store holding ``stored_records`` as the sync wrote them."""
    stored = [
        {"id": f"prod_{r['id']}", "external_id": f"dummyjson:{r['id']}", "handle": f"tee-{r['id']}",
         "metadata": desired_product(r, CTX)["metadata"], "variants": [{"id": "v"}]}
        for r in stored_records
    ]  # fmt: skip
    sink = Sink()
    with StoreIndex.build(stored, prefix="dummyjson:") as index:
        counts = plan_catalog([records], [], CTX, index, sink, settings_for(**settings))
        return counts, sink.items, index.owned_variants, index


def test_the_plan_counts_unchanged_variants_and_the_removed_ones_the_guard_weighs():
    records = [SourceProduct.parse(tee(id=n)).kept() for n in (1, 2)]
    changed = copy.deepcopy(records[1])
    del changed["variants"][0]
    counts, _, owned, index = plan_against_store([records[0], changed], records)
    assert owned == 6
    assert (counts["unchanged"], counts["update"]) == (1, 1)
    assert (counts["variants_unchanged"], counts["variants_missing"]) == (3, 1)
    verdict = plan_variants(counts, {"partial": False}, index, settings_for(on_missing="delete"))
    assert verdict["delete"]["allowed"] is False  # 1 of 6 is over 10 %
    assert (
        verdict["delete"]["because"]
        == "delete 1 of 6 synced variants (16.7 %) is over max_missing_percent=10"
    )
    within = plan_variants(
        counts, {"partial": False}, index, settings_for(on_missing="delete", max_missing_percent=20)
    )
    assert within["delete"]["allowed"] is True and within["guard"]["acting"] == 1
    partial = plan_variants(
        counts, {"partial": True}, index, settings_for(on_missing="delete", max_missing_percent=20)
    )
    assert partial["delete"] == {
        "allowed": False,
        "because": "the fetch did not provably see the whole catalog",
    }
    draft = plan_variants(counts, {"partial": False}, index, settings_for(on_missing="draft"))
    assert draft["delete"] == {
        "allowed": False,
        "because": "on_missing=draft: a variant removed upstream is kept",
    }


def plan_against_in_step(
    record: dict, recorded_variants: str, on_missing: str, sink: Sink | None = None
) -> tuple[Any, Sink]:
    """The plan of ``record`` against a store product in step with it (its hash) that still records
    the source variants ``recorded_variants`` as the sync's: the plan's counts and its items."""
    in_step = {**desired_product(record, CTX)["metadata"], SYNC_VARIANTS_KEY: recorded_variants}
    stored = [
        {"id": "prod_7", "external_id": "dummyjson:7", "handle": "tee", "metadata": in_step, "variants": []}
    ]
    sink = sink or Sink()
    with StoreIndex.build(stored, prefix="dummyjson:") as index:
        counts = plan_catalog([[record]], [], CTX, index, sink, settings_for(on_missing=on_missing))
    return counts, sink


def test_a_variant_kept_earlier_is_counted_each_run_and_planned_for_deletion_once_on_missing_is_delete():
    before = SourceProduct.parse(tee()).kept()
    after = copy.deepcopy(before)
    del after["variants"][0]
    # As a run under on_missing=ignore left it: the product in step, the variant still recorded.
    for on_missing, action in (("ignore", "unchanged"), ("delete", "update")):
        counts, sink = plan_against_in_step(after, "72,73,71", on_missing)
        assert (counts[action], counts["variants_missing"]) == (1, 1), on_missing
        assert len(sink.items["update"]) == (action == "update")


# --- sending ---------------------------------------------------------------------------------------------


class VariantStore(MemoryStore):
    """The memory store with a product's options and variants routes; it refuses a variant whose
    sku another product holds (400 invalid_data, as Medusa does)."""

    def __init__(self, products, taken_skus=frozenset()):
        super().__init__(products)
        self.taken = taken_skus
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def batch_product_options(self, product_id, **body):
        self.calls.append(("options", product_id, body))
        return {}

    def batch_product_variants(self, product_id, *, create=(), update=(), delete=()):
        self.calls.append(("variants", product_id, {"create": create, "update": update, "delete": delete}))
        for variant in [*create, *update]:
            if variant.get("sku") in self.taken:
                raise MedusaApiError(
                    400,
                    "invalid_data",
                    f"Product variant with sku: {variant['sku']}, already exists.",
                    "POST",
                    f"/admin/products/{product_id}/variants/batch",
                )
        return {}

    def batch_products(self, *, create=(), update=(), delete=()):
        self.calls.append(("products", "", {"update": [u["id"] for u in update]}))
        return super().batch_products(create=create, update=update, delete=delete)


def stored(product_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        **held(payload, id=product_id),
        "external_id": payload["external_id"],
        "handle": product_id,
        "status": "published",
        "updated_at": "2026-11-28T10:00:00.000Z",
    }


def test_options_then_variants_then_the_product_and_a_sku_clash_costs_one_product_a_rejection():
    first, second = desired(tee(id=1)), desired(tee(id=2))
    store = VariantStore([stored("prod_1", first), stored("prod_2", second)], taken_skus={"TAKEN-1"})
    records = [tee(id=1), tee(id=2)]
    records[0]["options"][0]["values"].append("L")
    records[0]["variants"].append(
        {
            "id": 74,
            "title": "L / Black",
            "options": {"Size": "L", "Colour": "Black"},
            "sku": "T-L-B",
            "price": 23,
        }
    )
    records[1]["variants"][0]["sku"] = "TAKEN-1"
    batch = Batch()
    for n, (record, before) in enumerate(zip(records, (first, second), strict=True), start=1):
        update = as_update(desired(record), f"prod_{n}", None)
        batch.add("update", update, planned=planned(f"dummyjson:{n}", before["metadata"][HASH_KEY]))
    outcome = BatchSender(store, variant_deletes=DELETE).send_file(
        batch, name="b.json", retry=False, newer_run=None
    )
    assert [(kind, pid) for kind, pid, _ in store.calls] == [
        ("options", "prod_1"),
        ("variants", "prod_1"),
        ("variants", "prod_2"),
        ("products", ""),
    ]
    assert store.calls[-1][2] == {"update": ["prod_1"]}  # the refused product's hash is not written
    [rejected] = outcome.rejected
    assert rejected["external_id"] == "dummyjson:2" and "sku: TAKEN-1, already exists" in rejected["message"]
    assert (outcome.counts["updated"], outcome.counts["variants_created"]) == (1, 1)
    assert outcome.counts["requests"] == 4


def test_a_created_product_counts_its_variants():
    store = VariantStore([])
    batch = Batch()
    batch.add("create", as_create(desired(tee()), "organic-tee"))
    outcome = BatchSender(store).send_file(batch, name="b.json", retry=False, newer_run=None)
    assert (outcome.counts["created"], outcome.counts["variants_created"]) == (1, 3)


def test_a_kept_variant_is_listed_with_why():
    deletes = KEEP
    payload = desired(tee())
    store = VariantStore([stored("prod_1", payload)])
    record = tee()
    del record["variants"][0]
    batch = Batch()
    batch.add(
        "update",
        as_update(desired(record), "prod_1", None),
        planned=planned("dummyjson:7", payload["metadata"][HASH_KEY]),
    )
    outcome = BatchSender(store, variant_deletes=deletes).send_file(
        batch, name="b.json", retry=False, newer_run=None
    )
    [kept] = outcome.kept_variants
    assert (kept["source_variant_id"], kept["variant_id"], kept["reason"]) == (
        "71",
        "variant_71",
        deletes.because,
    )
    assert outcome.counts["variants_kept"] == 1
    assert [kind for kind, _, _ in store.calls] == ["products"]  # its new hash alone


# --- a product's shape changing upstream ---------------------------------------------------------


def plain_tee(**changes: Any) -> dict[str, Any]:
    """The tee's record before it had variants: one price, no options."""
    record = {k: v for k, v in tee().items() if k not in ("options", "variants")}
    return {**record, "price": 18.5, "sku": "T-1", **changes}


def held_one_variant(merchants: bool) -> dict[str, Any]:
    """The tee as the sync wrote it with one variant ("Default option"/"Default", recorded), with a
    merchant's "Gift box" variant on the same option when ``merchants``."""
    payload = desired(plain_tee())
    values = [{"value": "Default"}, *([{"value": "Gift box"}] if merchants else [])]
    default = {
        "id": "variant_default",
        "title": "Default",
        "metadata": None,
        "options": [{"value": "Default", "option_id": "opt_default"}],
        "prices": [{"id": "price_default", "amount": 18.5, "currency_code": "usd"}],
    }
    gift = {
        "id": "variant_gift",
        "title": "Gift box",
        "metadata": None,
        "options": [{"value": "Gift box", "option_id": "opt_default"}],
        "prices": [{"id": "price_gift", "amount": 25.0, "currency_code": "usd"}],
    }
    return {
        "id": "prod_7",
        "metadata": {HASH_KEY: payload["metadata"][HASH_KEY], "sync_variant_id": "variant_default"},
        "options": [{"id": "opt_default", "title": "Default option", "values": values}],
        "variants": [default, *([gift] if merchants else [])],
        "images": [{"id": "img_0", "url": "https://img.example/tee.jpg", "rank": 0}],
    }


def test_one_variant_becoming_variants_swaps_the_default_for_the_sources_in_one_product_update():
    payload = desired(tee())
    writes = merge_variant_update(
        as_update(payload, "prod_7", "variant_default"), held_one_variant(False), KEEP
    )
    # The source's options are added first; no variant route: the product update swaps them.
    assert writes.options == {
        "add": [
            {"title": "Size", "values": ["S", "M"], "is_exclusive": True},
            {"title": "Colour", "values": ["Black", "White"], "is_exclusive": True},
        ]
    }
    assert writes.variants is None
    assert writes.option_titles == ["Size", "Colour"]  # "Default option" unlinked with its variant
    assert writes.product["variants"] == payload["variants"]  # the old default left out: deleted
    assert "options" not in writes.product and writes.product["title"] == "Organic Tee"
    assert writes.product["metadata"][SYNC_VARIANTS_KEY] == "71,72,73"
    assert writes.product["metadata"]["sync_variant_id"] == ""
    assert dict(writes.counts) == {"created": 3, "deleted": 1}


def test_a_merchants_variant_on_the_default_option_keeps_it_and_the_syncs_variants_name_its_default():
    payload = desired(tee())
    store = held_one_variant(True)
    writes = merge_variant_update(as_update(payload, "prod_7", None), store, DELETE)
    assert writes.option_titles == ["Default option", "Size", "Colour"]
    merchants, *created = writes.product["variants"]
    assert merchants == {"id": "variant_gift"}  # first, by id alone: its options and prices stay
    assert [v["options"] for v in created] == [
        {"Size": "S", "Colour": "Black", "Default option": "Default"},
        {"Size": "M", "Colour": "Black", "Default option": "Default"},
        {"Size": "S", "Colour": "White", "Default option": "Default"},
    ]
    assert [v["metadata"] for v in created] == [v["metadata"] for v in payload["variants"]]
    # Once swapped, a later update compares the variants with "Default" named: nothing to write
    # for the unchanged, and a new variant names it too.
    after = {
        **store,
        "options": [*store["options"], *held(payload)["options"]],
        "variants": [store["variants"][1], *held(payload)["variants"][1:]],
    }
    for variant in after["variants"][1:]:
        variant["options"].append({"value": "Default", "option_id": "opt_default"})
    record = tee()
    record["variants"][0]["title"] = "S / Black (new)"
    record["variants"].append(
        {"id": 74, "title": "M / White", "options": {"Size": "M", "Colour": "White"}, "price": 23}
    )
    again = merge_variant_update(as_update(desired(record), "prod_7", None), after, DELETE)
    assert again.option_titles is None and again.options is None
    [renamed] = again.variants["update"]
    assert set(renamed) == {"id", "title", "metadata"}
    [new] = again.variants["create"]
    assert new["options"] == {"Size": "M", "Colour": "White", "Default option": "Default"}
    assert again.counts["unchanged"] == 2


def test_variants_becoming_one_variant_swap_under_the_variant_rule_for_the_default_at_the_records_price():
    store = held(desired(tee()))
    store["variants"] = store["variants"][1:]  # no merchant's variant
    update = as_update(desired(plain_tee()), "prod_7", "variant_73")
    assert is_shape_change(update, store)
    writes = to_one_variant(update, store, DELETE)
    assert writes.options == {
        "add": [{"title": "Default option", "values": ["Default"], "is_exclusive": True}]
    }
    assert writes.option_titles == ["Default option"]  # Size and Colour unlinked with the variants
    [default] = writes.product["variants"]  # the sync's three left out: deleted
    assert default == {
        "title": "Default",
        "sku": "T-1",
        "options": {"Default option": "Default"},
        "prices": [{"amount": 18.5, "currency_code": "usd"}],
    }
    assert writes.product["metadata"][HASH_KEY] == update["metadata"][HASH_KEY]
    assert {k: writes.product["metadata"][k] for k in (SYNC_VARIANTS_KEY, FIELDS_HASH_KEY)} == {
        SYNC_VARIANTS_KEY: "",
        FIELDS_HASH_KEY: "",
    }
    assert dict(writes.counts) == {"created": 1, "deleted": 3}


def test_variants_becoming_one_are_kept_when_not_allowed_or_when_a_merchants_variant_needs_the_options():
    update = as_update(desired(plain_tee()), "prod_7", None)
    alone = held(desired(tee()))
    alone["variants"] = alone["variants"][1:]
    kept = to_one_variant(update, alone, KEEP)
    assert kept.option_titles is None and kept.options is None and kept.because == KEEP.because
    assert [k["source_variant_id"] for k in kept.kept] == ["73", "72", "71"]
    assert (
        "variants" not in kept.product and kept.product["metadata"][HASH_KEY] == update["metadata"][HASH_KEY]
    )
    alone["metadata"][HASH_KEY] = update["metadata"][HASH_KEY]
    assert to_one_variant(update, alone, KEEP).product is None  # in step: nothing to write

    blocked = to_one_variant(update, held(desired(tee())), DELETE)  # the merchant's Tall / White
    assert blocked.option_titles is None and blocked.counts["kept"] == 3
    assert blocked.because.startswith("a merchant's variant uses option(s) Colour, Size")


def test_a_product_whose_record_lost_its_variants_counts_them_missing_and_deletes_them_only_under_delete():
    before = SourceProduct.parse(tee()).kept()
    after = SourceProduct.parse(plain_tee()).kept()
    for on_missing, action in (("ignore", "unchanged"), ("delete", "update")):
        counts, _ = plan_against_in_step(after, "71,72,73", on_missing)
        assert (counts[action], counts["variants_missing"]) == (1, 3), on_missing
    assert before["variants"]  # the store's record came from a product with variants
    # Planned against the sync's variants: the send reads them (and only then) to swap them.
    states: list = []
    recorder = Sink()
    recorder.add = lambda kind, item, planned=None: states.append(planned)
    plan_against_in_step(after, "71,72,73", "delete", recorder)
    assert [state[SYNC_VARIANTS_KEY] for state in states] == ["71,72,73"]


class ShapeStore(VariantStore):
    """The variant store whose options batch answers with the product's options, new ones included."""

    def batch_product_options(self, product_id, **body):
        super().batch_product_options(product_id, **body)
        options = self.products[product_id]["options"]
        added = [{"id": f"opt_new_{o['title']}", "title": o["title"]} for o in body.get("add", [])]
        return {"product": {"id": product_id, "options": [*options, *added]}}


def test_a_swap_sends_the_options_then_the_product_with_the_option_ids_and_counts_once_written():
    before = desired(plain_tee())
    store = ShapeStore(
        [
            {
                **held_one_variant(False),
                "external_id": "dummyjson:7",
                "handle": "organic-tee",
                "status": "published",
                "updated_at": "2026-11-28T10:00:00.000Z",
            }
        ]
    )
    batch = Batch()
    update = as_update(desired(tee()), "prod_7", None)
    batch.add("update", update, planned=planned("dummyjson:7", before["metadata"][HASH_KEY]))
    outcome = BatchSender(store, variant_deletes=KEEP).send_file(
        batch, name="b.json", retry=False, newer_run=None
    )
    assert [kind for kind, _, _ in store.calls] == ["options", "products"]
    [sent] = store.posts[-1]["update"]
    assert sent["option_ids"] == ["opt_new_Size", "opt_new_Colour"]
    assert (outcome.counts["variants_created"], outcome.counts["variants_deleted"]) == (3, 1)
    assert outcome.counts["updated"] == 1 and outcome.rejected == []


def test_a_product_planned_with_the_syncs_variants_is_read_with_them_and_swapped_to_one_variant():
    payload = desired(tee())
    update = as_update(desired(plain_tee()), "prod_7", "variant_73")
    state = planned("dummyjson:7", payload["metadata"][HASH_KEY])
    for plan, variant_read in ((state, False), ({**state, SYNC_VARIANTS_KEY: "71,72,73"}, True)):
        store = ShapeStore([{**stored("prod_7", payload), "variants": held(payload)["variants"][1:]}])
        reads: list[tuple[str, ...]] = []
        listing = store.list_products

        def list_products(*, fields, listing=listing, reads=reads, **kwargs):
            reads.append(tuple(fields))
            return listing(fields=fields, **kwargs)

        store.list_products = list_products
        batch = Batch()
        batch.add("update", update, planned=plan)
        BatchSender(store, variant_deletes=DELETE).send_file(
            batch, name="b.json", retry=False, newer_run=None
        )
        # A one-variant product's read is as before; one planned with the sync's variants reads them.
        assert ("variants.metadata" in reads[0]) is variant_read
    [sent] = store.posts[-1]["update"]
    assert sent["option_ids"] == ["opt_new_Default option"]
    assert [v["title"] for v in sent["variants"]] == ["Default"]
