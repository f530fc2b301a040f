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


# The largest count of minor units a price may have: 15 digits. Medusa's API takes a price's
# ``amount`` only as a JSON number (``z.number()``), which JavaScript reads as a double; a decimal of
# at most 15 significant digits is exactly what it reads back (a 16-digit one, 78069713967633.85,
# is not). Under 2**53, so Medusa's cart and order totals of it stay exact too.
MAX_MINOR_UNITS = 10**15 - 1


def max_amount(decimals: int) -> Decimal:
    """The largest price, in major units, that Medusa holds exactly for a currency (USD
    9999999999999.99, JPY 999999999999999)."""
    return Decimal(MAX_MINOR_UNITS).scaleb(-decimals)


def excess_decimals(amount: Decimal, decimals: int) -> bool:
    """True when ``amount`` has more significant decimals than the currency allows (12.50 is fine)."""
    # Read off the digits, never by ``quantize`` or ``normalize``: both use the decimal context,
    # which raises or rounds for a number with more than its 28 digits (1e26 at two decimals).
    _sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0 or not any(digits):
        return False
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return -exponent - min(trailing_zeros, -exponent) > decimals
