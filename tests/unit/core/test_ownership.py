"""The merge of a planned update with the product the store holds: the sync's members replace its
own (what this product records as the sync's), everything else the store holds is sent back."""

from medusa_sync.core.ownership import merge_prices, merge_update, url_key

SOURCE_IMAGE = "https://cdn.example/mascara/1.webp"
SOURCE_THUMB = "https://cdn.example/mascara/thumbnail.webp"


def held(**extra):
    """A synced product after a merchant's hand edits, as read with ``MERGE_FIELDS``."""
    return {
        "id": "prod_1",
        "metadata": {"sync_category_ids": "pcat_beauty", "sync_tag_ids": "ptag_beauty,ptag_mascara"},
        "categories": [{"id": "pcat_beauty"}, {"id": "pcat_summer_sale"}],
        "tags": [{"id": "ptag_beauty"}, {"id": "ptag_mascara"}, {"id": "ptag_staff_pick"}],
        "sales_channels": [{"id": "sc_web"}, {"id": "sc_pos"}],
        "variants": [
            {
                "id": "variant_1",
                "options": [{"value": "Default"}],
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
    return merge_update(update, current)


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
        "metadata": {"sync_hash": "h2", "sync_variant_id": "variant_1"},
    }
    assert merged["variants"][0]["sku"] == "M-1"
    assert "handle" not in merged
    assert "images" not in merged and "thumbnail" not in merged


def test_the_shipping_profile_is_given_only_to_a_product_without_one():
    update = planned(shipping_profile_id="sp_default")
    assert merge(update, held())["shipping_profile_id"] == "sp_default"
    assert "shipping_profile_id" not in merge(update, held(shipping_profile={"id": "sp_merchant"}))


def test_the_merge_does_not_change_the_planned_item():
    update = planned(shipping_profile_id="sp_default")
    before = repr(update)
    merge(update, held(shipping_profile={"id": "sp_merchant"}))
    assert repr(update) == before


def test_a_category_or_tag_the_sync_created_for_other_products_stays_when_a_merchant_added_it():
    # The merchant cross-lists the product into "fragrances" and tags it "perfume": both exist
    # because the sync created them for other source products, but this product never had them
    # from the sync, so they are the merchant's here.
    current = held(
        categories=[{"id": "pcat_beauty"}, {"id": "pcat_fragrances"}],
        tags=[{"id": "ptag_beauty"}, {"id": "ptag_perfume"}],
    )
    update = planned(categories=[{"id": "pcat_skin_care"}], tags=[{"id": "ptag_mascara"}])
    merged = merge(update, current)
    assert merged["categories"] == [{"id": "pcat_skin_care"}, {"id": "pcat_fragrances"}]
    assert merged["tags"] == [{"id": "ptag_mascara"}, {"id": "ptag_perfume"}]


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


# --- variants ----------------------------------------------------------------------------------


def large(**extra):
    """A variant a merchant added by hand, with its own price."""
    return {
        "id": "variant_large",
        "options": [{"value": "Large"}],
        "prices": [{"id": "price_large", "amount": 15, "currency_code": "usd"}],
        **extra,
    }


def test_a_merchants_variant_is_sent_back_by_id_alone_so_it_and_its_price_stay():
    current = held()
    current["variants"] = [large(), *current["variants"]]
    merged = merge(planned(), current)
    assert [v["id"] for v in merged["variants"]] == ["variant_1", "variant_large"]
    assert merged["variants"][1] == {"id": "variant_large"}
    assert merged["variants"][0]["sku"] == "M-1"
    assert merged["variants"][0]["prices"][0] == {"id": "price_usd", "amount": 12.5, "currency_code": "usd"}
    assert merged["metadata"]["sync_variant_id"] == "variant_1"


def test_the_recorded_variant_is_the_syncs_even_when_the_plan_guessed_another():
    current = held(metadata={"sync_variant_id": "variant_1"})
    current["variants"] = [large(), {**current["variants"][0], "options": [{"value": "Renamed"}]}]
    merged = merge(planned(variants=[{"id": "variant_large", "sku": "M-1"}]), current)
    assert merged["variants"] == [{"id": "variant_1", "sku": "M-1"}, {"id": "variant_large"}]


def test_without_a_variant_of_its_own_the_sync_adds_one_and_touches_none_of_the_merchants():
    current = held(variants=[large()])
    merged = merge(planned(), current)
    assert merged["variants"] == [
        {
            "sku": "M-1",
            "prices": [{"amount": 12.5, "currency_code": "usd"}],
            "options": {"Default option": "Default"},
        },
        {"id": "variant_large"},
    ]
    assert merged["metadata"]["sync_variant_id"] == ""


# --- images and thumbnail ------------------------------------------------------------------------


def imaged(images, thumbnail=SOURCE_THUMB, **metadata):
    return held(
        thumbnail=thumbnail,
        images=[{"id": f"img_{n}", "url": url, "rank": n} for n, url in enumerate(images)],
        metadata=metadata,
    )


def test_a_hand_added_image_stays_in_its_place_and_the_syncs_follow_the_source():
    current = imaged(
        ["https://shop.example/lifestyle.jpg", SOURCE_IMAGE, "https://cdn.example/mascara/2.webp"],
        sync_images=",".join(url_key(u) for u in (SOURCE_IMAGE, "https://cdn.example/mascara/2.webp")),
    )
    new = "https://cdn.example/mascara/3.webp"
    merged = merge(planned(images=[{"url": new}, {"url": SOURCE_IMAGE}]), current)
    assert merged["images"] == [
        {"id": "img_0", "url": "https://shop.example/lifestyle.jpg"},
        {"url": new},
        {"id": "img_1", "url": SOURCE_IMAGE},
    ]
    assert merged["metadata"]["sync_images"] == f"{url_key(new)},{url_key(SOURCE_IMAGE)}"


def test_images_are_taken_in_rank_order_whatever_order_the_store_lists_them_in():
    current = imaged([SOURCE_IMAGE, "https://shop.example/lifestyle.jpg"], sync_images=url_key(SOURCE_IMAGE))
    current["images"].reverse()
    merged = merge(planned(images=[{"url": SOURCE_IMAGE}]), current)
    assert merged["images"] == [
        {"id": "img_0", "url": SOURCE_IMAGE},
        {"id": "img_1", "url": "https://shop.example/lifestyle.jpg"},
    ]


def test_a_source_record_without_images_removes_only_the_syncs():
    current = imaged([SOURCE_IMAGE, "https://shop.example/lifestyle.jpg"], sync_images=url_key(SOURCE_IMAGE))
    merged = merge(planned(images=[]), current)
    assert merged["images"] == [{"id": "img_1", "url": "https://shop.example/lifestyle.jpg"}]
    assert merged["metadata"]["sync_images"] == ""


def test_without_an_image_record_the_images_the_source_gives_are_the_syncs_and_no_other_is_touched():
    # A product written by the release before the records: an old source image is left alone.
    old = "https://cdn.example/mascara/old.webp"
    current = imaged([SOURCE_IMAGE, old])
    merged = merge(planned(images=[{"url": SOURCE_IMAGE}, {"url": "https://cdn.example/n.webp"}]), current)
    assert merged["images"] == [
        {"id": "img_0", "url": SOURCE_IMAGE},
        {"url": "https://cdn.example/n.webp"},
        {"id": "img_1", "url": old},
    ]


def test_a_hand_set_thumbnail_stays_and_the_syncs_own_follows_the_source():
    recorded = {"sync_thumbnail": url_key(SOURCE_THUMB)}
    update = planned(thumbnail="https://cdn.example/mascara/new-thumb.webp")
    merged = merge(update, imaged([], thumbnail="https://shop.example/hand.jpg", **recorded))
    assert "thumbnail" not in merged
    assert merged["metadata"]["sync_thumbnail"] == ""
    merged = merge(update, imaged([], **recorded))
    assert merged["thumbnail"] == "https://cdn.example/mascara/new-thumb.webp"
    assert merged["metadata"]["sync_thumbnail"] == url_key("https://cdn.example/mascara/new-thumb.webp")
    assert merge(planned(thumbnail=None), imaged([], **recorded))["thumbnail"] is None
    assert merge(update, imaged([], thumbnail=None))["thumbnail"] == update["thumbnail"]


def test_without_a_thumbnail_record_only_the_sources_thumbnail_is_the_syncs():
    assert merge(planned(thumbnail=SOURCE_THUMB), imaged([]))["thumbnail"] == SOURCE_THUMB
    assert "thumbnail" not in merge(
        planned(thumbnail=None), imaged([], thumbnail="https://shop.example/h.jpg")
    )
