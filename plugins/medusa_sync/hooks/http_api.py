"""What the package's two HTTP hooks share: one session per hook opened from its connection, a
call retried by the hook's policy, and errors that never carry a secret.

``MedusaHook`` (the Admin API) and ``CatalogSourceHook`` (the product feed) differ in how they log
in and what their answers mean; how they send is the same, and lives here once. A hook for a third
API subclasses ``HttpApiHook``: it sets ``conn_name_attr``, ``default_conn_name`` and ``service``,
opens its session in ``get_conn`` and says what "no response" means in ``no_response_error``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from airflow.sdk import BaseHook
from requests import Response, Session

from medusa_sync.hooks.connection_secrets import ConnectionSecrets
from medusa_sync.hooks.retries import RETRYABLE_EXCEPTIONS, RetryPolicy, call_with_retry


def no_response_reason(exc: BaseException) -> str:
    """Short, secret-free description of why no response came (requests' text holds whole URLs)."""
    detail = str(exc)
    for marker in ("[Errno", "timed out", "Read timed out", "Connection refused", "Connection reset"):
        index = detail.find(marker)
        if index >= 0:
            end = detail.find("'", index)
            return f"{type(exc).__name__}: {detail[index : end if end > index else None][:120]}"
    return type(exc).__name__


class HttpApiHook(BaseHook):
    """An HTTP API behind one Airflow connection, spoken with ``requests``.

    :param conn_id: the connection (its id is also kept under the subclass's ``conn_name_attr``,
        e.g. ``medusa_conn_id``, as Airflow's hooks do).
    :param retry: how often and how patiently a call is sent again after an outage, a 429 or a
        5xx; ``RetryPolicy()`` by default.
    :param timeout: seconds a request may take; the connection's ``timeout`` extra wins.
    """

    # Names the API in log lines and errors ("Medusa GET /admin/products").
    service = "HTTP"

    def __init__(self, conn_id: str, *, retry: RetryPolicy | None = None, timeout: float = 60.0) -> None:
        super().__init__()
        setattr(self, self.conn_name_attr, conn_id)
        self.retry_policy = retry or RetryPolicy()
        self.timeout = timeout
        self.base_url = ""
        self._session: Session | None = None
        # Threads may send their first requests at once: the session is opened by one of them.
        self._opening = threading.Lock()
        # Every secret the connection holds, so that no log line or error repeats one.
        self._secrets = ConnectionSecrets()
        self._sleep: Callable[[float], Any] = time.sleep  # tests swap it for a recorder

    @property
    def conn_id(self) -> str:
        return str(getattr(self, self.conn_name_attr))

    @property
    def log(self) -> logging.Logger:  # type: ignore[override]
        """A stdlib logger named for the hook's module: Airflow routes it into the task log and
        tests can capture it."""
        return logging.getLogger(type(self).__module__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.conn_name_attr}={self.conn_id!r})"

    def get_conn(self) -> Session:
        """A session for the connection; sets ``base_url`` and the secrets to scrub."""
        raise NotImplementedError

    def session(self) -> Session:
        """The hook's session, opened from its connection on first use (by one thread only)."""
        if self._session is None:
            with self._opening:
                if self._session is None:
                    self._session = self.get_conn()
        return self._session

    def no_response_error(self, reason: str, method: str, path: str) -> Exception:
        """The error raised when no usable response came after every attempt (``reason`` is
        already free of secrets)."""
        raise NotImplementedError

    def send_with_retries(
        self,
        method: str,
        path: str,
        send: Callable[[], Response],
        *,
        idempotent: bool = True,
        unusable: Callable[[Response], str | None] | None = None,
    ) -> Response:
        """``send`` until a final answer, by the hook's retry policy (``retries.call_with_retry``).

        Whatever ``send`` raises has the connection's secrets scrubbed from it (requests may quote
        a header value or a URL's password); no response after the last attempt becomes
        ``no_response_error``. The response is returned whatever its status.
        """
        started = time.monotonic()

        def attempt() -> Response:
            try:
                return send()
            except Exception as exc:
                raise self._secrets.scrubbed(exc) from None

        try:
            response = call_with_retry(
                attempt,
                self.retry_policy,
                describe=f"{self.service} {method} {path}",
                log=self.log,
                sleep=self._sleep,
                idempotent=idempotent,
                unusable=unusable,
            )
        except RETRYABLE_EXCEPTIONS as exc:
            raise self.no_response_error(self._secrets.scrub(no_response_reason(exc)), method, path) from None
        self.log.debug(
            "%s %s %s -> %d (%.0f ms)",
            self.service,
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response
