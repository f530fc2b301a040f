from medusa_sync.diff import StoreIndex, classify
from medusa_sync.fingerprint import HASH_KEY


def store_product(pid, external_id, handle, sync_hash=None, status="published"):
    return {
        "id": pid,
        "external_id": external_id,
        "handle": handle,
        "status": status,
        "metadata": {HASH_KEY: sync_hash} if sync_hash else None,
        "variants": [{"id": f"variant_{pid}"}],
    }


def desired(h):
    return {"metadata": {HASH_KEY: h}}


def test_only_products_with_our_prefix_are_ours_but_every_handle_counts():
    index = StoreIndex.build(
        [
            store_product("p1", "dummyjson:1", "mascara", "h1"),
            store_product("p2", None, "hand-made"),
            store_product("p3", "erp:7", "erp-thing"),
        ],
        prefix="dummyjson:",
    )
    assert set(index.ours) == {"dummyjson:1"}
    assert index.ours["dummyjson:1"].variant_id == "variant_p1"
    assert index.handles == {"mascara", "hand-made", "erp-thing"}


def test_new_changed_and_unchanged_products_are_told_apart():
    index = StoreIndex.build([store_product("p1", "dummyjson:1", "a", "h1")], prefix="dummyjson:")
    existing = index.ours["dummyjson:1"]
    assert classify(desired("h1"), None, full_refresh=False) == "create"
    assert classify(desired("h1"), existing, full_refresh=False) == "unchanged"
    assert classify(desired("h2"), existing, full_refresh=False) == "update"
    assert classify(desired("h1"), existing, full_refresh=True) == "update"


def test_products_gone_from_the_source_are_missing_upstream():
    index = StoreIndex.build(
        [store_product("p1", "dummyjson:1", "a"), store_product("p2", "dummyjson:2", "b")],
        prefix="dummyjson:",
    )
    assert [p.id for p in index.missing_upstream({"dummyjson:1"})] == ["p2"]


def test_an_external_id_on_two_products_is_reported_not_merged():
    index = StoreIndex.build(
        [store_product("p1", "dummyjson:1", "a"), store_product("p2", "dummyjson:1", "a-1")],
        prefix="dummyjson:",
    )
    assert index.ours["dummyjson:1"].id == "p1"
    assert index.duplicated == {"dummyjson:1": ["p1", "p2"]}
