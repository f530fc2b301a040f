"""One distributed Airflow (CeleryExecutor, two workers), one Medusa store behind a counting proxy, one
S3 server and one catalog server, shared by every scenario of the module: starting them is most of
the time these tests take, so the scenarios build on each other instead of each starting its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.medusa import MedusaStore
from tests.stack.airflow_cluster import MetadataTemplate
from tests.stack.airflow_local import medusa_connection, source_connection
from tests.stack.catalog_server import CatalogServer
from tests.stack.celery_cluster import CeleryCluster
from tests.stack.counting_proxy import CountingProxy
from tests.stack.s3_server import S3Server

RUNS_BUCKET = "medusa-sync-runs"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 API on a local port, with the bucket the cluster keeps its run data in."""
    with S3Server(Path(tmp_path_factory.mktemp("s3")) / "moto.log") as server:
        server.create_bucket(RUNS_BUCKET)
        yield server


@pytest.fixture(scope="module")
def celery_cluster(
    airflow_metadata_template: MetadataTemplate,
    tmp_path_factory: pytest.TempPathFactory,
    s3: S3Server,
    catalog: CatalogServer,
    medusa_store_module: MedusaStore,
    medusa_proxy: CountingProxy,
) -> Iterator[CeleryCluster]:
    cluster = CeleryCluster(
        tmp_path_factory.mktemp("celery_home"),
        airflow_metadata_template,
        s3=s3,
        bucket=RUNS_BUCKET,
        connections={
            "medusa_default": medusa_connection(medusa_proxy.url, api_key=medusa_store_module.api_key),
            "dummyjson_default": source_connection(catalog.url),
        },
        # Retries a second apart (exponential from there): a killed worker's batch is retried quickly.
        env={"AIRFLOW__MEDUSA_SYNC__RETRY_DELAY_SECONDS": "1"},
    )
    with cluster:
        cluster.start()
        cluster.api.unpause()
        yield cluster
