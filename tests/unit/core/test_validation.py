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
