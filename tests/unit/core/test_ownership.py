"""The merge of a planned update with the product the store holds: the sync's members replace its
own, everything else the store holds is sent back."""

from medusa_sync.core.ownership import merge_prices, merge_update

OWNED_CATEGORIES = {"pcat_beauty", "pcat_fragrances"}
OWNED_TAGS = {"ptag_beauty", "ptag_mascara"}


def held(**extra):
    """A synced product after a merchant's hand edits, as read with ``MERGE_FIELDS``."""
    return {
        "id": "prod_1",
        "categories": [{"id": "pcat_beauty"}, {"id": "pcat_summer_sale"}],
        "tags": [{"id": "ptag_beauty"}, {"id": "ptag_mascara"}, {"id": "ptag_staff_pick"}],
        "sales_channels": [{"id": "sc_web"}, {"id": "sc_pos"}],
        "variants": [
            {
                "id": "variant_1",
                "prices": [
                    {"id": "price_usd", "amount": 9.99, "currency_code": "usd", "rules": {}},
                    {"id": "price_eur", "amount": 8.5, "currency_code": "eur", "rules": {}},
                    {
                        "id": "price_us_region",
                        "amount": 7.77,
                        "currency_code": "usd",
                        "rules": {"region_id": "reg_us"},
                    },
                    {"id": "price_bulk", "amount": 8, "currency_code": "usd", "min_quantity": 10},
                ],
            }
        ],
        **extra,
    }


def planned(**extra):
    return {
        "id": "prod_1",
        "title": "Mascara",
        "categories": [{"id": "pcat_fragrances"}],
        "tags": [{"id": "ptag_beauty"}],
        "sales_channels": [{"id": "sc_web"}],
        "variants": [{"id": "variant_1", "sku": "M-1", "prices": [{"amount": 12.5, "currency_code": "usd"}]}],
        "metadata": {"sync_hash": "h2"},
        **extra,
    }


def merge(update, current):
    return merge_update(update, current, owned_categories=OWNED_CATEGORIES, owned_tags=OWNED_TAGS)


def test_a_source_category_change_moves_the_product_and_keeps_the_merchants_category():
    assert merge(planned(), held())["categories"] == [{"id": "pcat_fragrances"}, {"id": "pcat_summer_sale"}]


def test_source_tags_follow_the_source_and_a_hand_added_tag_stays():
    assert merge(planned(), held())["tags"] == [{"id": "ptag_beauty"}, {"id": "ptag_staff_pick"}]


def test_other_sales_channels_stay_and_the_syncs_is_added():
    current = held(sales_channels=[{"id": "sc_pos"}])
    assert merge(planned(), current)["sales_channels"] == [{"id": "sc_web"}, {"id": "sc_pos"}]


def test_the_syncs_price_lands_on_its_row_and_every_other_price_is_sent_back():
    prices = merge(planned(), held())["variants"][0]["prices"]
    assert prices == [
        {"id": "price_usd", "amount": 12.5, "currency_code": "usd"},
        {"id": "price_eur", "amount": 8.5, "currency_code": "eur"},
        {"id": "price_us_region", "amount": 7.77, "currency_code": "usd", "rules": {"region_id": "reg_us"}},
        {"id": "price_bulk", "amount": 8, "currency_code": "usd", "min_quantity": 10},
    ]


def test_a_variant_without_a_price_in_the_currency_gets_a_new_one():
    assert merge_prices(
        [{"amount": 3, "currency_code": "usd"}], [{"id": "p", "amount": 2, "currency_code": "eur"}]
    ) == [
        {"amount": 3, "currency_code": "usd"},
        {"id": "p", "amount": 2, "currency_code": "eur"},
    ]


def test_the_rest_of_the_update_is_sent_as_planned():
    merged = merge(planned(), held())
    assert {k: merged[k] for k in ("id", "title", "metadata")} == {
        "id": "prod_1",
        "title": "Mascara",
        "metadata": {"sync_hash": "h2"},
    }
    assert merged["variants"][0]["sku"] == "M-1"
    assert "handle" not in merged


def test_the_shipping_profile_is_given_only_to_a_product_without_one():
    update = planned(shipping_profile_id="sp_default")
    assert merge(update, held())["shipping_profile_id"] == "sp_default"
    assert "shipping_profile_id" not in merge(update, held(shipping_profile={"id": "sp_merchant"}))


def test_the_merge_does_not_change_the_planned_item():
    update = planned(shipping_profile_id="sp_default")
    before = repr(update)
    merge(update, held(shipping_profile={"id": "sp_merchant"}))
    assert repr(update) == before


def test_a_category_or_tag_the_sync_last_wrote_is_taken_off_even_when_no_source_product_uses_it():
    current = held(
        categories=[{"id": "pcat_gone"}, {"id": "pcat_summer_sale"}],
        tags=[{"id": "ptag_gone"}, {"id": "ptag_staff_pick"}],
        metadata={"sync_category_ids": "pcat_gone", "sync_tag_ids": "ptag_gone", "note": "x"},
    )
    merged = merge(planned(), current)
    assert merged["categories"] == [{"id": "pcat_fragrances"}, {"id": "pcat_summer_sale"}]
    assert merged["tags"] == [{"id": "ptag_beauty"}, {"id": "ptag_staff_pick"}]


def test_a_second_plain_price_in_the_syncs_currency_is_kept_not_dropped():
    current = [
        {"id": "price_usd", "amount": 9.99, "currency_code": "usd"},
        {"id": "price_usd_2", "amount": 9.5, "currency_code": "usd"},
    ]
    assert merge_prices([{"amount": 12.5, "currency_code": "usd"}], current) == [
        {"id": "price_usd", "amount": 12.5, "currency_code": "usd"},
        {"id": "price_usd_2", "amount": 9.5, "currency_code": "usd"},
    ]
