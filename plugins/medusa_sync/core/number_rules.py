"""One rule for every number the source sends, and the JSON reading that keeps them exact.

Every numeric source field is read as an exact ``Decimal`` and must be finite, in its range, a
whole number where it counts things, and no larger than JavaScript holds exactly: Medusa parses
request bodies into JavaScript numbers, and it stores quantities and amounts it computes with them.
A value that fails the rule is refused here with a reason, so a bad number costs its own record at
the fetch and can never fail a later stage (a NaN the batch writer cannot encode, a stock Medusa
rounds and the sync rewrites every day, a price that loses its cents).

The source's JSON is decoded with ``load_source_json``: a float literal becomes a ``Decimal`` (the
source's exact text, never rounded to a float before it is checked) and an integer too long for
Python's ``int`` (its 4,300-digit limit) becomes a ``Decimal`` too, which the rule then refuses as
out of range, instead of the whole page failing to decode.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# The largest integer a JavaScript number holds exactly (``Number.MAX_SAFE_INTEGER``).
MAX_SAFE_INTEGER = 2**53 - 1


class NumberProblem(ValueError):
    """A source number that breaks its rule; the message says why, without the field's name
    (the caller names it)."""


def shown(raw: Any) -> str:
    """A bad value as a reason shows it: short, whatever its size (a 5,000-digit integer is
    summarised; Python refuses ``str`` of an ``int`` that long)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() > 128:
        return f"an integer of about {int(raw.bit_length() * 0.30103) + 1} digits"
    if isinstance(raw, Decimal):
        text = str(raw)
        digits = len(raw.as_tuple().digits)
        return text if len(text) <= 40 else f"{text[:12]}... (a number of {digits} digits)"
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class NumberRule:
    """What one kind of source number must be. ``text``: a numeric string (``"4.5"``) is read as
    its number, as the model always did for these fields; ``why_max`` says where the maximum comes
    from, for the reason."""

    minimum: Decimal = Decimal(0)
    maximum: Decimal = Decimal(MAX_SAFE_INTEGER)
    integer: bool = False
    text: bool = True
    why_max: str = "the largest number JavaScript holds exactly"

    def exact(self, raw: Any) -> Decimal:
        """``raw`` as the exact number it is, or ``NumberProblem`` saying why it breaks the rule."""
        kind = "an integer" if self.integer else "a number"
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
            raise NumberProblem(f"{shown(raw)} is not {kind}")
        if isinstance(raw, str) and not self.text:
            raise NumberProblem(f"{shown(raw)} is not {kind}")
        try:
            # ``str`` of a float is its shortest exact text (0.1, not 0.1000000000000000055...).
            number = raw if isinstance(raw, Decimal) else Decimal(str(raw) if isinstance(raw, float) else raw)
        except (InvalidOperation, ValueError):
            raise NumberProblem(f"{shown(raw)} is not {kind}") from None
        if not number.is_finite():
            raise NumberProblem(f"{shown(raw)} is not a finite number")
        # Compared before anything rounds: comparisons of Decimals are exact at any size.
        if number < self.minimum:
            raise NumberProblem(
                f"{shown(raw)} is negative"
                if self.minimum == 0
                else f"{shown(raw)} is less than {self.minimum}"
            )
        if number > self.maximum:
            raise NumberProblem(f"{shown(raw)} is larger than {self.maximum}, {self.why_max}")
        if self.integer and number != number.to_integral_value():
            raise NumberProblem(f"{shown(raw)} is not {kind}")
        return number

    def value(self, raw: Any) -> int | float:
        """``raw`` as the model keeps it: an ``int`` for integer rules, else the ``float`` nearest
        the exact number (the source's measurements are shown, not computed with)."""
        number = self.exact(raw)
        return int(number) if self.integer else float(number)


# The rules, one per kind of source number.
# Weight and dimensions: physical, so never negative.
MEASURE = NumberRule()
# DummyJSON's ratings are stars out of 5.
RATING = NumberRule(maximum=Decimal(5), why_max="the top of the 5-star scale")
DISCOUNT_PERCENT = NumberRule(maximum=Decimal(100), why_max="a whole discount")
# Counts of units (``minimumOrderQuantity``); stock has its own reading (``core.stock``): only
# JSON numbers, as it always was.
QUANTITY = NumberRule(integer=True)
STOCK = NumberRule(integer=True, text=False)
SOURCE_ID = NumberRule(minimum=Decimal(1), integer=True)


def _integer(text: str) -> int | Decimal:
    try:
        return int(text)
    except ValueError:  # longer than Python converts (sys.get_int_max_str_digits)
        return Decimal(text)


def load_source_json(body: bytes | str) -> Any:
    """Decode a source response: float literals as exact ``Decimal``s, integers as ``int`` unless
    too long for one (then a ``Decimal``, refused later by the field's rule). ``NaN`` and
    ``Infinity`` literals come as floats and are refused by every rule too."""
    return json.loads(body, parse_float=Decimal, parse_int=_integer)


# What the sync writes is a tree of plain data, never a structure that holds itself: the encoder
# skips the check for one, which would cost time on every planned item to catch what is never built.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False)


def finite_json(item: Any, what: Callable[[], str]) -> str:
    """``item`` as compact JSON, refusing NaN and Infinity (``what()`` names the item in the
    error): every number the sync writes was checked finite at the fetch, so one here is a bug in
    the sync, never in the data."""
    try:
        return _COMPACT.encode(item)
    except ValueError as error:
        raise ValueError(
            f"{what()} holds a number JSON cannot carry ({error}): this is a bug in medusa_sync, "
            "every number should have been checked finite when fetched; please report it"
        ) from None
