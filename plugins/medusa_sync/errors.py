"""Typed API errors, so callers can tell bad data from a server that will recover."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def _is_transient(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


def _bare_path(path: str) -> str:
    """Only the path: a query string may be long, and a full URL may carry credentials."""
    if "://" in path:
        path = urlsplit(path).path or "/"
    return path.split("?", 1)[0].split("#", 1)[0]


class MedusaApiError(Exception):
    """A Medusa Admin API call that failed after retries; carries what the operators decide on.

    ``status`` is None when no response came back at all (connection error or timeout).
    """

    def __init__(
        self,
        status: int | None,
        type: str | None,
        message: str,
        method: str,
        path: str,
    ) -> None:
        self.status = status
        self.type = type
        self.message = message
        self.method = method.upper()
        self.path = _bare_path(path)
        super().__init__(self.status, self.type, self.message, self.method, self.path)

    @property
    def transient(self) -> bool:
        """True when trying again later may succeed (no response, 5xx or 429)."""
        return _is_transient(self.status)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.type, self.message, self.method, self.path))

    def __str__(self) -> str:
        status = "no response" if self.status is None else str(self.status)
        kind = f" {self.type}" if self.type else ""
        return f"Medusa {self.method} {self.path} failed: {status}{kind}: {self.message}"


class StoreMovedError(MedusaApiError):
    """A whole-store read saw the list shift under it (a product deleted meanwhile): some product
    may have been skipped, so the read is worthless and is repeated; transient, so a task that ran
    out of repeats is retried by Airflow."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(None, "store_moved", message, "GET", path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.path))


class SourceApiError(Exception):
    """A catalog (source) API call that failed after retries, or returned an unusable body.

    ``transient`` may be forced, e.g. True for a 200 whose body was cut off.
    """

    def __init__(
        self,
        status: int | None,
        message: str,
        method: str,
        path: str,
        transient: bool | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.method = method.upper()
        self.path = _bare_path(path)
        self._transient = transient
        super().__init__(self.status, self.message, self.method, self.path)

    @property
    def transient(self) -> bool:
        """True when trying again later may succeed (no response, 5xx, 429 or a cut-off 200 body)."""
        return _is_transient(self.status) if self._transient is None else self._transient

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.message, self.method, self.path, self._transient))

    def __str__(self) -> str:
        status = "no response" if self.status is None else str(self.status)
        return f"Catalog {self.method} {self.path} failed: {status}: {self.message}"
