"""A ``requests`` session built from an Airflow connection: base URL, transport extras, keep-alive.

Both hooks need what an ``http`` connection means (a host with or without a scheme, a port, TLS
and proxy extras) but not the HTTP provider's hook: its status handling and retries are replaced
by ours, and importing it costs every task the start-up of an async HTTP client it never uses.
The connection fields and extras read here are the ones the ``http`` connection documents, so a
connection written for ``HttpHook`` means the same thing to our hooks.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from requests import Session
from requests.adapters import HTTPAdapter
from requests.models import DEFAULT_REDIRECT_LIMIT
from urllib3.connection import HTTPConnection

from medusa_sync.hooks.connection_secrets import (
    ConnectionSecrets,
    fail_on_problems,
    header_problem,
    redact_userinfo,
)

# Extras that configure the transport or the hook, never sent as headers.
TRANSPORT_EXTRAS: frozenset[str] = frozenset(
    {
        "proxies",
        "proxy",
        "verify",
        "verify_ssl",
        "cert",
        "stream",
        "max_redirects",
        "trust_env",
        "timeout",
        # Understood by the HTTP provider's own calls, which these hooks do not make.
        "allow_redirects",
        "check_response",
        "srv_lookup",
    }
)

# Probe an idle connection after 2 minutes, every 30 s, 20 times: a long batch request behind a
# NAT or load balancer is not cut off silently while Medusa works on it.
KEEPALIVE_IDLE_S = 120
KEEPALIVE_INTERVAL_S = 30
KEEPALIVE_PROBES = 20


class KeepAliveAdapter(HTTPAdapter):
    """An adapter whose connections send TCP keep-alive probes while they wait for an answer."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        options = list(HTTPConnection.default_socket_options)
        options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
        for name, value in (
            ("TCP_KEEPIDLE", KEEPALIVE_IDLE_S),
            ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_S),
            ("TCP_KEEPCNT", KEEPALIVE_PROBES),
        ):
            if hasattr(socket, name):  # Linux names; other systems keep their own timings
                options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
        kwargs["socket_options"] = options
        super().init_poolmanager(*args, **kwargs)


@dataclass
class ConnectionSession:
    """What a hook needs from its connection: the session, the base URL and the timeout extra."""

    session: Session
    base_url: str
    timeout: float | None
    # Extras that are neither transport settings nor sent as headers (for the hook to mention).
    ignored_extras: list[str]
    # Header values, proxy and URL passwords: masked in the task log, scrubbed from hook errors.
    secrets: ConnectionSecrets


def base_url_of(connection: Any, default_host: str = "") -> str:
    """``host`` as is when it holds a scheme, else ``{schema or http}://{host}``, then ``:port``."""
    host = (connection.host or default_host or "").strip()
    schema = connection.schema or "http"
    url = host if "://" in host else f"{schema}://{host}"
    if connection.port:
        url = f"{url}:{connection.port}"
    if not urlparse(url).scheme:
        raise ValueError(
            f"connection {connection.conn_id!r}: the URL {redact_userinfo(url)!r} has no scheme "
            "(http or https)"
        )
    return url


def _setting(extra: dict[str, Any], *keys: str, default: Any = None) -> Any:
    """The first of ``keys`` that holds a value. ``None`` and a blank string are unset: what the
    connection form stores for a field left empty, which must mean the default (an empty
    ``verify`` would otherwise turn certificate checks off)."""
    for key in keys:
        value = extra.get(key)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value
    return default


def _flag(value: Any) -> Any:
    """``"false"``/``"true"`` typed into a form mean the booleans, not a file called "false"."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _number(connection: Any, key: str, value: Any, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"connection {connection.conn_id!r}: extra {key!r} must be a number, not {value!r}"
        ) from None


def open_session(
    connection: Any,
    *,
    default_host: str = "",
    extras_as_headers: bool = False,
    timeout_keys: tuple[str, ...] = ("timeout",),
    credential_problems: Iterable[str] = (),
    hook_extras: Iterable[str] = (),
) -> ConnectionSession:
    """A session configured from ``connection``'s fields and extras.

    Transport extras (``proxies``/``proxy``, ``verify``/``verify_ssl``, ``cert``, ``stream``,
    ``max_redirects``, ``trust_env``) configure the session. With ``extras_as_headers`` every other
    string extra is sent as a header, as an ``http`` connection does (an API token the catalog
    wants); otherwise, and for values that are not strings, they are left out and listed in
    ``ignored_extras``. The first of ``timeout_keys`` that is set gives ``timeout``. ``hook_extras``
    are the hook's own settings (the source's ``source_format``): neither sent nor listed.

    A header extra that requests or HTTP would refuse (a line break, leading whitespace, a
    character outside Latin-1, a name that is not a token) raises ``ConnectionSettingError``
    before any request, together with the hook's ``credential_problems``: a fail-fast error
    naming the connection and each extra, never a value.
    """
    extra: dict[str, Any] = dict(connection.extra_dejson or {})
    session = Session()
    session.headers["Accept"] = "application/json"
    session.proxies = _setting(extra, "proxies", "proxy") or {}
    session.verify = _flag(_setting(extra, "verify", "verify_ssl", default=True))
    session.cert = _setting(extra, "cert")
    session.stream = bool(_flag(_setting(extra, "stream", default=False)))
    session.max_redirects = _number(
        connection, "max_redirects", _setting(extra, "max_redirects", default=DEFAULT_REDIRECT_LIMIT), int
    )
    session.trust_env = bool(_flag(_setting(extra, "trust_env", default=True)))
    adapter = KeepAliveAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)

    timeout: float | None = None
    for key in timeout_keys:
        if _setting(extra, key) is not None:
            timeout = _number(connection, key, extra[key], float)
            break

    own = frozenset(hook_extras)
    secrets = ConnectionSecrets()
    problems = list(credential_problems)
    ignored: list[str] = []
    for name, value in extra.items():
        if name in TRANSPORT_EXTRAS or name in timeout_keys or name in own:
            continue
        if extras_as_headers and isinstance(value, str):
            secrets.add(value)  # which header carries a token is not known: every value is hidden
            problem = header_problem(name, value)
            if problem:
                problems.append(f"extra {name[:60]!r} {problem}")
            else:
                session.headers[name] = value
        else:
            ignored.append(name)
    proxies = session.proxies.values() if isinstance(session.proxies, dict) else [session.proxies]
    for proxy in proxies:
        secrets.add_url(proxy)
    fail_on_problems(connection.conn_id, problems)
    base_url = base_url_of(connection, default_host)
    secrets.add_url(base_url)
    return ConnectionSession(session, base_url, timeout, ignored, secrets)
