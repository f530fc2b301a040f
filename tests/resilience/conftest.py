import pytest

from tests.fixtures.airflow_runs import LocalAirflow


@pytest.fixture(scope="session")
def fault_airflow(tmp_path_factory) -> LocalAirflow:
    return LocalAirflow(tmp_path_factory.mktemp("airflow_faults"))
