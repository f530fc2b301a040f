"""The stock fetch reads only each product's id and stock (and variants) into the run folder, asks
for no category names, and steps aside, reading nothing, while a catalog run is in progress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from medusa_sync import dag_parts, names, settings
from medusa_sync.operators.fetch_pages import FetchStockOperator
from medusa_sync.rundata.run_folder import RunFolder, read_json
from tests.stack.catalog_generator import generate_catalog
from tests.stack.catalog_server import CatalogServer

PRODUCTS = 30


class Ti:
    """The task instance: takes the XComs pushed and answers how many catalog runs are running,
    noting each time it is asked."""

    task_id, try_number = names.FETCH_STOCK, 1

    def __init__(self, running: int = 0) -> None:
        self.running = running
        self.pushed: dict[str, Any] = {}
        self.asked: list[dict[str, Any]] = []

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def get_dr_count(self, **kwargs: Any) -> int:
        self.asked.append(kwargs)
        return self.running


@pytest.fixture
def catalog(monkeypatch) -> Iterator[CatalogServer]:
    """A DummyJSON-like source of ``PRODUCTS`` products, named by the default source connection."""
    with CatalogServer(generate_catalog(PRODUCTS)) as server:
        conn = {"conn_type": "product_catalog", "host": server.url, "extra": {}}
        monkeypatch.setenv("AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps(conn))
        yield server


def run_fetch(tmp_path, ti: Ti, **wiring: Any) -> tuple[RunFolder, dict[str, Any]]:
    """The stock fetch alone, with the stock DAG's params (10 records a page: three pages)."""
    params = {k: p.value for k, p in dag_parts.stock_params(settings.load({})).items()}
    context = {
        "dag": SimpleNamespace(dag_id=names.STOCK_DAG_ID),
        "run_id": "run",
        "params": params | {"page_size": 10},
        "ti": ti,
    }
    op = FetchStockOperator(
        task_id=names.FETCH_STOCK, storage_url=f"file://{tmp_path}", page_concurrency=2, **wiring
    )
    folder = RunFolder.for_run(f"file://{tmp_path}", names.STOCK_DAG_ID, "run")
    return folder, op.execute(context)


def test_the_source_is_asked_for_id_stock_and_variants_only_and_the_pages_hold_id_and_stock(
    tmp_path, catalog
):
    folder, summary = run_fetch(tmp_path, Ti(running=0), yield_to_dag_id=names.PRODUCT_DAG_ID)

    product_requests = [r for r in catalog.requests if r.path == "/products"]
    assert len(product_requests) == 3
    assert {r.query.get("select") for r in product_requests} == {"id,stock,variants"}
    assert summary["valid"] == PRODUCTS
    source = {p["id"]: p["stock"] for p in generate_catalog(PRODUCTS)}
    records = list(folder.records())
    assert all(r.keys() == {"id", "stock"} for r in records)
    assert {r["id"]: r["stock"] for r in records} == source
    assert len(folder.pages()) == 3


def test_the_stock_fetch_asks_no_category_list_and_writes_no_source_categories(tmp_path, catalog):
    folder, _ = run_fetch(tmp_path, Ti())

    assert {r.path for r in catalog.requests} == {"/products"}
    assert not folder.source_categories.exists()


def test_while_a_catalog_run_is_running_the_reason_is_written_and_the_task_skipped_unread(tmp_path, catalog):
    ti = Ti(running=1)
    with pytest.raises(AirflowSkipException, match=names.PRODUCT_DAG_ID):
        run_fetch(tmp_path, ti, yield_to_dag_id=names.PRODUCT_DAG_ID)

    assert ti.asked == [{"dag_id": names.PRODUCT_DAG_ID, "states": ["running"]}]
    folder = RunFolder.for_run(f"file://{tmp_path}", names.STOCK_DAG_ID, "run")
    reason = read_json(folder.skipped)["reason"]
    assert reason.startswith(f"{names.PRODUCT_DAG_ID} has a run in progress")
    assert catalog.requests == [] and folder.pages() == []
    # The report still finds the folder of the skipped run.
    assert ti.pushed[names.RUN_FOLDER_KEY] == folder.url


def test_without_a_dag_to_yield_to_no_run_count_is_asked_and_the_source_is_read(tmp_path, catalog):
    ti = Ti(running=1)  # would skip, were it asked
    folder, summary = run_fetch(tmp_path, ti)

    assert ti.asked == []
    assert summary["valid"] == PRODUCTS
    assert not folder.skipped.exists()
