"""When a request is sent again: the retry policy (backoff, ``Retry-After``) and what may be resent
(a POST only when it certainly never reached the server). Public: a deployment may pass its own
``RetryPolicy`` to either hook.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import requests
from urllib3.exceptions import ConnectTimeoutError

# Rate limiting and server-side failures; every other 4xx means the request itself is wrong.
RETRYABLE_STATUSES: frozenset[int] = frozenset({429, *range(500, 600)})

# No usable response arrived: the server may answer next time.
RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class _Logger(Protocol):
    def warning(self, msg: str, *args: Any) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap, so an outage is ridden out without hammering the server."""

    max_attempts: int = 5
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.multiplier < 1 or not 0 <= self.jitter < 1:
            raise ValueError("delays must be >= 0, multiplier >= 1 and 0 <= jitter < 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); jitter spreads clients."""
        try:
            base = self.initial_delay * self.multiplier ** max(attempt - 1, 0)
        except OverflowError:  # a huge attempt number: the cap applies anyway
            base = self.max_delay
        spread = random.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else 1.0
        return min(base * spread, self.max_delay)


def retry_after(response: requests.Response) -> float | None:
    """The server's ``Retry-After`` in seconds (delta or HTTP date), or None when absent or unreadable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(when.timestamp() - time.time(), 0.0)


def never_sent(exc: BaseException) -> bool:
    """Whether the request certainly never reached the server (so even a POST may be sent again).

    Only a failure to connect proves that; after a read timeout or a dropped connection the
    server may have done the work.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        return isinstance(getattr(exc.args[0], "reason", None), ConnectTimeoutError)
    return False


def call_with_retry(
    send: Callable[[], requests.Response],
    policy: RetryPolicy,
    *,
    describe: str,
    log: _Logger,
    sleep: Callable[[float], Any] = time.sleep,
    idempotent: bool = True,
    unusable: Callable[[requests.Response], str | None] | None = None,
) -> requests.Response:
    """Send until a final answer: a non-retryable status, a success, or attempts run out.

    ``describe`` goes into log lines as is: keep it to a method and a path, never a URL with
    credentials. With ``idempotent=False`` a request that may have reached the server (read
    timeout, dropped connection, 504 from a gateway) is not sent again: repeating a create could
    duplicate it, so the caller fails and leaves the retry to a level that can check the server's
    state first. ``unusable`` may say why a 2xx response cannot be used and is worth fetching
    again (e.g. a truncated body). The last response is returned either way: turning it into a
    typed error is the caller's job. When the last attempt got no response, its exception is
    re-raised.
    """
    attempt = 0
    while True:
        attempt += 1
        last = attempt >= policy.max_attempts
        try:
            response = send()
        except RETRYABLE_EXCEPTIONS as exc:
            if last:
                raise
            if not idempotent and not never_sent(exc):
                log.warning(
                    "%s: attempt %d/%d got no response (%s); not repeated, the server may have done it",
                    describe,
                    attempt,
                    policy.max_attempts,
                    type(exc).__name__,
                )
                raise
            wait = policy.delay(attempt)
            log.warning(
                "%s: attempt %d/%d got no response (%s); retrying in %.2fs",
                describe,
                attempt,
                policy.max_attempts,
                type(exc).__name__,
                wait,
            )
            sleep(wait)
            continue

        status = response.status_code
        if status in RETRYABLE_STATUSES and (idempotent or status != 504):
            reason = f"status {status}"
        elif unusable is not None and 200 <= status < 300:
            problem = unusable(response)
            if problem is None:
                return response
            reason = f"status {status} but {problem}"
        else:
            return response
        if last:
            return response

        hinted = retry_after(response) if status in RETRYABLE_STATUSES else None
        wait = min(hinted, policy.max_delay) if hinted is not None else policy.delay(attempt)
        log.warning(
            "%s: attempt %d/%d got %s; retrying in %.2fs",
            describe,
            attempt,
            policy.max_attempts,
            reason,
            wait,
        )
        response.close()
        sleep(wait)
