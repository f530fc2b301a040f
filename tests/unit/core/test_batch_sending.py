"""Sending a batch file against a store in memory: what is sent, what is settled without a write,
how a refused item is isolated, and that an update carries back what the merchant added."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from medusa_sync.core import batch_sending
from medusa_sync.core.batch_sending import BatchSender
from medusa_sync.core.batching import Batch
from medusa_sync.core.mapping import HASH_KEY
from medusa_sync.core.ownership import MERGE_FIELDS, url_key
from medusa_sync.errors import MedusaApiError

PLANNED_AT = "2026-11-28T10:00:00.000Z"


class MemoryStore:
    """As much of a Medusa store as sending needs; it refuses creates whose external id is in
    ``refuse`` (400 invalid_data, the whole batch rolled back, as Medusa does)."""

    def __init__(
        self, products: list[dict[str, Any]] = (), refuse: set[str] = frozenset(), down: bool = False
    ):
        self.products = {p["id"]: p for p in products}
        self.refuse = refuse
        self.down = down
        self.posts: list[dict[str, list[Any]]] = []
        self._ids = itertools.count(100)

    def list_products(self, *, fields, external_ids=None, ids=None):
        return [
            projected(p, fields)
            for p in self.products.values()
            if (ids and p["id"] in ids) or (external_ids and p["external_id"] in external_ids)
        ]

    def batch_products(self, *, create=(), update=(), delete=()):
        self.posts.append({"create": list(create), "update": list(update), "delete": list(delete)})
        if self.down:
            raise MedusaApiError(503, None, "unavailable", "POST", "/admin/products/batch")
        if refused := [item["external_id"] for item in create if item["external_id"] in self.refuse]:
            raise MedusaApiError(
                400, "invalid_data", f"refused {refused[0]}", "POST", "/admin/products/batch"
            )
        created = []
        for item in create:
            product_id = f"prod_{next(self._ids)}"
            self.products[product_id] = product(product_id, item["external_id"], item["metadata"][HASH_KEY])
            created.append({"id": product_id})
        for item in update:
            self.products[item["id"]].update(metadata=item["metadata"], updated_at="2026-12-01T00:00:00.000Z")
        for product_id in delete:
            self.products.pop(product_id)
        return {
            "created": created,
            "updated": [{"id": i["id"]} for i in update],
            "deleted": {"ids": list(delete)},
        }


def projected(product: dict[str, Any], fields) -> dict[str, Any]:
    """Only the fields asked for, as Medusa answers ``fields=``: ``a.b`` gives ``b`` of ``a`` (of each
    item of a list), a bare name the whole value, and ``id`` always; a price's ``rules`` come only
    with its ``price_rules`` attribute and value."""
    tree: dict[str, Any] = {}
    for name in fields:
        node = tree
        for part in name.split("."):
            node = node.setdefault(part, {})
    return {"id": product["id"], **_pick(product, tree)}


def _pick(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_pick(item, tree) for item in value]
    if not isinstance(value, dict) or not tree:
        return copy.deepcopy(value)
    picked = {key: _pick(value[key], sub) for key, sub in tree.items() if key in value}
    if {"attribute", "value"} <= set(tree.get("price_rules", {})) and "rules" in value:
        picked["rules"] = copy.deepcopy(value["rules"])
    return picked


def product(product_id: str, external_id: str, sync_hash: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": product_id,
        "external_id": external_id,
        "handle": product_id,
        "status": "published",
        "updated_at": PLANNED_AT,
        "metadata": {HASH_KEY: sync_hash},
        "variants": [{"id": f"variant_{product_id}"}],
        **extra,
    }


def create(n: int) -> dict[str, Any]:
    return {"external_id": f"dummyjson:{n}", "title": f"Product {n}", "metadata": {HASH_KEY: f"new-{n}"}}


def update(product_id: str, sync_hash: str = "h2", **extra: Any) -> dict[str, Any]:
    return {"id": product_id, "title": "Renamed", "metadata": {HASH_KEY: sync_hash}, **extra}


def planned(external_id: str, sync_hash: str = "h1") -> dict[str, Any]:
    return {"updated_at": PLANNED_AT, "sync_hash": sync_hash, "external_id": external_id}


def batch_of(creates=(), updates=(), deletes=()) -> Batch:
    batch = Batch()
    for item in creates:
        batch.add("create", item)
    for item, state in updates:
        batch.add("update", item, planned=state)
    for product_id, state in deletes:
        batch.add("delete", product_id, planned=state)
    return batch


def send(store: MemoryStore, batch: Batch, *, retry: bool = False, newer_run: str | None = None):
    return BatchSender(store).send_file(batch, name="batch_0001.json", retry=retry, newer_run=newer_run)


def test_a_refused_item_is_isolated_by_splitting_and_the_rest_lands():
    store = MemoryStore(refuse={"dummyjson:3"})
    outcome = send(store, batch_of(creates=[create(n) for n in range(1, 5)]))
    assert outcome.counts["created"] == 3
    assert [r["external_id"] for r in outcome.rejected] == ["dummyjson:3"]
    assert "refused dummyjson:3" in outcome.rejected[0]["message"]
    # The whole batch, then its halves, then the refused half's halves.
    assert [len(post["create"]) for post in store.posts] == [4, 2, 2, 1, 1]


def test_an_error_of_the_server_is_raised_for_airflow_to_retry_not_split():
    store = MemoryStore(down=True)
    with pytest.raises(MedusaApiError) as raised:
        send(store, batch_of(creates=[create(1), create(2)]))
    assert raised.value.status == 503
    assert len(store.posts) == 1


def test_a_product_changed_in_the_store_since_the_plan_is_superseded_and_not_written():
    moved = product("prod_1", "dummyjson:1", "h1", updated_at="2026-11-29T08:00:00.000Z")
    store = MemoryStore([moved, product("prod_2", "dummyjson:2", "h1")])
    outcome = send(
        store,
        batch_of(
            updates=[(update("prod_1"), planned("dummyjson:1")), (update("prod_2"), planned("dummyjson:2"))]
        ),
    )
    assert [s["external_id"] for s in outcome.superseded] == ["dummyjson:1"]
    assert outcome.superseded[0]["superseded_by"] is None
    assert outcome.counts["updated"] == 1
    assert [item["id"] for item in store.posts[0]["update"]] == ["prod_2"]


def test_a_product_deleted_in_the_store_is_not_found_and_the_rest_lands():
    store = MemoryStore([product("prod_2", "dummyjson:2", "h1")])
    outcome = send(
        store, batch_of(deletes=[("prod_1", planned("dummyjson:1")), ("prod_2", planned("dummyjson:2"))])
    )
    assert [n["product_id"] for n in outcome.not_found] == ["prod_1"]
    assert outcome.counts["deleted"] == 1 and "prod_2" not in store.products


def test_on_a_retry_a_create_an_earlier_attempt_committed_is_resumed_not_created_twice():
    store = MemoryStore([product("prod_9", "dummyjson:1", "new-1")])
    outcome = send(store, batch_of(creates=[create(1), create(2)]), retry=True)
    assert (outcome.counts["created"], outcome.counts["resumed"]) == (2, 1)
    assert [item["external_id"] for item in store.posts[0]["create"]] == ["dummyjson:2"]
    assert sorted(p["external_id"] for p in store.products.values()) == ["dummyjson:1", "dummyjson:2"]


def test_once_a_newer_run_planned_every_item_is_superseded_by_it_and_nothing_is_sent():
    store = MemoryStore([product("prod_1", "dummyjson:1", "h1")])
    batch = batch_of(creates=[create(2)], deletes=[("prod_1", planned("dummyjson:1"))])
    outcome = send(store, batch, newer_run="scheduled__2026-12-02")
    assert {(s["action"], s["superseded_by"]) for s in outcome.superseded} == {
        ("create", "scheduled__2026-12-02"),
        ("delete", "scheduled__2026-12-02"),
    }
    assert store.posts == [] and "prod_1" in store.products


HAND_IMAGE = "https://shop.example/lifestyle.jpg"
HAND_THUMB = "https://shop.example/hand-thumb.jpg"
SYNC_IMAGE = "https://cdn.example/mascara/1.webp"


def hand_edited() -> dict[str, Any]:
    """A synced product after a merchant's hand edits, as the store holds it: every merge field
    matters to what the next update must send back."""
    return product(
        "prod_1",
        "dummyjson:1",
        "h1",
        metadata={
            HASH_KEY: "h1",
            "sync_category_ids": "pcat_beauty",
            "sync_tag_ids": "ptag_beauty",
            "sync_images": url_key(SYNC_IMAGE),
            "sync_thumbnail": url_key("https://cdn.example/mascara/thumbnail.webp"),
        },
        thumbnail=HAND_THUMB,
        # Listed out of rank order: only the rank tells that the merchant's image comes first.
        images=[
            {"id": "img_sync", "url": SYNC_IMAGE, "rank": 1},
            {"id": "img_hand", "url": HAND_IMAGE, "rank": 0},
        ],
        # "fragrances" and "perfume" exist because the sync created them for other products.
        categories=[{"id": "pcat_beauty"}, {"id": "pcat_fragrances"}],
        tags=[{"id": "ptag_beauty"}, {"id": "ptag_perfume"}],
        sales_channels=[{"id": "sc_web"}, {"id": "sc_pos"}],
        shipping_profile={"id": "sp_fragile"},
        variants=[
            {
                "id": "variant_large",
                "options": [{"value": "Large"}],
                "prices": [{"id": "price_large", "amount": 15, "currency_code": "usd"}],
            },
            {
                "id": "variant_prod_1",
                "options": [{"value": "Default"}],
                "prices": [
                    # Before the plain USD price, each of these would pass for it without the
                    # field that tells it apart.
                    {"id": "price_bulk", "amount": 8, "currency_code": "usd", "min_quantity": 10},
                    {"id": "price_small", "amount": 11, "currency_code": "usd", "max_quantity": 2},
                    {
                        "id": "price_region",
                        "amount": 7.77,
                        "currency_code": "usd",
                        "rules": {"region_id": "reg_us"},
                    },
                    {"id": "price_usd", "amount": 9.99, "currency_code": "usd"},
                    {"id": "price_eur", "amount": 8.5, "currency_code": "eur"},
                ],
            },
        ],
    )


def content_update() -> dict[str, Any]:
    """The planned update of that product: new price, title, images and thumbnail upstream."""
    return update(
        "prod_1",
        thumbnail="https://cdn.example/mascara/new-thumbnail.webp",
        images=[{"url": SYNC_IMAGE}, {"url": "https://cdn.example/mascara/2.webp"}],
        categories=[{"id": "pcat_beauty"}],
        tags=[{"id": "ptag_beauty"}],
        sales_channels=[{"id": "sc_web"}],
        shipping_profile_id="sp_default",
        variants=[{"id": "variant_prod_1", "prices": [{"amount": 12.5, "currency_code": "usd"}]}],
    )


def sent_update(merge_fields=MERGE_FIELDS) -> dict[str, Any]:
    store = MemoryStore([hand_edited()])
    original = batch_sending.MERGE_FIELDS
    batch_sending.MERGE_FIELDS = merge_fields
    try:
        send(store, batch_of(updates=[(content_update(), planned("dummyjson:1"))]))
    finally:
        batch_sending.MERGE_FIELDS = original
    [sent] = store.posts[0]["update"]
    return sent


def test_an_update_sends_back_every_hand_edit_and_changes_only_the_syncs_members():
    sent = sent_update()
    assert sent["title"] == "Renamed"
    assert sent["variants"] == [
        {
            "id": "variant_prod_1",
            "prices": [
                {"id": "price_usd", "amount": 12.5, "currency_code": "usd"},
                {"id": "price_bulk", "amount": 8, "currency_code": "usd", "min_quantity": 10},
                {"id": "price_small", "amount": 11, "currency_code": "usd", "max_quantity": 2},
                {
                    "id": "price_region",
                    "amount": 7.77,
                    "currency_code": "usd",
                    "rules": {"region_id": "reg_us"},
                },
                {"id": "price_eur", "amount": 8.5, "currency_code": "eur"},
            ],
        },
        {"id": "variant_large"},
    ]
    assert sent["images"] == [
        {"id": "img_hand", "url": HAND_IMAGE},
        {"id": "img_sync", "url": SYNC_IMAGE},
        {"url": "https://cdn.example/mascara/2.webp"},
    ]
    assert "thumbnail" not in sent  # the merchant's stays
    assert sent["categories"] == [{"id": "pcat_beauty"}, {"id": "pcat_fragrances"}]
    assert sent["tags"] == [{"id": "ptag_beauty"}, {"id": "ptag_perfume"}]
    assert sent["sales_channels"] == [{"id": "sc_web"}, {"id": "sc_pos"}]
    assert "shipping_profile_id" not in sent  # the merchant's stays
    assert sent["metadata"]["sync_variant_id"] == "variant_prod_1"


@pytest.mark.parametrize("dropped", MERGE_FIELDS)
def test_each_merge_field_is_needed_to_keep_the_hand_edits(dropped):
    # The store answers only the fields asked for: a merge field left out of the read loses a hand
    # edit (or a price row), so the body differs from the one above, or cannot be made at all.
    fewer = tuple(f for f in MERGE_FIELDS if f != dropped)
    try:
        body = sent_update(fewer)
    except KeyError:
        return
    assert body != sent_update()


def reproof(answers: dict[str, tuple], asked: list[str]):
    """Drafts and deletes proven again against a source answering each id from ``answers`` (the
    second asking of an id from ``answers[id + "'"]`` when there is one); ``asked`` records every id."""
    from functools import partial

    from medusa_sync.core.batch_sending import Reproof
    from medusa_sync.core.missing import confirm_absent

    def lookup(ids):
        for source_id in ids:
            again = source_id in asked
            asked.append(source_id)
            yield source_id, answers.get(source_id + "'" if again else source_id, answers.get(source_id))

    confirm = partial(
        confirm_absent, prefix="dummyjson:", listed_source_id="99", lookup=lookup, sleep=lambda _: None
    )
    return Reproof(because="a retried or cleared batch", confirm=confirm)


def test_a_late_draft_or_delete_is_sent_only_on_a_fresh_404_twice_and_one_back_upstream_is_kept():
    from medusa_sync.core.mapping import draft_update

    gone = (404, None, "")
    store = MemoryStore([product(f"prod_{n}", f"dummyjson:{n}", "h1") for n in (1, 2, 3, 4)])
    batch = batch_of(
        updates=[
            (draft_update("prod_3"), planned("dummyjson:3")),
            (update("prod_4"), planned("dummyjson:4")),
        ],
        deletes=[("prod_1", planned("dummyjson:1")), ("prod_2", planned("dummyjson:2"))],
    )
    asked: list[str] = []
    answers = {
        "99": (200, {"id": 99}, ""),  # a product the run's fetch listed: the source's 404s mean something
        "1": gone,
        "2": (200, {"id": 2}, ""),  # back upstream since the plan
        "3": gone,
        "3'": (503, None, "GET /products/3: Service Unavailable"),  # 404 once only: no proof
    }
    outcome = BatchSender(store, reproof=reproof(answers, asked)).send_file(
        batch, name="batch_0001.json", retry=True, newer_run=None
    )
    assert asked == ["99", "3", "1", "2", "3", "1"]  # the drafts and deletes only, the 404s twice
    assert store.posts[0]["delete"] == ["prod_1"] and [u["id"] for u in store.posts[0]["update"]] == [
        "prod_4"
    ]
    assert sorted(store.products) == ["prod_2", "prod_3", "prod_4"]
    assert (outcome.counts["deleted"], outcome.counts["drafted"], outcome.counts["updated"]) == (1, 0, 1)
    assert sorted((s["external_id"], s["action"], s["reason"]) for s in outcome.superseded) == [
        ("dummyjson:2", "delete", "back upstream: the source has source id 2 again (200)"),
        (
            "dummyjson:3",
            "draft",
            "not proven gone again (a retried or cleared batch): 404, then GET /products/3: Service "
            "Unavailable when asked again",
        ),
    ]


def test_without_a_reproof_the_plans_404_stands_and_the_source_is_not_asked():
    store = MemoryStore([product("prod_1", "dummyjson:1", "h1")])
    outcome = send(store, batch_of(deletes=[("prod_1", planned("dummyjson:1"))]))
    assert outcome.counts["deleted"] == 1 and store.products == {}


def test_a_source_that_answers_404_even_for_a_product_it_listed_deletes_nothing_late():
    store = MemoryStore([product("prod_1", "dummyjson:1", "h1")])
    asked: list[str] = []
    outcome = BatchSender(
        store, reproof=reproof({"99": (404, None, ""), "1": (404, None, "")}, asked)
    ).send_file(batch_of(deletes=[("prod_1", planned("dummyjson:1"))]), name="b", retry=True, newer_run=None)
    assert store.posts == [] and "prod_1" in store.products
    assert "its 404s prove nothing" in outcome.superseded[0]["reason"]
