"""Parse templated operator arguments by type, whatever the DAG's template rendering mode.

With ``render_template_as_native_obj`` off (Airflow's default), ``"{{ params.dry_run }}"`` renders
to the *string* ``"False"``, which is truthy. Every operator argument that comes from a template
goes through these functions, so ``"False"`` is false, ``"200"`` is 200, and a bad value fails
with an error that names the param instead of doing something surprising.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_EMPTY = frozenset({"", "none", "null"})


class ParamValueError(ValueError):
    """A templated argument that cannot be read as the type its param needs."""

    def __init__(self, name: str, value: Any, expected: str) -> None:
        super().__init__(f"param {name!r} must be {expected}, got {value!r}")
        self.name = name


def is_empty(value: Any) -> bool:
    """None, or what a template renders for it ("", "None", "null")."""
    return value is None or (isinstance(value, str) and value.strip().lower() in _EMPTY)


def as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ParamValueError(name, value, "a boolean (true or false)")


def as_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    number = _integer(name, value)
    if minimum is not None and number < minimum:
        raise ParamValueError(name, value, f"an integer of at least {minimum}")
    if maximum is not None and number > maximum:
        raise ParamValueError(name, value, f"an integer of at most {maximum}")
    return number


def as_optional_int(name: str, value: Any, *, minimum: int | None = None) -> int | None:
    return None if is_empty(value) else as_int(name, value, minimum=minimum)


def as_number(name: str, value: Any, *, minimum: float, maximum: float) -> float:
    if isinstance(value, bool):
        raise ParamValueError(name, value, "a number")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ParamValueError(name, value, "a number") from None
    if math.isnan(number) or not minimum <= number <= maximum:
        raise ParamValueError(name, value, f"a number from {minimum:g} to {maximum:g}")
    return number


def as_choice(name: str, value: Any, choices: Collection[str]) -> str:
    text = value.strip() if isinstance(value, str) else value
    if text not in choices:
        raise ParamValueError(name, value, "one of " + ", ".join(repr(c) for c in choices))
    return text


def as_optional_str(name: str, value: Any) -> str | None:
    if is_empty(value):
        return None
    if not isinstance(value, str):
        raise ParamValueError(name, value, "a string")
    return value.strip()


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ParamValueError(name, value, "an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if number.is_integer():
                return int(number)
    raise ParamValueError(name, value, "an integer")
