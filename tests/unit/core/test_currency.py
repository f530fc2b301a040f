"""Prices follow the currency's minor unit (ISO 4217)."""

import json
from decimal import Decimal

import pytest

from medusa_sync.core.currency import UnknownCurrency, currency_decimals, excess_decimals, max_amount
from medusa_sync.core.models import SourceProduct
from medusa_sync.core.number_rules import load_source_json
from medusa_sync.core.validation import Validator


@pytest.mark.parametrize(("code", "decimals"), [("jpy", 0), ("JPY", 0), ("usd", 2), ("eur", 2), ("kwd", 3)])
def test_each_currency_has_its_decimals(code, decimals):
    assert currency_decimals(code) == decimals


def test_an_unknown_currency_names_the_param():
    with pytest.raises(
        UnknownCurrency, match="param 'currency_code' must be an ISO 4217 currency code, got 'xyz'"
    ):
        currency_decimals("xyz")


def test_trailing_zeros_are_not_excess_decimals():
    assert not excess_decimals(Decimal("12.50"), 1)
    assert not excess_decimals(Decimal("12.0"), 0)
    assert excess_decimals(Decimal("12.5"), 0)
    assert excess_decimals(Decimal("1.2345"), 3)


@pytest.mark.parametrize(
    ("currency", "decimals", "price", "ok"),
    [
        ("jpy", 0, 12, True),
        ("jpy", 0, 12.5, False),
        ("usd", 2, 9.99, True),
        ("usd", 2, 1.999, False),
        ("kwd", 3, 1.234, True),
        ("kwd", 3, 1.2345, False),
    ],
)
def test_a_source_price_must_fit_the_currency(record, currency, decimals, price, ok):
    record["price"] = price
    if ok:
        assert SourceProduct.parse(record, currency=currency, decimals=decimals).price == price
    else:
        with pytest.raises(
            ValueError, match=f"has more decimals than {currency.upper()} allows \\({decimals}\\)"
        ):
            SourceProduct.parse(record, currency=currency, decimals=decimals)


# Numbers that cannot be prices, each as a JSON source could send it; every one must be a
# quarantine entry with its reason, never an exception that fails the fetch on every retry.
CAP = "9999999999999.99, the largest USD price Medusa holds exactly (15 significant digits)"
CANNOT_BE_PRICES = [
    (1e26, f"1e+26 is larger than {CAP}"),
    ("1e30", f"'1e30' is larger than {CAP}"),
    (Decimal("78069713967633.85"), f"78069713967633.85 is larger than {CAP}"),
    ("10000000000000", f"'10000000000000' is larger than {CAP}"),
    (float("nan"), "nan is not a finite number"),
    ("NaN", "'NaN' is not a finite number"),
    (float("inf"), "inf is not a finite number"),
    ("Infinity", "'Infinity' is not a finite number"),
    (-5, "-5 is negative"),
    (True, "True is not a number"),
    ("abc", "'abc' is not a number"),
    (9.999, "9.999 has more decimals than USD allows (2)"),
    ("1e-30", "'1e-30' has more decimals than USD allows (2)"),
]


@pytest.mark.parametrize(("price", "reason"), CANNOT_BE_PRICES, ids=[repr(p) for p, _ in CANNOT_BE_PRICES])
def test_a_number_that_cannot_be_a_price_is_quarantined_with_its_reason(record, price, reason):
    valid, quarantined = Validator().validate([{**record, "price": price}, {**record, "id": 2, "sku": "B"}])
    assert [p.id for p in valid] == [2]
    assert [(q.source_id, q.reason) for q in quarantined] == [("1", f"price: Value error, {reason}")]


def sent_amount(record: dict, price: str, currency: str = "usd", decimals: int = 2) -> Decimal:
    """The price as the batch file carries it to Medusa: the JSON text of the kept record's price,
    read back exactly (JavaScript reads the same text as the same double)."""
    source = load_source_json(json.dumps({**record, "price": "PRICE"}).replace('"PRICE"', price))
    kept = SourceProduct.parse(source, currency=currency, decimals=decimals).kept()
    return Decimal(json.dumps(kept["price"]))


@pytest.mark.parametrize(
    ("price", "currency", "decimals"),
    [
        ("9999999999999.99", "usd", 2),
        ("1234567890123.45", "usd", 2),
        ("0.01", "usd", 2),
        ("0", "usd", 2),
        ("999999999999999", "jpy", 0),
        ("999999999999.999", "kwd", 3),
    ],
)
def test_the_largest_prices_reach_the_batch_file_to_the_cent(record, price, currency, decimals):
    assert sent_amount(record, price, currency, decimals) == Decimal(price)


def test_a_16_digit_price_is_quarantined_by_the_cap_not_sent_without_its_cents(record):
    # As a float it would be 78069713967633.84: the cap refuses it, naming the field and the limit.
    source = load_source_json(json.dumps({**record, "price": "P"}).replace('"P"', "78069713967633.85"))
    _, quarantined = Validator().validate([source])
    assert [q.reason for q in quarantined] == [f"price: Value error, 78069713967633.85 is larger than {CAP}"]


@pytest.mark.parametrize(
    ("decimals", "limit"), [(0, "999999999999999"), (2, "9999999999999.99"), (3, "999999999999.999")]
)
def test_every_price_under_the_cap_has_at_most_15_significant_digits(decimals, limit):
    assert max_amount(decimals) == Decimal(limit)
    assert len(max_amount(decimals).as_tuple().digits) == 15
    # 15 significant digits always survive a double: the largest, and a dense sample below it.
    step = Decimal(1).scaleb(-decimals)
    for minor in (1, 7, 10**15 - 1, 10**15 - 2, 123456789012345, 900719925474099):
        amount = minor * step
        assert Decimal(repr(float(amount))) == amount


def test_excess_decimals_never_needs_the_decimal_context():
    assert not excess_decimals(Decimal("1E+26"), 2)
    assert excess_decimals(Decimal("123456789012345678901234567890.123"), 2)
    assert not excess_decimals(Decimal("0.00"), 0)
