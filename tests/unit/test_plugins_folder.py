"""``plugins/`` holds a package, not Airflow plugins: the plugin loader must not import its files
as top-level modules (``models``, ``errors``, ``settings`` ...), which would shadow real packages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "plugins" / "medusa_sync"

LOAD_PLUGINS = """
import json, sys
before = set(sys.modules)
from airflow import plugins_manager
plugins_manager.ensure_plugins_loaded()
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_airflow_loads_no_module_of_the_package_as_a_top_level_module(tmp_path):
    env = {
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PATH": str(Path(sys.executable).parent),
    }
    done = subprocess.run(
        [sys.executable, "-c", LOAD_PLUGINS], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    names = {p.stem for p in PACKAGE.rglob("*.py") if p.stem != "__init__"} | {
        "core",
        "hooks",
        "operators",
        "rundata",
        "ui",
    }
    assert {"models", "errors", "mapping", "settings"} <= names
    assert loaded, "the plugin manager loaded nothing at all: the check would prove nothing"
    assert sorted(names & loaded) == []
