"""Prices follow the currency's minor unit (ISO 4217)."""

from decimal import Decimal

import pytest

from medusa_sync.core.currency import UnknownCurrency, currency_decimals, excess_decimals
from medusa_sync.core.models import SourceProduct
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
CANNOT_BE_PRICES = [
    (1e26, "price 1e+26 is too large: Medusa totals USD exactly only up to 90071992547409.91"),
    ("1e30", "price 1e30 is too large: Medusa totals USD exactly only up to 90071992547409.91"),
    (float("nan"), "price nan is not a finite number"),
    ("NaN", "price 'NaN' is not a finite number"),
    (float("inf"), "price inf is not a finite number"),
    ("Infinity", "price 'Infinity' is not a finite number"),
    (-5, "price -5 is negative"),
    (9.999, "price 9.999 has more decimals than USD allows (2)"),
    ("1e-30", "price 1e-30 has more decimals than USD allows (2)"),
]


@pytest.mark.parametrize(("price", "reason"), CANNOT_BE_PRICES, ids=[repr(p) for p, _ in CANNOT_BE_PRICES])
def test_a_number_that_cannot_be_a_price_is_quarantined_with_its_reason(record, price, reason):
    valid, quarantined = Validator().validate([{**record, "price": price}, {**record, "id": 2, "sku": "B"}])
    assert [p.id for p in valid] == [2]
    assert [(q.source_id, q.reason) for q in quarantined] == [("1", f"price: Value error, {reason}")]


def test_the_largest_exact_price_is_accepted_and_kept_to_the_cent(record):
    assert SourceProduct.parse({**record, "price": "90071992547409.91"}).price == 90071992547409.91
    assert SourceProduct.parse({**record, "price": 0}).price == 0


def test_excess_decimals_never_needs_the_decimal_context():
    assert not excess_decimals(Decimal("1E+26"), 2)
    assert excess_decimals(Decimal("123456789012345678901234567890.123"), 2)
    assert not excess_decimals(Decimal("0.00"), 0)
