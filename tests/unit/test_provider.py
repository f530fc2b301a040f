from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from medusa_sync.provider import get_provider_info

DISTRIBUTION = "medusa-product-sync"


def test_provider_info_matches_airflow_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)
    conn, source = get_provider_info()["connection-types"]
    assert conn["connection-type"] == "medusa"
    assert conn["hook-class-name"] == "medusa_sync.hooks.medusa.MedusaHook"
    assert (source["connection-type"], source["hook-class-name"]) == (
        "product_catalog",
        "medusa_sync.hooks.source.CatalogSourceHook",
    )


def test_connection_types_match_the_provider_yaml_schema() -> None:
    # provider_info.schema.json does not describe conn-fields / ui-field-behaviour; this one does.
    schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    jsonschema.validate(get_provider_info()["connection-types"], schema["properties"]["connection-types"])
    conn, source = get_provider_info()["connection-types"]
    assert conn["conn-fields"]["timeout"]["schema"]["type"] == ["integer", "null"]
    assert source["conn-fields"]["source_format"]["schema"]["type"] == ["string", "null"]


def test_hook_class_attributes_match() -> None:
    from medusa_sync.hooks.medusa import MedusaHook
    from medusa_sync.hooks.source import CatalogSourceHook

    assert (CatalogSourceHook.conn_type, CatalogSourceHook.conn_name_attr) == (
        "product_catalog",
        "source_conn_id",
    )

    assert (MedusaHook.conn_type, MedusaHook.conn_name_attr, MedusaHook.default_conn_name) == (
        "medusa",
        "medusa_conn_id",
        "medusa_default",
    )


def _installed() -> bool:
    return any(
        ep.value == "medusa_sync.provider:get_provider_info"
        for ep in entry_points(group="apache_airflow_provider")
    )


@pytest.mark.skipif(not _installed(), reason="needs `pip install -e plugins/` for the provider entry point")
def test_providers_manager_lists_medusa_connection() -> None:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManager()  # what the API server and UI read
    assert DISTRIBUTION in manager.providers
    hook = ProvidersManagerTaskRuntime().hooks["medusa"]  # what workers resolve hooks with
    assert hook is not None
    assert hook.hook_class_name == "medusa_sync.hooks.medusa.MedusaHook"
    assert hook.connection_id_attribute_name == "medusa_conn_id"
    assert hook.package_name == DISTRIBUTION
    behaviour = manager.field_behaviours["medusa"]
    assert set(behaviour["hidden_fields"]) == {"schema", "port"}
    assert behaviour["relabeling"]["host"] == "Medusa base URL"
    assert behaviour["placeholders"]["host"] == "http://localhost:9000"
    timeout = manager.connection_form_widgets["extra__medusa__timeout"]
    assert timeout.field["schema"]["type"][0] == "integer"


@pytest.mark.skipif(not _installed(), reason="needs `pip install -e plugins/` for the provider entry point")
def test_ui_form_metadata_for_medusa() -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    [meta] = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "medusa"]
    fields = meta.standard_fields
    assert meta.hook_name == "Medusa"
    assert fields.url_schema.hidden and fields.port.hidden
    assert (fields.host.title, fields.host.placeholder) == ("Medusa base URL", "http://localhost:9000")
    assert fields.login.title == "Admin email (leave empty with an API key)"
    assert fields.password.title == "Secret API key (sk_…) or admin password"
    assert meta.extra_fields["timeout"]["schema"]["title"] == "Timeout (seconds)"


@pytest.mark.skipif(not _installed(), reason="needs `pip install -e plugins/` for the provider entry point")
def test_ui_form_metadata_for_the_product_catalog_connection() -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    [meta] = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "product_catalog"]
    assert meta.hook_name == "Product catalog API"
    assert meta.standard_fields.url_schema.hidden
    assert meta.standard_fields.host.title == "Catalog base URL"
    assert meta.extra_fields["source_format"]["schema"]["title"] == "Source format"


@pytest.mark.parametrize("module", ["settings", "params", "run_params", "dag_parts", "provider"])
def test_a_module_imported_before_airflow_does_not_import_itself_back_through_the_provider(module):
    """Airflow initialises its configuration on first import and calls this package's provider entry
    point, which reads ``settings``: importing one of these first, in a fresh interpreter (a user's
    script, a worker), must not find ``settings`` half-initialised."""
    done = subprocess.run(
        [sys.executable, "-c", f"import medusa_sync.{module}, airflow.sdk"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
