"""Source adapters: what a feed's records become, and which adapter a setting names."""

from __future__ import annotations

import pytest

from medusa_sync.core.source_formats import (
    DummyJsonAdapter,
    RecordError,
    ShopifyAdapter,
    SourceFormatError,
    convert_records,
    resolve_adapter,
)
from medusa_sync.core.validation import Validator
from tests.stack.catalog_generator import generate_shopify_catalog

SHOPIFY = ShopifyAdapter()


def shirt(**changes: object) -> dict:
    """A Shopify product with sizes and colours, as products.json sends it."""
    product = {
        "id": 632910392,
        "title": "Field Shirt",
        "handle": "field-shirt",
        "body_html": "<p>Linen.</p>",
        "vendor": "Fernhill",
        "product_type": "Shirts",
        "tags": ["linen", "summer"],
        "options": [
            {"name": "Size", "position": 1, "values": ["S", "M"]},
            {"name": "Color", "position": 2, "values": ["Sand", "Navy"]},
        ],
        "variants": [
            {
                "id": 808950810,
                "title": "S / Sand",
                "option1": "S",
                "option2": "Sand",
                "option3": None,
                "sku": "FS-S-SAND",
                "barcode": "4000000000011",
                "price": "49.90",
                "grams": 220,
                "available": True,
                "inventory_quantity": 7,
                "featured_image": {"id": 11, "src": "https://cdn.example.test/sand.jpg"},
            },
            {
                "id": 808950811,
                "title": "M / Navy",
                "option1": "M",
                "option2": "Navy",
                "option3": None,
                "sku": "FS-M-NAVY",
                "barcode": "",
                "price": "52.00",
                "grams": 240,
                "available": False,
                "image_id": 12,
            },
        ],
        "images": [
            {"id": 10, "src": "https://cdn.example.test/main.jpg", "variant_ids": []},
            {"id": 11, "src": "https://cdn.example.test/sand.jpg", "variant_ids": [808950810]},
            {"id": 12, "src": "https://cdn.example.test/navy.jpg", "variant_ids": []},
        ],
    }
    return {**product, **changes}


def test_a_shopify_product_with_sizes_and_colours_becomes_a_product_with_variants():
    canonical = SHOPIFY.to_canonical(shirt())
    valid, quarantined = Validator(category_optional=True).validate([canonical])
    assert quarantined == []
    [product] = valid
    assert (product.id, product.title, product.description) == (632910392, "Field Shirt", "<p>Linen.</p>")
    assert (product.brand, product.category, product.tags) == ("Fernhill", "Shirts", ["linen", "summer"])
    assert [(o.title, o.values) for o in product.options] == [
        ("Size", ["S", "M"]),
        ("Color", ["Sand", "Navy"]),
    ]
    assert product.images == [
        "https://cdn.example.test/main.jpg",
        "https://cdn.example.test/sand.jpg",
        "https://cdn.example.test/navy.jpg",
    ]
    assert product.thumbnail == "https://cdn.example.test/main.jpg"
    first, second = product.variants
    assert (first.id, first.title, first.options) == (808950810, "S / Sand", {"Size": "S", "Color": "Sand"})
    assert (first.sku, first.barcode, first.price, first.weight, first.stock) == (
        "FS-S-SAND",
        "4000000000011",
        49.9,
        220.0,
        7,
    )
    assert first.image == "https://cdn.example.test/sand.jpg"  # its featured_image
    # No inventory_quantity (the public feed): no stock; a blank barcode is none; image by image_id.
    assert (second.stock, second.barcode, second.price) == (None, None, 52.0)
    assert second.image == "https://cdn.example.test/navy.jpg"


def test_a_variant_image_also_comes_from_the_images_variant_ids():
    product = shirt()
    product["variants"][0]["featured_image"] = None
    assert SHOPIFY.to_canonical(product)["variants"][0]["image"] == "https://cdn.example.test/sand.jpg"


def test_a_product_whose_only_option_is_default_title_is_a_product_without_variants():
    single = shirt(
        options=[{"name": "Title", "position": 1, "values": ["Default Title"]}],
        variants=[
            {
                "id": 1,
                "title": "Default Title",
                "option1": "Default Title",
                "sku": "MUG-1",
                "barcode": "123",
                "price": "12.50",
                "grams": 350,
                "inventory_quantity": 4,
            }
        ],
    )
    canonical = SHOPIFY.to_canonical(single)
    [product], quarantined = Validator(category_optional=True).validate([canonical])
    assert quarantined == []
    assert not product.has_variants and "variants" not in product.kept()
    assert (product.price, product.sku, product.barcode, product.stock, product.weight) == (
        12.5,
        "MUG-1",
        "123",
        4,
        350.0,
    )


def test_tags_may_be_the_admin_apis_comma_separated_string_and_a_product_may_have_no_type():
    canonical = SHOPIFY.to_canonical(shirt(tags="linen, summer ,, sale", product_type="  "))
    assert canonical["tags"] == ["linen", "summer", "sale"]
    assert canonical["category"] is None
    [product], _ = Validator(category_optional=True).validate([canonical])
    assert product.category is None


def test_without_the_adapters_say_a_missing_category_is_still_quarantined_as_before(record):
    _, quarantined = Validator().validate([{**record, "category": None}])
    assert [q.reason for q in quarantined] == ["category: Input should be a valid string"]
    _, quarantined = Validator().validate([{k: v for k, v in record.items() if k != "category"}])
    assert [q.reason for q in quarantined] == ["category: Field required"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"variants": []}, "variants: missing (a Shopify product has at least one variant)"),
        ({"tags": 5}, "tags: neither a list of strings nor a comma-separated string"),
        ({"images": [{"id": 1}]}, "images: an image has no 'src'"),
        ({"options": [{"values": ["S"]}]}, "options.0.name: missing"),
    ],
)
def test_a_record_the_adapter_cannot_convert_is_quarantined_naming_the_field(change, reason):
    converted, rejected = convert_records(SHOPIFY, [shirt(), shirt(id=7, **change), "not an object"])
    assert [p["id"] for p in converted] == [632910392]
    assert [(q.source_id, q.reason) for q in rejected] == [("7", reason), (None, "record: not a JSON object")]


def test_a_variant_without_a_value_of_an_option_names_the_variant_and_option():
    product = shirt()
    product["variants"][1]["option2"] = None
    with pytest.raises(
        RecordError, match=r"variants\.1\.option2: missing \(the product has option 'Color'\)"
    ):
        SHOPIFY.to_canonical(product)


def test_the_generated_shopify_catalog_converts_and_validates_whole():
    catalog = generate_shopify_catalog(60)
    converted, rejected = convert_records(SHOPIFY, catalog)
    valid, quarantined = Validator(category_optional=True).validate(converted)
    assert (rejected, quarantined, len(valid)) == ([], [], 60)
    assert len(valid[2].variants) == 100  # the product with 10 sizes x 10 colours
    assert any(not p.has_variants for p in valid) and any(p.category is None for p in valid)


def test_dummyjson_records_pass_as_they_are(record):
    assert DummyJsonAdapter().to_canonical(record) is record
    assert DummyJsonAdapter().product_path("12") == "/products/12"
    assert SHOPIFY.product_path("12") == "/products/12.json"


@pytest.mark.parametrize(
    ("value", "adapter"),
    [("", DummyJsonAdapter), ("dummyjson", DummyJsonAdapter), ("Shopify", ShopifyAdapter)],
)
def test_a_built_in_format_is_named(value, adapter):
    assert type(resolve_adapter(value)) is adapter


def test_a_class_path_loads_a_users_adapter():
    assert type(resolve_adapter("medusa_sync.core.source_formats:ShopifyAdapter")) is ShopifyAdapter
    assert type(resolve_adapter("medusa_sync.core.source_formats.ShopifyAdapter")) is ShopifyAdapter


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("woocommerce", "'woocommerce' is not a known source format: use one of dummyjson, shopify"),
        ("no_such_pkg.feeds:Adapter", "cannot be loaded (ModuleNotFoundError"),
        ("medusa_sync.core.source_formats:Nope", "cannot be loaded (AttributeError"),
        ("medusa_sync.core.source_formats:RecordError", "is not a SourceAdapter subclass"),
    ],
)
def test_a_bad_format_names_the_value_and_the_choices(value, says):
    with pytest.raises(SourceFormatError, match=r".*") as raised:
        resolve_adapter(value)
    assert says in str(raised.value)
