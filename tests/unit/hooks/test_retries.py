from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from medusa_sync.hooks.retries import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    call_with_retry,
    never_sent,
    retry_after,
)

LOG = logging.getLogger("test_retry")


def response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made.headers.update(headers or {})
    made._content = b"{}"
    made._content_consumed = True
    return made


def scripted(*outcomes: requests.Response | Exception):
    calls: list[int] = []

    def send() -> requests.Response:
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return send, calls


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_in_band_and_under_cap() -> None:
    policy = RetryPolicy(initial_delay=10.0, max_delay=30.0, jitter=0.1)
    assert all(9.0 <= policy.delay(1) <= 11.0 for _ in range(200))
    assert all(policy.delay(5) <= 30.0 for _ in range(200))


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_retryable_statuses() -> None:
    assert {429, 500, 502, 503, 504} <= RETRYABLE_STATUSES
    assert not {400, 401, 404, 409, 413} & RETRYABLE_STATUSES


def test_retry_after_seconds_and_date() -> None:
    assert retry_after(response(429, {"Retry-After": "7"})) == 7.0
    assert retry_after(response(429)) is None
    assert retry_after(response(429, {"Retry-After": "soon"})) is None
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 <= (retry_after(response(503, {"Retry-After": future})) or 0) <= 20
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=20), usegmt=True)
    assert retry_after(response(503, {"Retry-After": past})) == 0.0


def test_retries_then_returns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    waits: list[float] = []
    send, _ = scripted(
        requests.ConnectionError("refused"),
        requests.Timeout("slow"),
        response(503),
        response(429, {"Retry-After": "99"}),
        response(200),
    )
    policy = RetryPolicy(max_attempts=5, jitter=0, max_delay=10.0)
    result = call_with_retry(send, policy, describe="GET /x", log=LOG, sleep=waits.append)
    assert result.status_code == 200
    assert waits == [1.0, 2.0, 4.0, 10.0]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4
    assert "attempt 1/5" in messages[0] and "ConnectionError" in messages[0]
    assert "status 503" in messages[2] and "4.00s" in messages[2]


@pytest.mark.parametrize("status", [400, 401, 404, 413])
def test_client_errors_are_returned_at_once(status: int) -> None:
    waits: list[float] = []
    send, calls = scripted(response(status))
    result = call_with_retry(send, RetryPolicy(), describe="GET /x", log=LOG, sleep=waits.append)
    assert result.status_code == status
    assert (len(calls), waits) == (1, [])


def test_last_retryable_response_is_returned() -> None:
    waits: list[float] = []
    send, calls = scripted(*(response(502) for _ in range(3)))
    result = call_with_retry(
        send, RetryPolicy(max_attempts=3, jitter=0), describe="x", log=LOG, sleep=waits.append
    )
    assert result.status_code == 502
    assert len(calls) == 3
    assert waits == [1.0, 2.0]


def test_last_connection_error_is_reraised() -> None:
    waits: list[float] = []
    send, calls = scripted(*(requests.ConnectionError(f"refused {n}") for n in range(3)))
    with pytest.raises(requests.ConnectionError, match="refused 2"):
        call_with_retry(
            send, RetryPolicy(max_attempts=3, jitter=0), describe="x", log=LOG, sleep=waits.append
        )
    assert len(calls) == 3


def test_other_exceptions_propagate() -> None:
    send, calls = scripted(requests.exceptions.InvalidURL("bad"))
    with pytest.raises(requests.exceptions.InvalidURL):
        call_with_retry(send, RetryPolicy(), describe="x", log=LOG, sleep=lambda s: None)
    assert len(calls) == 1


def test_unusable_success_is_retried() -> None:
    waits: list[float] = []
    send, calls = scripted(response(200), response(200))
    seen = iter(["cut off", None])
    result = call_with_retry(
        send, RetryPolicy(jitter=0), describe="x", log=LOG, sleep=waits.append, unusable=lambda r: next(seen)
    )
    assert result.status_code == 200
    assert (len(calls), waits) == (2, [1.0])


def _refused() -> requests.ConnectionError:
    """What requests raises when nothing listens: the request never left the machine."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


def test_never_sent_tells_connect_failures_from_lost_responses() -> None:
    assert never_sent(_refused())
    assert never_sent(requests.ConnectTimeout("connect timed out"))
    assert not never_sent(requests.ReadTimeout("read timed out"))
    assert not never_sent(requests.ConnectionError("Connection aborted: RemoteDisconnected"))
    assert not never_sent(requests.exceptions.ChunkedEncodingError("cut off"))


def test_non_idempotent_is_not_repeated_once_it_may_have_arrived(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    send, calls = scripted(requests.ReadTimeout("read timed out"), response(200))
    with pytest.raises(requests.ReadTimeout):
        call_with_retry(
            send, RetryPolicy(), describe="POST /x", log=LOG, sleep=lambda s: None, idempotent=False
        )
    assert len(calls) == 1
    assert "not repeated" in caplog.text


def test_non_idempotent_is_repeated_when_never_sent_or_refused_by_status() -> None:
    waits: list[float] = []
    send, calls = scripted(_refused(), requests.ConnectTimeout("slow"), response(503), response(201))
    policy = RetryPolicy(jitter=0)
    result = call_with_retry(send, policy, describe="POST /x", log=LOG, sleep=waits.append, idempotent=False)
    assert result.status_code == 201
    assert len(calls) == 4
    assert waits == [1.0, 2.0, 4.0]


def test_gateway_timeout_is_final_for_non_idempotent() -> None:
    send, calls = scripted(response(504), response(200))
    result = call_with_retry(
        send, RetryPolicy(), describe="x", log=LOG, sleep=lambda s: None, idempotent=False
    )
    assert result.status_code == 504
    assert len(calls) == 1
    send, calls = scripted(response(504), response(200))
    result = call_with_retry(send, RetryPolicy(), describe="x", log=LOG, sleep=lambda s: None)
    assert (result.status_code, len(calls)) == (200, 2)


def test_huge_attempt_number_is_capped() -> None:
    assert RetryPolicy(jitter=0, max_delay=30.0).delay(10_000) == 30.0


def test_retry_after_is_capped_by_max_delay() -> None:
    waits: list[float] = []
    send, _ = scripted(response(503, {"Retry-After": "3600"}), response(200))
    call_with_retry(send, RetryPolicy(max_delay=7.5), describe="x", log=LOG, sleep=waits.append)
    assert waits == [7.5]
