"""How many decimals a currency's amounts have (ISO 4217: JPY 0, USD 2, KWD 3).

Medusa stores prices in major units, so a source price must fit the currency's minor unit exactly:
12.5 cannot be a yen price. The figures come from Babel's CLDR data, already installed with Airflow.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision, is_currency


class UnknownCurrency(ValueError):
    """A ``currency_code`` that is not an ISO 4217 code."""


def currency_decimals(code: str) -> int:
    """Digits after the decimal point for ``code`` (any case)."""
    upper = (code or "").strip().upper()
    if not is_currency(upper):
        raise UnknownCurrency(f"param 'currency_code' must be an ISO 4217 currency code, got {code!r}")
    return get_currency_precision(upper)


def excess_decimals(amount: Decimal, decimals: int) -> bool:
    """True when ``amount`` has more significant decimals than the currency allows (12.50 is fine)."""
    return amount != amount.quantize(Decimal(1).scaleb(-decimals))
