"""Prices follow the currency's minor unit (ISO 4217)."""

from decimal import Decimal

import pytest

from medusa_sync.currency import UnknownCurrency, currency_decimals, excess_decimals
from medusa_sync.models import SourceProduct


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
