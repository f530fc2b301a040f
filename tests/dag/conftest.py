from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag

from medusa_sync.settings import environment_name
from tests.fixtures.airflow_runs import LocalAirflow
from tests.stack.airflow_local import medusa_connection, source_connection

DAGS = Path(__file__).resolve().parents[2] / "dags"
STOCK_DAG = "medusa_stock_sync"
LEVELS = "/admin/inventory-items/location-levels/batch"


@pytest.fixture(scope="module")
def dag():
    """The DAG as the dag-processor parses it from ``dags/``, with no import error."""
    bag = DagBag(str(DAGS))
    assert bag.import_errors == {}
    return bag.dags["medusa_product_sync"]


@pytest.fixture(scope="session")
def local_airflow(tmp_path_factory) -> LocalAirflow:
    return LocalAirflow(tmp_path_factory.mktemp("airflow_home"))


@pytest.fixture(scope="module")
def sync(local_airflow, catalog, medusa_store_module, medusa_proxy):
    """Run the whole DAG once, Medusa reached through the counting proxy; returns the outcome.
    Keyword arguments are the run's conf (the Trigger form); ``settings`` are ``[medusa_sync]``
    keys set in the environment, as a deployment sets them for its scheduled runs."""

    def run(*, faults=(), settings=None, **conf):
        medusa_proxy.reset()
        for fault in faults:
            medusa_proxy.inject(fault)
        outcome = local_airflow.run_dag(
            connections={
                "medusa_default": medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key),
                "dummyjson_default": source_connection(catalog.url),
            },
            conf=conf,
            extra_env={environment_name(key): value for key, value in (settings or {}).items()},
        )
        assert outcome.report is not None, outcome.output[-5000:]
        return outcome

    return run


@pytest.fixture(scope="module")
def stock_sync(local_airflow, catalog, medusa_store_module, medusa_proxy):
    """One run of ``medusa_stock_sync`` through the counting proxy; returns its ``stock.json``."""

    def run(**conf: Any) -> dict[str, Any]:
        medusa_proxy.reset()
        outcome = local_airflow.run_dag(
            connections={
                "medusa_default": medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key),
                "dummyjson_default": source_connection(catalog.url),
            },
            conf=conf,
            dag_id=STOCK_DAG,
            result="stock.json",
        )
        assert outcome.returncode == 0 and outcome.report is not None, outcome.output[-5000:]
        return outcome.report

    return run


def level_writes(proxy) -> tuple[int, int]:
    """(levels created, levels updated) as the batch requests that reached Medusa asked."""
    bodies = proxy.bodies("POST", LEVELS)
    return sum(len(b.get("create", [])) for b in bodies), sum(len(b.get("update", [])) for b in bodies)
