from medusa_sync.core.mapping import HASH_KEY, MappingContext, as_create, as_update, desired_product
from medusa_sync.core.models import SourceProduct

CTX = MappingContext(
    currency_code="usd",
    status="published",
    sales_channel_id="sc_1",
    category_ids={"beauty": "pcat_beauty"},
    tag_ids={"beauty": "ptag_beauty", "mascara": "ptag_mascara"},
)


def desired(record, ctx=CTX):
    return desired_product(SourceProduct.parse(record).kept(), ctx)


def test_price_is_sent_in_major_units(record):
    variant = desired(record)["variants"][0]
    assert variant["prices"] == [{"amount": 9.99, "currency_code": "usd"}]


def test_identity_category_tags_and_channel_are_linked_by_id(record):
    payload = desired(record)
    assert payload["external_id"] == "dummyjson:1"
    assert payload["categories"] == [{"id": "pcat_beauty"}]
    assert payload["tags"] == [{"id": "ptag_beauty"}, {"id": "ptag_mascara"}]
    assert payload["sales_channels"] == [{"id": "sc_1"}]
    assert payload["status"] == "published"


def test_variant_carries_sku_barcode_and_measurements(record):
    variant = desired(record)["variants"][0]
    assert variant["sku"] == "BEA-ESS-ESS-001"
    assert variant["barcode"] == "5784719087687"
    assert variant["manage_inventory"] is False
    assert (variant["weight"], variant["width"], variant["height"], variant["length"]) == (
        4,
        15.14,
        13.08,
        22.99,
    )


def test_images_keep_their_order_and_metadata_keeps_source_facts(record):
    payload = desired(record)
    assert [i["url"] for i in payload["images"]] == record["images"]
    assert payload["metadata"]["brand"] == "Essence"
    assert payload["metadata"]["minimumOrderQuantity"] == 48
    assert "reviews" not in payload["metadata"]


def test_a_missing_brand_is_left_out_of_metadata(record):
    del record["brand"]
    assert "brand" not in desired(record)["metadata"]


def test_the_hash_of_a_record_stays_what_the_stores_hold(record):
    # Every synced product carries this hash: a change in how it is computed (not a change of
    # MAPPING_VERSION, which is meant to) would rewrite every product of every store once.
    assert desired(record)["metadata"][HASH_KEY] == "3544bb2816ea83090b7dba411cfde9a8"


def test_the_hash_changes_with_content_and_not_with_key_order(record):
    base = desired(record)["metadata"][HASH_KEY]
    assert desired(dict(reversed(list(record.items()))))["metadata"][HASH_KEY] == base
    assert desired({**record, "price": 10.99})["metadata"][HASH_KEY] != base
    assert desired(record, MappingContext(currency_code="eur"))["metadata"][HASH_KEY] != base


def test_create_sets_the_handle_and_one_default_option(record):
    payload = as_create(desired(record), "essence-mascara-lash-princess")
    assert payload["handle"] == "essence-mascara-lash-princess"
    assert payload["options"] == [{"title": "Default option", "values": ["Default"]}]
    assert payload["variants"][0]["options"] == {"Default option": "Default"}


def test_update_never_sends_options_or_handle_and_pins_the_variant(record):
    update = as_update(as_create(desired(record), "h"), "prod_1", "variant_1")
    assert "options" not in update and "handle" not in update
    assert update["id"] == "prod_1"
    assert update["variants"][0]["id"] == "variant_1"
    assert "options" not in update["variants"][0]
    assert update["images"] and update["categories"] and update["tags"]


def test_an_update_clears_what_the_source_no_longer_has(record):
    del record["brand"]
    del record["sku"]
    record["thumbnail"] = None
    record["dimensions"] = None
    update = as_update(desired(record), "prod_1", "variant_1")
    assert update["metadata"]["brand"] == ""  # Medusa deletes a metadata key sent as ""
    assert update["thumbnail"] is None
    assert update["variants"][0]["sku"] is None
    assert update["variants"][0]["width"] is None and update["length"] is None
    assert update["metadata"]["rating"] == 2.56


def test_drafting_a_vanished_product_forgets_its_hash_so_a_return_rewrites_it(record):
    from medusa_sync.core.diff import StoreProduct, classify
    from medusa_sync.core.mapping import draft_update, is_draft_update

    update = draft_update("prod_1")
    assert is_draft_update(update)
    assert update["metadata"] == {HASH_KEY: ""}  # "" makes Medusa delete the key
    drafted = StoreProduct(
        id="prod_1", external_id="dummyjson:1", handle="h", variant_id="v", sync_hash=None, status="draft"
    )
    assert classify(desired(record), drafted, full_refresh=False) == "update"


def test_with_inventory_the_stock_is_kept_out_of_the_product_so_a_stock_change_leaves_its_hash(record):
    inventory = MappingContext(**{**CTX.__dict__, "manage_inventory": True})
    payload = desired(record, inventory)
    assert payload["variants"][0]["manage_inventory"] is True
    assert "stock" not in payload["metadata"]
    restocked = desired({**record, "stock": record["stock"] + 50}, inventory)
    assert restocked["metadata"][HASH_KEY] == payload["metadata"][HASH_KEY]
    # Without inventory the stock is a product fact, as before.
    assert desired({**record, "stock": 1})["metadata"][HASH_KEY] != desired(record)["metadata"][HASH_KEY]


def test_an_update_never_turns_inventory_management_off(record):
    off = as_update(desired(record), "prod_1", "variant_1")
    assert "manage_inventory" not in off["variants"][0]  # false would unlink the inventory item
    assert off["metadata"]["stock"] == record["stock"]
    inventory = MappingContext(**{**CTX.__dict__, "manage_inventory": True})
    on = as_update(desired(record, inventory), "prod_1", "variant_1")
    assert on["variants"][0]["manage_inventory"] is True
    assert on["metadata"]["stock"] == ""  # a stock left in metadata by an earlier run is removed


def test_the_shipping_profile_goes_with_creates_and_updates_but_not_into_the_hash(record):
    payload = desired(record)
    create = as_create(payload, "h", shipping_profile_id="sp_1")
    update = as_update(payload, "prod_1", "variant_1", shipping_profile_id="sp_1")
    assert create["shipping_profile_id"] == update["shipping_profile_id"] == "sp_1"
    other = desired(record, MappingContext(**{**CTX.__dict__, "shipping_profile_id": "sp_2"}))
    assert other["metadata"][HASH_KEY] == payload["metadata"][HASH_KEY]
    assert "shipping_profile_id" not in as_create(payload, "h")


def test_the_syncs_categories_and_tags_are_recorded_in_metadata_outside_the_hash(record):
    metadata = desired(record)["metadata"]
    assert metadata["sync_category_ids"] == "pcat_beauty"
    assert metadata["sync_tag_ids"] == "ptag_beauty,ptag_mascara"
    untagged = desired(record, MappingContext(**{**CTX.__dict__, "tag_ids": {}}))["metadata"]
    assert untagged["sync_tag_ids"] == ""  # an update sends "", which removes the key


def test_a_new_products_images_and_thumbnail_are_recorded_outside_the_hash(record):
    from medusa_sync.core.ownership import url_key

    metadata = as_create(desired(record), "h")["metadata"]
    assert metadata["sync_images"] == ",".join(url_key(url) for url in record["images"])
    assert metadata["sync_thumbnail"] == url_key(record["thumbnail"])
    # Medusa makes the first image a new product's thumbnail when it has none: the sync's too.
    bare = as_create(desired({**record, "thumbnail": None}), "h")["metadata"]
    assert bare["sync_thumbnail"] == url_key(record["images"][0])
    # The records are not content: the hash is the one every store already holds (see above),
    # so a store synced before they existed is not rewritten.
    assert metadata[HASH_KEY] == "3544bb2816ea83090b7dba411cfde9a8"
