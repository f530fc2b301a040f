"""The connection form's Test button: one attempt, an answer within seconds, the cause in plain words."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from medusa_sync.hooks.medusa import NOT_MEDUSA, TEST_CONNECTION_SECONDS, MedusaHook

from .fake_http import FakeServer, Reply, closed_port_url, serve
from .test_medusa_hook import API_KEY, EMAIL, assert_no_secret, connect

STORES = {"stores": [{"id": "store_1", "name": "Medusa Store"}]}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


def test_connection(monkeypatch: pytest.MonkeyPatch, host: str, **kwargs: Any) -> tuple[bool, str, float]:
    """Run the Test button's check against ``host``; returns verdict, message and seconds taken."""
    connect(monkeypatch, host, **kwargs)
    hook = MedusaHook()
    hook._sleep = lambda seconds: pytest.fail(f"the test button must not wait for a retry ({seconds} s)")
    started = time.monotonic()
    ok, message = hook.test_connection()
    elapsed = time.monotonic() - started
    assert_no_secret(message)
    return ok, message, elapsed


test_connection.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def test_a_good_key_names_the_store(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.json(STORES)
    ok, message, _ = test_connection(monkeypatch, server.url)
    assert (ok, message) == (True, f"Connected to Medusa store 'Medusa Store' at {server.url}")
    [request] = server.requests
    assert request.path == "/admin/stores"


def test_a_wrong_key_says_the_credentials_were_refused_after_one_request(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.json({"type": "unauthorized", "message": "Unauthorized"}, status=401)
    ok, message, _ = test_connection(monkeypatch, server.url)
    assert not ok
    assert "refused the credentials (401)" in message and "API key" in message
    assert len(server.requests) == 1


def test_a_wrong_admin_password_says_the_credentials_were_refused(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.json({"type": "unauthorized", "message": "Invalid email or password"}, status=401)
    ok, message, _ = test_connection(monkeypatch, server.url, login=EMAIL)
    assert not ok and "refused the credentials (401)" in message
    assert [r.path for r in server.requests] == ["/auth/user/emailpass"]


def test_a_refused_port_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    url = closed_port_url()
    ok, message, elapsed = test_connection(monkeypatch, url)
    assert not ok
    assert message == f"Cannot reach Medusa at {url}: connection refused (check the host and port)"
    assert elapsed < 1


def test_an_unknown_host_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message, _ = test_connection(monkeypatch, "http://medusa.invalid")
    assert not ok
    assert message == "Cannot reach Medusa at http://medusa.invalid: unknown host (DNS lookup failed)"


def test_a_server_that_never_answers_is_given_up_on_within_the_budget(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.queue(Reply(body=STORES, delay=TEST_CONNECTION_SECONDS + 3))
    # The connection's own timeout (for the sync's long batch calls) does not stretch the Test button.
    ok, message, elapsed = test_connection(monkeypatch, server.url, timeout=120)
    assert not ok
    assert message == f"Cannot reach Medusa at {server.url}: no answer within {TEST_CONNECTION_SECONDS:g} s"
    assert TEST_CONNECTION_SECONDS <= elapsed < TEST_CONNECTION_SECONDS + 1
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply(
            status=404, raw=b"<html>Cannot GET /admin/stores</html>", headers={"Content-Type": "text/html"}
        ),
        Reply(status=200, raw=b"<html>Welcome to nginx</html>", headers={"Content-Type": "text/html"}),
        Reply(status=200, body={"hello": "world"}),
    ],
    ids=["404", "200_html", "200_other_json"],
)
def test_a_server_that_is_not_medusa_is_named(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, reply: Reply
) -> None:
    server.queue(reply)
    ok, message, _ = test_connection(monkeypatch, server.url)
    assert not ok
    assert message.startswith(f"{server.url} answered") and message.endswith(NOT_MEDUSA), message


def test_a_server_error_is_reported_without_retrying(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.json({"type": "unexpected_state", "message": "database is down"}, status=503)
    ok, message, _ = test_connection(monkeypatch, server.url)
    assert not ok
    assert message == f"Medusa at {server.url} answered 503 on /admin/stores: database is down"
    assert len(server.requests) == 1


def test_no_secret_in_any_verdict(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key echoed back by a misconfigured server is still never shown."""
    server.json({"type": "unauthorized", "message": "bad"}, status=401)
    monkeypatch.setenv(
        "AIRFLOW_CONN_MEDUSA_DEFAULT",
        json.dumps(
            {
                "conn_type": "medusa",
                "host": server.url.replace("://", f"://user:{API_KEY}@"),
                "password": API_KEY,
            }
        ),
    )
    ok, message = MedusaHook().test_connection()
    assert not ok
    assert_no_secret(message)
