"""A real SMTP server for the tests: aiosmtpd on a free local port, keeping every mail it accepts.

The failure alert is sent by the dag-processor of a real Airflow, in another process, through the
SMTP provider's hook: the tests check what arrives at a server speaking SMTP (with a login, so the
hook's real authentication path runs), not what a mock in the test process was called with.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.stack import medusa_server as ms


class MailServer:
    """Offers ``AUTH`` (plain text: tests only) and records each successful login, so a test can
    see the hook logged in with the connection's password; refuses a wrong password."""

    def __init__(self, login: str = "airflow-alerts") -> None:
        self.login = login
        self.password = f"smtp-{secrets.token_hex(12)}"
        self.port = ms.free_port()
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []
        self._lock = threading.Lock()
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command

    def connection(self, from_email: str = "airflow@example.com") -> dict[str, Any]:
        """The Airflow ``smtp`` connection for this server (no TLS, no SSL, one attempt)."""
        return {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": self.port,
            "login": self.login,
            "password": self.password,
            "extra": {
                "from_email": from_email,
                "disable_ssl": True,
                "disable_tls": True,
                "timeout": 10,
                "retry_limit": 0,
            },
        }

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (
            self.login,
            self.password,
        )
        if ok:
            with self._lock:
                self.logins.append(mechanism)
        return AuthResult(success=ok)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def mails(self, matching: Callable[[EmailMessage], bool] = lambda m: True) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if matching(m)]

    def wait_for(
        self, matching: Callable[[EmailMessage], bool], timeout: float = 120, interval: float = 0.5
    ) -> list[EmailMessage]:
        """Poll until at least one mail matches (then return all that match), or ``timeout`` passes
        (then return the empty list)."""
        deadline = time.monotonic() + timeout
        while not (found := self.mails(matching)) and time.monotonic() < deadline:
            time.sleep(interval)
        return found

    def start(self) -> MailServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def body_text(message: EmailMessage) -> str:
    """The decoded text of every text part (the alert is HTML)."""
    parts = [p for p in message.walk() if p.get_content_maintype() == "text"]
    return "\n".join(p.get_content() for p in parts)
