from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk import Connection

from medusa_sync.hooks.http_session import KeepAliveAdapter, base_url_of, open_session

from .fake_http import FakeServer, serve


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


def conn(host: str = "", **fields: Any) -> Connection:
    extra = json.dumps(fields.pop("extra")) if "extra" in fields else None
    return Connection(conn_id="c", conn_type="http", host=host, extra=extra, **fields)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"host": "https://shop.example/api"}, "https://shop.example/api"),
        ({"host": "shop.example"}, "http://shop.example"),
        ({"host": "shop.example", "schema": "https", "port": 9000}, "https://shop.example:9000"),
        ({"host": "http://127.0.0.1", "port": 9000}, "http://127.0.0.1:9000"),
    ],
)
def test_the_base_url_reads_like_an_http_connection(fields: dict[str, Any], expected: str) -> None:
    assert base_url_of(conn(**fields)) == expected


def test_a_connection_without_a_host_takes_the_hook_s_default() -> None:
    assert base_url_of(conn(), default_host="https://dummyjson.com") == "https://dummyjson.com"


def test_transport_extras_configure_the_session_and_never_become_headers() -> None:
    extra = {
        "proxies": {"https": "http://proxy.internal:3128"},
        "verify": "false",
        "cert": "/etc/ssl/client.pem",
        "max_redirects": 3,
        "trust_env": False,
        "timeout": "12.5",
    }
    opened = open_session(conn("https://shop.example", extra=extra), extras_as_headers=True)
    session = opened.session
    assert session.proxies == {"https": "http://proxy.internal:3128"}
    assert session.verify is False
    assert session.cert == "/etc/ssl/client.pem"
    assert (session.max_redirects, session.trust_env) == (3, False)
    assert opened.timeout == 12.5
    assert not {k.lower() for k in session.headers} & {k.lower() for k in extra}
    assert opened.ignored_extras == []


def test_other_extras_are_headers_only_when_asked_and_only_as_strings() -> None:
    extra = {"X-Catalog-Token": "abc", "page_hint": 3}
    as_headers = open_session(conn("shop.example", extra=extra), extras_as_headers=True)
    assert as_headers.session.headers["X-Catalog-Token"] == "abc"
    assert "page_hint" not in as_headers.session.headers
    assert as_headers.ignored_extras == ["page_hint"]

    kept_out = open_session(conn("shop.example", extra=extra))
    assert "X-Catalog-Token" not in kept_out.session.headers
    assert sorted(kept_out.ignored_extras) == ["X-Catalog-Token", "page_hint"]


def test_the_first_timeout_key_set_wins() -> None:
    extra = {"timeout": "", "extra__medusa__timeout": 7}
    opened = open_session(
        conn("shop.example", extra=extra), timeout_keys=("timeout", "extra__medusa__timeout")
    )
    assert opened.timeout == 7.0
    assert opened.ignored_extras == []


@pytest.mark.parametrize("empty", [None, "", " "])
def test_a_transport_field_left_empty_in_the_form_means_its_default(empty: Any) -> None:
    """The connection form stores a field left empty as null or an empty string: neither may turn
    certificate checks, the environment's proxies or redirects off."""
    keys = ("proxies", "verify", "cert", "max_redirects", "trust_env", "stream", "timeout")
    opened = open_session(conn("https://shop.example", extra=dict.fromkeys(keys, empty)))
    session = opened.session
    assert (session.verify, session.trust_env, session.stream) == (True, True, False)
    assert (session.proxies, session.cert, session.max_redirects, opened.timeout) == ({}, None, 30, None)


def test_an_empty_form_field_leaves_its_alias_in_the_extra_json_in_force() -> None:
    extra = {
        "proxies": None,
        "proxy": {"https": "http://proxy.internal:3128"},
        "verify": "",
        "verify_ssl": "false",
    }
    session = open_session(conn("https://shop.example", extra=extra)).session
    assert session.proxies == {"https": "http://proxy.internal:3128"}
    assert session.verify is False


def test_a_proxy_extra_sends_the_request_through_the_proxy(server: FakeServer) -> None:
    server.json({"ok": True})
    opened = open_session(conn("http://catalog.invalid", extra={"proxies": {"http": server.url}}))
    response = opened.session.get(opened.base_url + "/products", timeout=5)
    assert response.json() == {"ok": True}
    assert server.requests[0].headers["Host"] == "catalog.invalid"


def test_connections_probe_idle_sockets_with_tcp_keep_alive(server: FakeServer) -> None:
    """A long batch request must not be cut off silently by a NAT that forgets quiet connections."""
    server.json({})
    opened = open_session(conn(server.url))
    adapter = opened.session.get_adapter(server.url)
    assert isinstance(adapter, KeepAliveAdapter)
    with opened.session.get(server.url + "/", timeout=5, stream=True) as response:
        sock = response.raw.connection.sock  # the socket the answer is still being read from
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        if hasattr(socket, "TCP_KEEPIDLE"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 120


@pytest.mark.parametrize("key", ["timeout", "max_redirects"])
def test_a_number_extra_that_is_not_one_is_named_with_its_connection(key: str) -> None:
    with pytest.raises(ValueError, match=rf"connection 'c': extra '{key}' must be a number, not 'soon'"):
        open_session(conn("shop.example", extra={key: "soon"}))
