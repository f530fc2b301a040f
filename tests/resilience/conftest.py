import pytest

from devstack.catalog_server import CatalogServer
from devstack.counting_proxy import CountingProxy
from tests.fixtures.airflow_runs import LocalAirflow


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
