"""A local Airflow for the dev stack and the tests: environment, connections, runs.

Everything is configured through environment variables so nothing outside ``AIRFLOW_HOME``
changes and each test run gets its own home and metadata database.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DAG_ID = "medusa_product_sync"
# The pool every Medusa task of the DAG runs in (see dags/medusa_product_sync.py and docs/install.md).
MEDUSA_POOL = "medusa_api"
POOL_SLOTS = 2
POOL_DESCRIPTION = "Concurrent tasks talking to the Medusa Admin API (medusa-sync)"


def medusa_connection(
    url: str, *, api_key: str | None = None, email: str | None = None, password: str | None = None
) -> dict[str, Any]:
    """The ``medusa_default`` connection: a secret API key, or an admin's email and password."""
    if api_key:
        return {"conn_type": "medusa", "host": url, "password": api_key}
    return {"conn_type": "medusa", "host": url, "login": email, "password": password}


def source_connection(url: str, source_format: str | None = None) -> dict[str, Any]:
    """The source's connection: an ``http`` one as before, or, given a ``source_format``, a
    ``product_catalog`` one naming it."""
    if source_format is None:
        return {"conn_type": "http", "host": url}
    return {"conn_type": "product_catalog", "host": url, "extra": {"source_format": source_format}}


def fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def airflow_environment(
    home: Path,
    *,
    connections: dict[str, dict[str, Any]] | None = None,
    storage_url: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for every Airflow command of one local installation rooted at ``home``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            # The connection form's Test button (and POST /api/v2/connections/test).
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
        }
    )
    for conn_id, conn in (connections or {}).items():
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
    if storage_url:
        env["AIRFLOW_VAR_MEDUSA_SYNC_STORAGE_URL"] = storage_url
    env.update(extra or {})
    return env


def airflow(
    env: dict[str, str], *args: str, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "airflow"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


def migrate(env: dict[str, str]) -> None:
    """Migrate the metadata database and create the pool the DAG's Medusa tasks run in."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow(env, "db", "migrate")
    airflow(env, "pools", "set", MEDUSA_POOL, str(POOL_SLOTS), POOL_DESCRIPTION)
