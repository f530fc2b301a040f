from medusa_sync.core.diff import StoreProduct, classify
from medusa_sync.core.mapping import HASH_KEY
from tests.fixtures.store_records import store_product


def desired(h):
    return {"metadata": {HASH_KEY: h}}


def test_new_changed_and_unchanged_products_are_told_apart():
    existing = StoreProduct.from_api(store_product("p1", "dummyjson:1", "a", "h1"))
    assert classify(desired("h1"), None, full_refresh=False) == "create"
    assert classify(desired("h1"), existing, full_refresh=False) == "unchanged"
    assert classify(desired("h2"), existing, full_refresh=False) == "update"
    assert classify(desired("h1"), existing, full_refresh=True) == "update"
