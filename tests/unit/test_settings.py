"""The ``[medusa_sync]`` section: typed values, defaults that work, and errors that name the key."""

from __future__ import annotations

import json
from pathlib import Path

import airflow
import jsonschema
import pytest

from medusa_sync import settings
from medusa_sync.provider import get_provider_info


def test_the_defaults_work_on_a_single_machine():
    defaults = settings.load({})
    assert (defaults.medusa_conn_id, defaults.source_conn_id) == ("medusa_default", "dummyjson_default")
    assert (defaults.pool, defaults.pool_slots, defaults.retries) == ("medusa_api", 2, 3)
    assert defaults.dagrun_timeout.total_seconds() == 12 * 3600
    assert (defaults.currency_code, defaults.on_missing, defaults.sync_inventory) == ("usd", "ignore", False)


def test_values_arrive_as_text_and_are_read_by_type():
    values = settings.load(
        {"retries": "5", "batch_timeout_minutes": "0.5", "sync_inventory": "True", "on_missing": "draft"}
    )
    assert (values.retries, values.batch_timeout.total_seconds(), values.sync_inventory) == (5, 30.0, True)
    assert values.on_missing == "draft"


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("retries", "three", "valid integer"),
        ("pool_slots", "0", "greater than or equal to 1"),
        ("on_missing", "purge", "'ignore', 'draft' or 'delete'"),
        ("currency_code", "euro", "pattern"),
        ("sync_inventory", "maybe", "valid boolean"),
    ],
)
def test_a_bad_value_names_its_key_and_environment_variable(key, value, says):
    with pytest.raises(settings.SettingsError) as raised:
        settings.load({key: value})
    message = str(raised.value)
    assert f"[medusa_sync] {key} (AIRFLOW__MEDUSA_SYNC__{key.upper()}) = {value!r}" in message
    assert says in message


def test_a_misspelt_key_is_refused_not_ignored(monkeypatch):
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__CURENCY_CODE", "eur")
    with pytest.raises(
        settings.SettingsError, match=r"curency_code \(AIRFLOW__MEDUSA_SYNC__CURENCY_CODE\) is not"
    ):
        settings.load()


def test_airflow_config_is_read_and_an_old_variable_still_counts_below_it(monkeypatch):
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__CURRENCY_CODE", "eur")
    monkeypatch.setenv("MEDUSA_SYNC_RETRIES", "6")
    monkeypatch.setenv("MEDUSA_SYNC_OWNER", "old-name")
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__OWNER", "new-name")
    loaded = settings.load()
    assert (loaded.currency_code, loaded.retries, loaded.owner) == ("eur", 6, "new-name")


def test_the_provider_declares_every_key_with_its_default_for_airflow_config_list():
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    options = info["config"]["medusa_sync"]["options"]
    assert set(options) == set(settings.MedusaSyncSettings.model_fields)
    assert options["retries"] == {
        "description": "Retries of a failed task, with exponential backoff capped at 10 min.",
        "version_added": None,
        "type": "integer",
        "example": None,
        "default": "3",
    }
    assert (options["sync_inventory"]["type"], options["sync_inventory"]["default"]) == ("boolean", "false")
    # The declared defaults read back as the defaults.
    assert settings.load({key: option["default"] for key, option in options.items()}) == settings.load({})
