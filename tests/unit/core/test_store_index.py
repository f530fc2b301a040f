import pytest

from medusa_sync.core.handles import HandleAllocator
from medusa_sync.core.store_index import StoreIndex
from tests.fixtures.store_records import store_product


def test_only_products_with_our_prefix_are_ours_but_every_handle_counts():
    with StoreIndex.build(
        [
            store_product("p1", "dummyjson:1", "mascara", "h1"),
            store_product("p2", None, "hand-made"),
            store_product("p3", "erp:7", "erp-thing"),
            store_product("p4", "dummyjsonx:5", "look-alike"),
        ],
        prefix="dummyjson:",
    ) as index:
        assert index.owned == 1
        ours = index.get("dummyjson:1")
        assert (ours.id, ours.variant_id, ours.sync_hash) == ("p1", "variant_p1", "h1")
        assert ours.updated_at == "2026-11-28T10:00:00.000Z"
        assert index.get("erp:7") is None and index.get("dummyjsonx:5") is None
        assert set(index.handles) == {"mascara", "hand-made", "erp-thing", "look-alike"}
        assert "hand-made" in index.handles and "lamp" not in index.handles


def test_products_the_source_did_not_mention_are_missing_upstream_in_external_id_order():
    with StoreIndex.build(
        [store_product(f"p{n}", f"dummyjson:{n}", f"h{n}") for n in (3, 1, 2)], prefix="dummyjson:"
    ) as index:
        assert index.seen_upstream("dummyjson:2").id == "p2"
        assert index.seen_upstream("dummyjson:99") is None  # a create: nothing to mark
        assert [p.id for p in index.missing_upstream()] == ["p1", "p3"]


def test_an_external_id_on_two_products_is_reported_not_merged():
    with StoreIndex.build(
        [store_product("p1", "dummyjson:1", "a"), store_product("p2", "dummyjson:1", "a-1")],
        prefix="dummyjson:",
    ) as index:
        assert index.get("dummyjson:1").id == "p1"
        assert index.duplicated == {"dummyjson:1": ["p1", "p2"]}
        assert index.owned == 1


def test_handles_allocated_this_run_are_taken_in_the_index():
    with StoreIndex.build([store_product("p1", None, "lamp")], prefix="dummyjson:") as index:
        allocator = HandleAllocator(index.handles)
        assert allocator.allocate("Lamp", fallback="product-1") == "lamp-1"
        assert allocator.allocate("Lamp", fallback="product-2") == "lamp-2"
        assert {"lamp", "lamp-1", "lamp-2"} <= set(index.handles)


def test_the_index_file_is_removed_on_close_even_when_building_fails():
    index = StoreIndex.build([store_product("p1", "dummyjson:1", "a")], prefix="dummyjson:")
    folder = index._scratch.dir
    assert folder.is_dir()
    index.close()
    assert not folder.exists()

    def broken_listing():
        yield store_product("p1", "dummyjson:1", "a")
        raise ConnectionError("store listing broke off")

    before = set(folder.parent.glob("medusa-sync-*"))
    with pytest.raises(ConnectionError):
        StoreIndex.build(broken_listing(), prefix="dummyjson:")
    assert set(folder.parent.glob("medusa-sync-*")) == before


def test_a_store_full_of_repeated_external_ids_counts_them_all_and_lists_the_first():
    from medusa_sync.core.report import MAX_LISTED

    twice = [
        store_product(f"p{n}-{copy}", f"dummyjson:{n}", f"h-{n}-{copy}")
        for n in range(MAX_LISTED + 10)
        for copy in (1, 2)
    ]
    with StoreIndex.build(twice, prefix="dummyjson:") as index:
        assert index.duplicates == MAX_LISTED + 10
        assert len(index.duplicated) == MAX_LISTED
        assert index.duplicated["dummyjson:0"] == ["p0-1", "p0-2"]
        assert index.owned == MAX_LISTED + 10
