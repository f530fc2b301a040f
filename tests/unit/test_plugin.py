"""The plugin's pool check as a run starts: beside the scheduler's loop, only for the sync's DAGs."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from medusa_sync import names, plugin


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Each pool check: the thread it ran in and the pool it was asked for."""
    seen: list[tuple[str, str]] = []

    def ensure_pool(config) -> bool:
        seen.append((threading.current_thread().name, config.pool))
        return True

    monkeypatch.setattr(plugin, "ensure_pool", ensure_pool)
    return seen


def start_run(dag_id: str) -> None:
    plugin.on_dag_run_running(dag_run=SimpleNamespace(dag_id=dag_id, run_id="manual__1"), msg="started")
    for thread in threading.enumerate():
        if thread.name == "medusa_sync pool":
            thread.join(timeout=10)


@pytest.mark.parametrize("dag_id", [names.PRODUCT_DAG_ID, names.STOCK_DAG_ID])
def test_a_run_of_either_dag_checks_the_pool_in_a_thread_of_its_own(dag_id, checks, caplog):
    start_run(dag_id)
    assert checks == [("medusa_sync pool", "medusa_api")]
    assert f"the pool was missing when {dag_id} run manual__1 started" in caplog.text


def test_a_run_of_another_dag_checks_nothing(checks):
    start_run("someone_elses_dag")
    assert checks == []


def test_a_failed_check_is_logged_and_the_scheduler_goes_on(monkeypatch, caplog):
    def broken(config) -> bool:
        raise RuntimeError("database is gone")

    monkeypatch.setattr(plugin, "ensure_pool", broken)
    start_run(names.PRODUCT_DAG_ID)  # raises nothing
    run = f"{names.PRODUCT_DAG_ID} run manual__1"
    assert f"could not check the [medusa_sync] pool as {run} started" in caplog.text
    assert "database is gone" in caplog.text
