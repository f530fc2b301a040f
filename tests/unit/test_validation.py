import pytest

from medusa_sync.validation import Validator


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
