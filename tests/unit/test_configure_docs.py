"""docs/configure.md says what the code does: every ``[medusa_sync]`` key and every Param has its
row, and each row's default is the Param's in the Trigger form and its key's in the settings."""

from __future__ import annotations

import pytest

from medusa_sync import dag_parts, settings
from medusa_sync.params import CatalogRunParams, RunParams, StockRunParams, setting_of
from tests.stack import docs


def rows(block: str) -> dict[str, list[str]]:
    """The rows of one generated table of the checked-in page, by their first cell (its name)."""
    text = docs.CONFIGURE.read_text(encoding="utf-8")
    [match] = [m for m in docs.BLOCK.finditer(text) if m["name"] == block]
    cells = [
        [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        for line in match["body"].splitlines()[2:]
    ]
    return {row[0].strip("`"): row for row in cells}


def test_the_page_is_what_the_declarations_render():
    """A setting or Param changed, added or removed without ``./dev docs`` fails here, by name."""
    _, stale = docs.render(docs.CONFIGURE.read_text(encoding="utf-8"))
    assert stale == [], f"docs/configure.md is out of date ({', '.join(stale)}): run ./dev docs"


@pytest.mark.parametrize(
    ("block", "model"),
    [("params-medusa_product_sync", CatalogRunParams), ("params-medusa_stock_sync", StockRunParams)],
)
def test_each_params_row_agrees_with_the_trigger_form_and_the_settings(block, model: type[RunParams]):
    defaults = settings.load({})
    form = dag_parts.form_params(model, defaults)
    documented = rows(block)
    assert list(documented) == list(form)  # every Param, in the form's order, and nothing else
    for name, param in form.items():
        _, default, key, _, meaning = documented[name]
        assert default == docs.shown(param.value), name
        assert meaning.replace("\\|", "|") == param.description, name
        declared = setting_of(model.model_fields[name])
        assert key == (f"`{declared}`" if declared else "—"), name
        if declared:  # the scheduled run's default is the deployment's setting
            assert param.value == getattr(defaults, declared), name


def test_each_setting_has_its_row_with_its_default():
    defaults = settings.load({})
    documented = rows("settings")
    assert set(documented) == set(settings.MedusaSyncSettings.model_fields)
    for key in settings.MedusaSyncSettings.model_fields:
        assert documented[key][1] == docs.shown(getattr(defaults, key)), key


def test_a_deployments_setting_becomes_the_params_default(monkeypatch):
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__BATCH_SIZE", "50")
    monkeypatch.setenv("AIRFLOW__MEDUSA_SYNC__STOCK_PAGE_SIZE", "250")
    loaded = settings.load()
    assert dag_parts.product_params(loaded)["batch_size"].value == 50
    assert dag_parts.stock_params(loaded)["page_size"].value == 250
    assert dag_parts.product_params(loaded)["page_size"].value == 100  # the catalog's own key
