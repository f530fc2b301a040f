"""MedusaHook and the batch stage against a real Medusa 2.21 server."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest

from medusa_sync.core.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.core.mapping import MappingContext, as_create, as_update, desired_product, draft_update
from medusa_sync.core.models import SourceProduct
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.core.store_state import planned_state
from medusa_sync.errors import MedusaApiError
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.operators.upsert_batch import UpsertBatchOperator
from medusa_sync.rundata.run_folder import RunFolder, write_json
from tests.stack.airflow_local import medusa_connection

pytestmark = pytest.mark.medusa


@pytest.fixture(params=["api_key", "email_password"])
def hook(request, monkeypatch, medusa_store_module):
    store = medusa_store_module
    conn = (
        medusa_connection(store.url, api_key=store.api_key)
        if request.param == "api_key"
        else medusa_connection(store.url, email=store.email, password=store.password)
    )
    monkeypatch.setenv("AIRFLOW_CONN_MEDUSA_DEFAULT", json.dumps(conn))
    return MedusaHook()


@pytest.fixture
def api_key_connection(monkeypatch, medusa_store_module):
    """``medusa_default`` pointing at the module's store with its secret API key."""
    store = medusa_store_module
    monkeypatch.setenv(
        "AIRFLOW_CONN_MEDUSA_DEFAULT", json.dumps(medusa_connection(store.url, api_key=store.api_key))
    )


def create_payloads(real_catalog, ids, ctx):
    records = [r for r in real_catalog if r["id"] in ids]
    return [as_create(desired_product(SourceProduct.parse(r).kept(), ctx), f"it-{r['id']}") for r in records]


def test_both_auth_modes_reach_the_admin_api(hook):
    assert hook.default_sales_channel_id().startswith("sc_")
    ok, message = hook.test_connection()
    assert ok, message


def test_the_shipping_profile_is_the_stores_default_or_a_known_one(hook, medusa_store_module):
    listed = medusa_store_module.admin.get("/admin/shipping-profiles", params={"fields": "id,type"}).json()
    [default] = [p["id"] for p in listed["shipping_profiles"] if p["type"] == "default"]
    assert hook.default_shipping_profile_id() == default
    assert hook.get_shipping_profile(default)["type"] == "default"
    assert hook.get_shipping_profile("sp_01NOSUCHPROFILE0000000000") is None


def test_categories_and_tags_are_created_found_and_deleted(hook):
    category = hook.create_category(name="Kitchen Accessories", handle="kitchen-accessories-it")
    assert [c["id"] for c in hook.list_categories(handles=["kitchen-accessories-it"])] == [category["id"]]
    hook.delete_category(category["id"])
    assert list(hook.list_categories(handles=["kitchen-accessories-it"])) == []

    tag = hook.create_tag("integration-tag")
    assert [t["id"] for t in hook.list_tags(values=["integration-tag"])] == [tag["id"]]
    hook.delete_tag(tag["id"])
    assert list(hook.list_tags(values=["integration-tag"])) == []


def test_the_store_index_fields_come_back_from_a_filtered_listing(hook, real_catalog):
    run = uuid.uuid4().hex[:8]
    ctx = MappingContext(external_id_prefix=f"hooktest-{run}:")
    payloads = [{**p, "handle": f"{p['handle']}-{run}"} for p in create_payloads(real_catalog, {1, 2}, ctx)]
    created = hook.batch_products(create=payloads)["created"]
    try:
        found = [
            StoreProduct.from_api(p)
            for p in hook.list_products(
                fields=STORE_PRODUCT_FIELDS, external_ids=[p["external_id"] for p in payloads]
            )
        ]
        assert sorted(p.external_id for p in found) == sorted(p["external_id"] for p in payloads)
        assert all(p.variant_id and p.variant_id.startswith("variant_") for p in found)
        assert {p.sync_hash for p in found} == {p["metadata"]["sync_hash"] for p in payloads}
    finally:
        hook.batch_products(delete=[p["id"] for p in created])


def test_the_store_tells_its_clock_and_lists_only_the_products_updated_since_a_time(hook, real_catalog):
    # What read_store's changed-only read rests on: the server's time, and ``updated_at[$gte]``.
    run = uuid.uuid4().hex[:8]
    ctx = MappingContext(external_id_prefix=f"since-{run}:")
    payloads = [{**p, "handle": f"{p['handle']}-{run}"} for p in create_payloads(real_catalog, {4, 5}, ctx)]
    count, before = hook.product_count_at()
    assert before is not None and before.tzinfo is not None
    created = hook.batch_products(create=payloads)["created"]
    try:
        assert hook.product_count_at()[0] == count + 2

        def ids(listing):
            return {p["id"] for p in listing}

        since_before = hook.read_all_products(
            ids, fields=("id",), updated_since=before - timedelta(seconds=1)
        )
        assert {p["id"] for p in created} <= since_before
        time.sleep(1.1)  # the Date header counts whole seconds
        _, later = hook.product_count_at()
        edited = created[0]["id"]
        hook.batch_products(update=[{"id": edited, "metadata": {"edited_by": "a person"}}])
        assert hook.read_all_products(ids, fields=("id",), updated_since=later) == {edited}
    finally:
        hook.batch_products(delete=[p["id"] for p in created])


def test_a_refused_item_raises_with_medusa_type_and_message(hook, real_catalog):
    ctx = MappingContext(external_id_prefix="refused:")
    [payload] = create_payloads(real_catalog, {3}, ctx)
    with pytest.raises(MedusaApiError) as caught:
        hook.batch_products(create=[{**payload, "handle": "Not A Valid Handle"}])
    assert caught.value.status == 400
    assert caught.value.type == "invalid_data"
    assert caught.value.message
    assert not caught.value.transient


def run_context(folder: RunFolder, try_number: int) -> dict:
    """What upsert_batch reads of its run: the fetch's read time (fetch.json) and the run id."""
    if not folder.fetch.exists():
        write_json(folder.fetch, {"started_at": "2026-11-30T00:00:00+00:00", "partial": False})
    return {"ti": SimpleNamespace(try_number=try_number), "run_id": "manual__integration"}


def run_batch(tmp_path, body, label="batch 1/1", try_number=1):
    folder = RunFolder(f"file://{tmp_path}")
    write_json(folder.batch(1), body)
    operator = UpsertBatchOperator(task_id="upsert_batch", batch_path=str(folder.batch(1)), batch_label=label)
    result = operator.execute(run_context(folder, try_number))
    return result, json.loads((tmp_path / "results" / "batch-00001.json").read_text())


def test_a_batch_rerun_after_it_committed_creates_no_duplicate(
    tmp_path, api_key_connection, medusa_store_module, real_catalog
):
    store = medusa_store_module
    ctx = MappingContext(external_id_prefix="rerun:")
    body = {"create": create_payloads(real_catalog, {10, 11, 12}, ctx), "update": [], "delete": []}

    first, _ = run_batch(tmp_path, body)
    (tmp_path / "results" / "batch-00001.json").unlink()  # the first attempt died before its result
    second, _ = run_batch(tmp_path, body, try_number=2)

    assert first["created"] == 3
    assert (second["created"], second["resumed"], second["updated"], second["requests"]) == (3, 3, 0, 0)
    listed = store.admin.get(
        "/admin/products",
        params={"external_id": [p["external_id"] for p in body["create"]], "fields": "id,external_id"},
    ).json()
    assert listed["count"] == 3


def test_one_item_medusa_refuses_does_not_stop_the_rest_of_the_batch(
    tmp_path, api_key_connection, real_catalog
):
    ctx = MappingContext(external_id_prefix="isolate:")
    creates = create_payloads(real_catalog, {20, 21, 22, 23, 24}, ctx)
    creates = [{**p, "handle": p["handle"] + "-isolate"} for p in creates]
    creates[2] = {**creates[2], "handle": "Bad Handle!"}

    result, stored = run_batch(tmp_path, {"create": creates, "update": [], "delete": []})

    assert result["created"] == 4
    assert result["rejected"] == 1
    [rejected] = stored["rejected"]
    assert rejected["external_id"] == creates[2]["external_id"]
    assert rejected["type"] == "invalid_data" and rejected["message"]


def synced(store, real_catalog, prefix, ids, ctx=None):
    """Create source products in the store as a first sync would; returns ``{source id: StoreProduct}``."""
    ctx = ctx or MappingContext(external_id_prefix=prefix)
    payloads = [
        {**p, "handle": f"{p['handle']}-{prefix.strip(':')}"} for p in create_payloads(real_catalog, ids, ctx)
    ]
    MedusaHook().batch_products(create=payloads)
    found = MedusaHook().list_products(
        fields=STORE_PRODUCT_FIELDS, external_ids=[p["external_id"] for p in payloads]
    )
    return {int(p["external_id"].split(":")[1]): StoreProduct.from_api(p) for p in found}


def planned_update(real_catalog, product, price, prefix):
    record = next(r for r in real_catalog if r["id"] == int(product.external_id.split(":")[1]))
    desired = desired_product(SourceProduct.parse({**record, "price": price}).kept(),
                              MappingContext(external_id_prefix=prefix))  # fmt: skip
    return as_update(desired, product.id, product.variant_id)


def test_an_update_planned_before_a_newer_write_is_superseded_and_the_rest_lands(
    tmp_path, api_key_connection, medusa_store_module, real_catalog
):
    prefix = "stale:"
    store = synced(medusa_store_module, real_catalog, prefix, {30, 31})
    old_plan = {p.id: planned_state(p) for p in store.values()}
    body = {"create": [], "update": [planned_update(real_catalog, store[n], 1.11, prefix) for n in (30, 31)],
            "delete": [], "planned": old_plan}  # fmt: skip
    newer = planned_update(real_catalog, store[30], 2.22, prefix)
    MedusaHook().batch_products(update=[newer])  # a newer run writes product 30 first

    result, stored = run_batch(tmp_path, body, try_number=4)

    assert (result["updated"], result["superseded"]) == (1, 1)
    assert [(s["external_id"], s["action"]) for s in stored["superseded"]] == [(f"{prefix}30", "update")]
    prices = {
        p["external_id"]: p["variants"][0]["prices"][0]["amount"]
        for p in medusa_store_module.admin.get(
            "/admin/products",
            params={"external_id": [f"{prefix}30", f"{prefix}31"], "fields": "external_id,*variants.prices"},
        ).json()["products"]
    }
    assert prices == {f"{prefix}30": 2.22, f"{prefix}31": 1.11}


def test_items_whose_product_was_deleted_in_the_admin_are_not_found_and_the_rest_lands(
    tmp_path, api_key_connection, medusa_store_module, real_catalog
):
    prefix = "gone:"
    store = synced(medusa_store_module, real_catalog, prefix, {40, 41, 42})
    body = {
        "create": [],
        "update": [planned_update(real_catalog, store[40], 4.44, prefix), draft_update(store[41].id)],
        "delete": [store[42].id],
        "planned": {p.id: planned_state(p) for p in store.values()},
    }
    for product in store.values():
        assert medusa_store_module.admin.delete(f"/admin/products/{product.id}").status_code == 200
    recreated = synced(medusa_store_module, real_catalog, "gone2:", {40})  # an unrelated product that lives

    result, stored = run_batch(tmp_path, body)

    assert (result["updated"], result["drafted"], result["deleted"], result["not_found"]) == (0, 0, 0, 3)
    assert sorted((n["action"], n["external_id"]) for n in stored["not_found"]) == [
        ("delete", f"{prefix}42"),
        ("draft", f"{prefix}41"),
        ("update", f"{prefix}40"),
    ]
    assert result["requests"] == 0
    assert recreated[40].id in {
        p["id"] for p in medusa_store_module.admin.get("/admin/products").json()["products"]
    }


def test_a_retried_group_skips_the_files_an_earlier_attempt_finished(
    tmp_path, api_key_connection, medusa_store_module, real_catalog
):
    ctx = MappingContext(external_id_prefix="group:")
    creates = [
        {**p, "handle": p["handle"] + "-group"} for p in create_payloads(real_catalog, {50, 51, 52, 53}, ctx)
    ]
    folder = RunFolder(f"file://{tmp_path}")
    for n, pair in enumerate((creates[:2], creates[2:]), start=1):
        write_json(folder.batch(n), {"create": pair, "update": [], "delete": []})
    group = UpsertBatchOperator(
        task_id="upsert_batch", batch_path=str(folder.batch(1)), batch_count=2, batch_label="batches 1-2/2"
    )
    first = group.execute(run_context(folder, 1))
    (
        tmp_path / "results" / "batch-00002.json"
    ).unlink()  # the attempt died after file 1, before file 2's result
    again = group.execute(run_context(folder, 2))

    assert (first["files"], first["created"], first["requests"]) == (2, 4, 2)
    # File 1 is not sent again; file 2's creates are found in the store, not created twice.
    assert (again["created"], again["resumed"]) == (4, 2)
    retried = json.loads((tmp_path / "results" / "batch-00002.json").read_text())
    assert (retried["created"], retried["resumed"], retried["requests"]) == (2, 2, 0)
    listed = medusa_store_module.admin.get(
        "/admin/products", params={"external_id": [p["external_id"] for p in creates], "fields": "id"}
    ).json()
    assert listed["count"] == 4


def test_a_product_deleted_by_hand_while_the_store_is_read_hides_no_synced_product(
    api_key_connection, medusa_store_module, real_catalog, caplog
):
    """Item 7 of issue 17: pages of 5, and once the page holding it was read, a synced product is
    deleted in the admin. Later offsets shift by one, so the product on the next page boundary
    would never be read and would then be planned as a create; the read sees the shift and starts
    over."""
    run = uuid.uuid4().hex[:8]
    prefix = f"moved-{run}:"
    ctx = MappingContext(external_id_prefix=prefix)
    records = set(range(60, 72))
    payloads = [{**p, "handle": f"{p['handle']}-{run}"} for p in create_payloads(real_catalog, records, ctx)]
    hook = MedusaHook()
    created = sorted(hook.batch_products(create=payloads)["created"], key=lambda p: p["id"])
    victim, kept = created[0], created[1:]
    deleted: list[int] = []
    reads: list[int] = []

    def deleting_once_read(listing):
        # Deleted once its page was read: every later page starts one product late.
        for product in listing:
            yield product
            if product["id"] == victim["id"] and not deleted:
                deleted.append(
                    medusa_store_module.admin.delete(f"/admin/products/{victim['id']}").status_code
                )

    def build(listing):
        reads.append(1)
        return StoreIndex.build(deleting_once_read(listing), prefix=prefix)

    try:
        with hook.read_all_products(build, fields=STORE_PRODUCT_FIELDS, page_size=5) as index:
            assert deleted == [200]
            assert {p["external_id"] for p in kept if index.get(p["external_id"]) is None} == set()
            assert {index.get(p["external_id"]).id for p in kept} == {p["id"] for p in kept}
            assert len(reads) == 2  # the moved read was thrown away and done again
            assert index.get(victim["external_id"]) is None
            assert index.owned == len(kept) and index.duplicated == {}
        assert "the list moved while it was read" in caplog.text
    finally:
        hook.batch_products(delete=[p["id"] for p in kept])
