from collections.abc import Iterator

import pytest

from devstack.catalog_server import CatalogServer
from devstack.counting_proxy import CountingProxy
from tests.fixtures.airflow_runs import LocalAirflow


@pytest.fixture(scope="module")
def catalog_server(real_catalog) -> Iterator[CatalogServer]:
    """The real catalog on a local catalog server, one per module (its tests may change it)."""
    with CatalogServer(real_catalog) as server:
        yield server


@pytest.fixture(scope="module")
def store_proxy(medusa_store_module) -> Iterator[CountingProxy]:
    """A counting, fault-injecting proxy in front of the module's Medusa store."""
    proxy = CountingProxy(medusa_store_module.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def fault_airflow(tmp_path_factory) -> LocalAirflow:
    return LocalAirflow(tmp_path_factory.mktemp("airflow_faults"))


@pytest.fixture
def source(real_catalog):
    with CatalogServer(real_catalog) as server:
        yield server


@pytest.fixture
def medusa_proxy(medusa_store):
    proxy = CountingProxy(medusa_store.url).start()
    yield proxy
    proxy.stop()
