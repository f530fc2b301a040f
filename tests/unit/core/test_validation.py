import pytest

from medusa_sync.core.validation import Validator


def reasons(quarantined):
    return [q.reason for q in quarantined]


def test_the_real_catalog_is_entirely_valid(real_catalog):
    valid, quarantined = Validator().validate(real_catalog)
    assert len(valid) == 194
    assert quarantined == []


def test_prices_keep_their_exact_major_units(record):
    valid, _ = Validator().validate([record])
    assert valid[0].price == 9.99


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"title": ""}, "title"),
        ({"title": "x" * 10_000}, "title"),
        ({"price": "abc"}, "price"),
        ({"price": -1}, "price"),
        ({"price": float("nan")}, "price"),
        ({"price": 1.234}, "price"),
        ({"category": None}, "category"),
    ],
)
def test_a_bad_record_is_quarantined_with_a_reason_naming_the_field(record, change, field):
    valid, quarantined = Validator().validate([{**record, **change}])
    assert valid == []
    assert len(quarantined) == 1
    assert quarantined[0].reason.startswith(f"{field}:"), quarantined[0].reason


def test_the_same_id_twice_in_one_fetch_keeps_the_first(record):
    validator = Validator()
    first, _ = validator.validate([record])
    again, quarantined = validator.validate([{**record, "title": "Other"}])
    assert [p.title for p in first] == ["Essence Mascara Lash Princess"]
    assert again == []
    assert quarantined[0].source_id == "1"
    assert "more than once" in quarantined[0].reason


def test_null_lists_and_unknown_fields_are_tolerated(record):
    valid, quarantined = Validator().validate([{**record, "tags": None, "images": None, "surprise": 1}])
    assert quarantined == []
    assert valid[0].tags == [] and valid[0].images == []


def test_a_numeric_string_id_is_accepted(record):
    valid, _ = Validator().validate([{**record, "id": "42"}])
    assert valid[0].id == 42


@pytest.mark.parametrize(
    ("change", "field"),
    [({"images": ["ftp://x.test/a.png"]}, "images"), ({"thumbnail": "javascript:alert(1)"}, "thumbnail")],
)
def test_image_urls_must_be_http(record, change, field):
    _, quarantined = Validator().validate([{**record, **change}])
    assert quarantined[0].reason.startswith(f"{field}:"), quarantined[0].reason


@pytest.mark.parametrize("field", ["sku", "barcode"])
def test_a_sku_or_barcode_on_two_products_keeps_the_first_and_reports_the_second(record, field):
    second = {**record, "id": 2, "sku": "OTHER", "meta": {"barcode": "999"}}
    second["sku" if field == "sku" else "meta"] = record["sku"] if field == "sku" else record["meta"]
    valid, quarantined = Validator().validate([record, second])
    assert [p.id for p in valid] == [1]
    assert quarantined[0].source_id == "2"
    assert quarantined[0].reason.startswith(f"{field}:") and "source id 1" in quarantined[0].reason


def test_html_in_the_description_is_kept_as_text(record):
    valid, _ = Validator().validate([{**record, "description": "<b>bold</b> & <script>x</script>"}])
    assert valid[0].description == "<b>bold</b> & <script>x</script>"


def test_every_variants_sku_counts_across_the_fetch_and_a_clash_names_the_variant_and_sku(
    record, variant_record
):
    validator = Validator()
    first = variant_record(7)
    clash = variant_record(8)
    clash["variants"][2]["sku"] = "TEE-7-S-Blue"  # variant 2 of product 7
    plain = {**record, "id": 9, "sku": "TEE-7-M-Blue", "meta": {"barcode": "12345"}}
    valid, quarantined = validator.validate([first])
    later, refused = validator.validate([clash, plain, variant_record(10)])  # a later page
    assert [p.id for p in [*valid, *later]] == [7, 10]
    assert [(q.source_id, q.reason) for q in [*quarantined, *refused]] == [
        ("8", "variants.2.sku (source variant 803): 'TEE-7-S-Blue' is already used by source id 7"),
        ("9", "sku: 'TEE-7-M-Blue' is already used by source id 7"),
    ]


def test_a_variants_barcode_clashes_with_a_products_on_the_same_page(record, variant_record):
    shirt = variant_record(7)
    shirt["variants"][3]["barcode"] = record["meta"]["barcode"]
    valid, quarantined = Validator().validate([record, shirt])
    assert [p.id for p in valid] == [1]
    assert [(q.source_id, q.reason) for q in quarantined] == [
        ("7", "variants.3.barcode (source variant 704): '5784719087687' is already used by source id 1")
    ]


def test_a_variant_whose_stock_medusa_cannot_hold_is_quarantined_and_its_product_still_syncs(
    variant_record,
):
    records = [variant_record(7, stocks=(3, -2, "many", None))]
    valid, quarantined = Validator(check_stock=True).validate(records)
    assert [p.id for p in valid] == [7]
    assert [v.stock for v in valid[0].variants] == [3, None, None, None]
    assert [(q.source_id, q.reason) for q in quarantined] == [
        ("7", "variants.1.stock: -2 is negative (source variant 702)"),
        ("7", "variants.2.stock: 'many' is not an integer (source variant 703)"),
    ]
    assert Validator(check_stock=False).validate(records)[1] == []  # stock not synced: no reason
