import pytest

from devstack.catalog_server import CatalogServer
from tests.fixtures.airflow_runs import LocalAirflow
from tests.fixtures.counting_proxy import CountingProxy


@pytest.fixture(scope="session")
def local_airflow(tmp_path_factory) -> LocalAirflow:
    return LocalAirflow(tmp_path_factory.mktemp("airflow_home"))


@pytest.fixture(scope="module")
def catalog(real_catalog):
    with CatalogServer(real_catalog) as server:
        yield server


@pytest.fixture(scope="module")
def medusa_proxy(medusa_store_module):
    proxy = CountingProxy(medusa_store_module.url).start()
    yield proxy
    proxy.stop()
