"""The base both HTTP hooks stand on works for a third API too: a subclass names its connection,
opens its session and says what "no response" means; retries, logging and secret scrubbing come
from the base."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests import Session

from medusa_sync.hooks.http_api import HttpApiHook
from medusa_sync.hooks.retries import RetryPolicy

from .fake_http import FakeServer, Reply, closed_port_url, serve

TOKEN = "tok-3b7f0d2c"


class WarehouseError(Exception):
    pass


class WarehouseHook(HttpApiHook):
    """What a contributor writes for a third API: the connection's name, its session, its error."""

    conn_name_attr = "warehouse_conn_id"
    default_conn_name = "warehouse_default"
    service = "Warehouse"

    def __init__(self, url: str, **kwargs) -> None:
        super().__init__("warehouse_default", **kwargs)
        self.url = url

    def get_conn(self) -> Session:
        self.base_url = self.url
        self._secrets.add(TOKEN)
        session = requests.Session()
        session.headers["X-Token"] = TOKEN
        return session

    def no_response_error(self, reason: str, method: str, path: str) -> WarehouseError:
        return WarehouseError(f"{self.service} {method} {path}: no response ({reason})")

    def get(self, path: str) -> requests.Response:
        session = self.session()
        return self.send_with_retries("GET", path, lambda: session.get(self.base_url + path, timeout=2))


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


def hook(url: str) -> tuple[WarehouseHook, list[float]]:
    waits: list[float] = []
    made = WarehouseHook(url, retry=RetryPolicy(max_attempts=3, initial_delay=0.5, jitter=0))
    made._sleep = waits.append
    return made, waits


def test_a_server_error_is_retried_by_the_policy_and_the_answer_returned(server: FakeServer, caplog):
    server.queue(Reply(503), Reply(200, {"ok": True}))
    warehouse, waits = hook(server.url)
    response = warehouse.get("/stock")
    assert (response.status_code, response.json(), waits) == (200, {"ok": True}, [0.5])
    assert "Warehouse GET /stock: attempt 1/3 got status 503" in caplog.text
    assert [r.path for r in server.requests] == ["/stock", "/stock"]


def test_no_response_after_every_attempt_is_the_subclass_error_without_the_secret(caplog):
    warehouse, waits = hook(closed_port_url())
    with pytest.raises(WarehouseError, match="Warehouse GET /stock: no response") as raised:
        warehouse.get("/stock")
    assert len(waits) == 2  # three attempts, two pauses
    assert TOKEN not in str(raised.value) and TOKEN not in caplog.text


def test_the_hook_names_its_connection_as_airflow_hooks_do():
    warehouse, _ = hook("http://127.0.0.1:9")
    assert warehouse.warehouse_conn_id == warehouse.conn_id == "warehouse_default"
    assert repr(warehouse) == "WarehouseHook(warehouse_conn_id='warehouse_default')"


def test_threads_sending_their_first_requests_at_once_share_one_session():
    opened: list[Session] = []
    both_asking = threading.Barrier(2)

    class SlowToOpen(WarehouseHook):
        def get_conn(self) -> Session:
            time.sleep(0.05)  # a connection lookup: long enough for the other thread to ask too
            opened.append(super().get_conn())
            return opened[-1]

    made = SlowToOpen("http://127.0.0.1:1")

    def first_request() -> Session:
        both_asking.wait()
        return made.session()

    with ThreadPoolExecutor(max_workers=2) as pool:
        sessions = list(pool.map(lambda _: first_request(), range(2)))
    assert len(opened) == 1
    assert sessions == [opened[0], opened[0]]
