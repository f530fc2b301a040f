"""The chaos soak (``./dev soak``) in small: three rounds with a fixed seed, three distinct faults.

A real Airflow (scheduler + LocalExecutor + api-server + dag-processor on PostgreSQL) driven
through its REST API, Medusa behind the fault proxy, the real catalog on the catalog server; the
soak mutates the catalog, lets a merchant edit one product, injects one fault per round and checks
every invariant after every run (``tests.stack.soak`` says which). It raises on the first violation.
"""

from __future__ import annotations

import pytest

from tests.stack.airflow_cluster import FAST_RETRIES
from tests.stack.airflow_local import DAG_ID, medusa_connection, source_connection
from tests.stack.soak import Soak

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

SEED = 29  # its first three faults: catalog edited mid-read, answer lost after commit, worker killed


@pytest.fixture(scope="module")
def cluster(airflow_cluster_factory, medusa_store_module, medusa_proxy, catalog):
    connections = {
        "medusa_default": medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key),
        "dummyjson_default": source_connection(catalog.url),
    }
    with airflow_cluster_factory(connections, env=FAST_RETRIES) as cluster:
        cluster.api.unpause(DAG_ID)
        yield cluster


def test_three_seeded_chaos_rounds_lose_nothing_duplicate_nothing_and_end_exact(
    cluster, catalog, medusa_proxy, medusa_store_module
):
    soak = Soak(cluster, catalog, medusa_proxy, medusa_store_module, seed=SEED, rounds=3)
    rows = soak.run()  # raises SoakFailure naming the round and what broke

    faults = [row.fault for row in rows if row.round.isdigit() and row.round != "0"]
    assert len(set(faults)) == 3, faults
    assert all(row.checks in ("ok", "exact") for row in rows)
    assert (rows[0].checks, rows[-1].round, rows[-1].checks) == ("exact", "final", "exact")
