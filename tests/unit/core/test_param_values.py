"""Templated arguments read the same whether the DAG renders native objects or strings."""

import pytest

from medusa_sync.core.param_values import (
    ParamValueError,
    as_bool,
    as_choice,
    as_int,
    as_number,
    as_optional_int,
    as_optional_str,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (False, False),
        ("False", False),
        ("false", False),
        ("0", False),
        (True, True),
        ("True", True),
        (" true ", True),
    ],
)
def test_booleans_read_from_strings_and_natives(value, expected):
    assert as_bool("dry_run", value) is expected


@pytest.mark.parametrize("value", ["maybe", "", None, 2, "Falsey"])
def test_a_bad_boolean_names_the_param(value):
    with pytest.raises(ParamValueError, match="param 'dry_run' must be a boolean"):
        as_bool("dry_run", value)


def test_integers_read_from_strings_and_natives():
    assert as_int("batch_size", "200") == 200
    assert as_int("batch_size", 200) == 200
    assert as_int("batch_size", "200.0") == 200
    assert as_int("batch_size", 7.0) == 7


@pytest.mark.parametrize("value", ["abc", "2.5", True, None, ""])
def test_a_bad_integer_names_the_param(value):
    with pytest.raises(ParamValueError, match="param 'batch_size' must be an integer"):
        as_int("batch_size", value, minimum=1)


def test_an_integer_below_its_minimum_is_refused():
    with pytest.raises(ParamValueError, match="param 'page_size' must be an integer of at least 1, got '0'"):
        as_int("page_size", "0", minimum=1)


@pytest.mark.parametrize("value", [None, "", "None", "null"])
def test_an_empty_optional_integer_is_none(value):
    assert as_optional_int("max_products", value) is None


def test_an_optional_integer_still_checks_its_value():
    assert as_optional_int("max_products", "20", minimum=1) == 20
    with pytest.raises(ParamValueError, match="max_products"):
        as_optional_int("max_products", "twenty")


def test_numbers_and_their_range():
    assert as_number("max_missing_percent", "50", minimum=0, maximum=100) == 50.0
    assert as_number("max_missing_percent", 12.5, minimum=0, maximum=100) == 12.5
    for bad in ("101", "-1", "nan", "lots", True):
        with pytest.raises(ParamValueError, match="max_missing_percent"):
            as_number("max_missing_percent", bad, minimum=0, maximum=100)


def test_choices_and_optional_strings():
    assert as_choice("on_missing", "delete", ("ignore", "draft", "delete")) == "delete"
    with pytest.raises(
        ParamValueError, match="param 'on_missing' must be one of 'ignore', 'draft', 'delete'"
    ):
        as_choice("on_missing", "purge", ("ignore", "draft", "delete"))
    assert as_optional_str("sales_channel_id", "None") is None
    assert as_optional_str("sales_channel_id", " sc_1 ") == "sc_1"
