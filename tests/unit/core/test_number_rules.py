"""One rule for every source number (finite, in range, whole where it counts, exact for JavaScript),
the JSON reading that lets a number of any size cost only its record, and the batch writer's guard."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from medusa_sync.core.batching import BatchBuilder, encoded, text_size
from medusa_sync.core.number_rules import (
    MAX_SAFE_INTEGER,
    MEASURE,
    QUANTITY,
    RATING,
    STOCK,
    NumberProblem,
    load_source_json,
    shown,
)

HUGE = "1" * 5000


def test_json_floats_are_read_as_the_sources_exact_decimal_text():
    body = load_source_json(b'{"price": 78069713967633.85, "weight": 0.1, "stock": 4}')
    assert body == {"price": Decimal("78069713967633.85"), "weight": Decimal("0.1"), "stock": 4}
    assert type(body["stock"]) is int


def test_an_integer_too_long_for_python_is_read_as_a_decimal_not_a_broken_body():
    with pytest.raises(ValueError, match="integer string conversion"):
        json.loads(f'{{"weight": {HUGE}}}')  # what the source hook used to do
    body = load_source_json(f'{{"weight": {HUGE}, "id": 2}}'.encode())
    assert body["weight"] == Decimal(HUGE)
    assert body["id"] == 2


def test_nan_and_infinity_literals_are_read_and_then_refused():
    body = load_source_json(b'{"a": NaN, "b": Infinity, "c": -Infinity}')
    for raw in body.values():
        with pytest.raises(NumberProblem, match="is not a finite number"):
            MEASURE.value(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, 0.0),
        (4, 4.0),
        (Decimal("15.14"), 15.14),
        ("4.5", 4.5),
        (" 4.5 ", 4.5),
        (2.5, 2.5),
        (MAX_SAFE_INTEGER, float(MAX_SAFE_INTEGER)),
    ],
)
def test_a_measure_is_kept_as_the_float_it_always_was(raw, expected):
    value = MEASURE.value(raw)
    assert value == expected and type(value) is float


@pytest.mark.parametrize(
    ("rule", "raw", "reason"),
    [
        (MEASURE, float("nan"), "nan is not a finite number"),
        (MEASURE, "NaN", "'NaN' is not a finite number"),
        (MEASURE, "Infinity", "'Infinity' is not a finite number"),
        (MEASURE, -5, "-5 is negative"),
        (MEASURE, Decimal("-0.01"), "-0.01 is negative"),
        (MEASURE, Decimal("1e26"), "1E+26 is larger than 9007199254740991, the largest number JavaScript"),
        (MEASURE, 2**53 + 1, "9007199254740993 is larger than 9007199254740991"),
        (MEASURE, Decimal(HUGE), "111111111111... (a number of 5000 digits) is larger than 9007199254740991"),
        pytest.param(
            MEASURE,
            10**5000,
            "an integer of about 5001 digits is larger than 9007199254740991",
            id="10**5000",
        ),
        (MEASURE, True, "True is not a number"),
        (MEASURE, "heavy", "'heavy' is not a number"),
        (MEASURE, [1], "[1] is not a number"),
        (RATING, Decimal("5.01"), "5.01 is larger than 5, the top of the 5-star scale"),
        (QUANTITY, Decimal("2.5"), "2.5 is not an integer"),
        (QUANTITY, False, "False is not an integer"),
        (STOCK, "12", "'12' is not an integer"),
    ],
)
def test_a_number_that_breaks_its_rule_says_why(rule, raw, reason):
    with pytest.raises(NumberProblem) as caught:
        rule.value(raw)
    assert str(caught.value).startswith(reason)


def test_the_limits_themselves_are_accepted():
    assert RATING.value(5) == 5.0 and RATING.value(0) == 0.0
    assert QUANTITY.value(Decimal("48.0")) == 48 and type(QUANTITY.value(Decimal("48.0"))) is int
    assert QUANTITY.value(MAX_SAFE_INTEGER) == MAX_SAFE_INTEGER


def test_a_shown_value_stays_short_whatever_its_size():
    assert len(shown(Decimal(HUGE))) < 60
    assert len(shown(10**5000)) < 60
    assert len(shown("x" * 1000)) == 40


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_number_never_reaches_a_batch_file_and_is_called_a_bug(bad):
    item = {"external_id": "dummyjson:7", "variants": [{"weight": bad}]}
    with pytest.raises(
        ValueError, match=r"the planned item dummyjson:7 holds a number JSON cannot carry .*a bug"
    ):
        encoded(item)
    builder = BatchBuilder(max_items=10)
    with pytest.raises(ValueError, match="a bug in medusa_sync"):
        builder.add("create", item)
    assert builder.flush() is None  # nothing was kept for a batch file


def test_a_finite_item_is_measured_as_its_compact_json():
    item = {"external_id": "dummyjson:7", "weight": 4.0, "title": "é"}
    assert (
        text_size(encoded(item))
        == len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()) + 1
    )
