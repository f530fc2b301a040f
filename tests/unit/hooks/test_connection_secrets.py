"""No secret of either connection in any output: a header extra or credential that cannot be sent
fails the task at once, naming the connection and the field, never the value; whatever error
text a hook lets out is scrubbed of the connection's secrets; the task log carries none of them."""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException

from medusa_sync.errors import SourceApiError
from medusa_sync.hooks.connection_secrets import (
    ConnectionSecrets,
    ConnectionSettingError,
    credential_problem,
    header_problem,
)
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.hooks.retries import RetryPolicy, never_sent
from medusa_sync.hooks.source import CatalogSourceHook

from .fake_http import FakeServer, serve

TOKEN = "tok_7f3a9c2e5b81d046"  # the secret part; a test fails if it shows anywhere
API_KEY = "sk_live_5e0c1f9a2b7d4e63"
JWT = "eyJhbGciOiJIUzI1NiJ9.payload-7c1d.signature-3e9a"


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def source_connection(monkeypatch: pytest.MonkeyPatch, host: str, **fields: Any) -> None:
    conn = {"conn_type": "http", "host": host, **fields}
    monkeypatch.setenv("AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps(conn))


def medusa_connection(monkeypatch: pytest.MonkeyPatch, host: str, **fields: Any) -> None:
    conn = {"conn_type": "medusa", "host": host, **fields}
    monkeypatch.setenv("AIRFLOW_CONN_MEDUSA_DEFAULT", json.dumps(conn))


def source_hook() -> CatalogSourceHook:
    hook = CatalogSourceHook(retry=RetryPolicy(max_attempts=3, jitter=0), timeout=5)
    hook._sleep = lambda seconds: None
    return hook


def medusa_hook() -> MedusaHook:
    hook = MedusaHook(retry=RetryPolicy(max_attempts=3, jitter=0), timeout=5)
    hook._sleep = lambda seconds: None
    return hook


def assert_nowhere(secret: str, error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    """Neither the error (text, repr, what a pickled copy says) nor the log shows the secret, in
    any of the forms a library prints it."""
    texts = [str(error), repr(error), str(pickle.loads(pickle.dumps(error))), caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        for form in (secret, secret.strip(), repr(secret)[1:-1]):
            assert form not in text, text


# -- the source connection: header extras and Basic auth ------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("Authorization", f"Bearer {TOKEN}\n", "has a line break at its end"),
        ("X-Api-Key", f"{TOKEN}\r\n", "has a line break at its end"),
        ("X-Catalog-Key", f"{TOKEN}\nX-Evil: 1", "has a line break in it"),
        ("X-Catalog-Key", f" {TOKEN}", "begins with whitespace"),
        ("X-Catalog-Key", f"{TOKEN}\x00", "has a control character"),
        ("X-Catalog-Key", f"\u201c{TOKEN}\u201d", "has a character HTTP headers cannot carry"),
    ],
)
def test_a_source_header_extra_that_cannot_be_sent_fails_the_task_at_once_naming_it(
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    value: str,
    why: str,
) -> None:
    source_connection(monkeypatch, server.url, extra={name: value, "X-Tenant": "shop-1"})
    hook = source_hook()
    with pytest.raises(ConnectionSettingError) as info:
        next(hook.iter_pages(concurrency=1))
    error = info.value
    assert isinstance(error, AirflowFailException)  # Airflow does not retry it
    assert f"connection 'dummyjson_default': extra {name!r} value {why}" in str(error)
    assert "Edit the connection" in str(error)
    assert server.requests == []  # failed before any request
    assert_nowhere(value, error, caplog)
    assert_nowhere(TOKEN, error, caplog)


def test_every_bad_extra_is_named_at_once_and_a_bad_header_name_too(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {"Authorization": f"Bearer {TOKEN}\n", "X Catalog Key": "fine-value", "X-Ok": "fine"}
    source_connection(monkeypatch, server.url, extra=extra)
    with pytest.raises(ConnectionSettingError) as info:
        source_hook().get_json("/products")
    message = str(info.value)
    assert "extra 'Authorization' value has a line break" in message
    assert "extra 'X Catalog Key' is not a valid HTTP header name" in message
    assert "'X-Ok'" not in message and TOKEN not in message


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"login": "reader", "password": f"{TOKEN}\n"}, "password has a line break"),
        ({"login": "reader\n", "password": TOKEN}, "login has a line break"),
        ({"login": "read:er", "password": TOKEN}, "login has a colon"),
        ({"login": "reader", "password": f"{TOKEN}\u20ac"}, "password has a character HTTP Basic auth"),
    ],
)
def test_a_source_login_or_password_basic_auth_cannot_send_fails_at_once(
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fields: dict[str, str],
    named: str,
) -> None:
    source_connection(monkeypatch, server.url, **fields)
    with pytest.raises(ConnectionSettingError) as info:
        source_hook().get_json("/products")
    assert f"connection 'dummyjson_default': {named}" in str(info.value)
    assert server.requests == []
    assert_nowhere(fields["password"], info.value, caplog)


def test_good_header_extras_are_sent_and_a_password_without_login_is_not_checked(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {"Authorization": f"Bearer {TOKEN}", "X-Tenant": "shop 1\tsouth"}
    source_connection(monkeypatch, server.url, password="unused\n", extra=extra)
    server.json({"products": [], "total": 0})
    assert source_hook().get_json("/products") == {"products": [], "total": 0}
    sent = server.requests[0].headers
    assert sent["Authorization"] == f"Bearer {TOKEN}" and sent["X-Tenant"] == "shop 1\tsouth"


def test_a_requests_error_quoting_a_source_header_is_scrubbed(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The check at load time is the first line; the second holds if a value gets past it (here
    put into the session by hand): requests' ``InvalidHeader`` quotes it, escaped."""
    source_connection(monkeypatch, server.url, extra={"X-Catalog-Key": TOKEN})
    hook = source_hook()
    hook.session().headers["X-Catalog-Key"] = f"{TOKEN}\n"
    with pytest.raises(requests.exceptions.InvalidHeader) as info:
        hook.get_json("/products")
    assert "header value: '***\\n'" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert_nowhere(TOKEN, info.value, caplog)


def test_a_source_answer_echoing_the_token_is_scrubbed_from_the_error(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    source_connection(monkeypatch, server.url, extra={"X-Catalog-Key": TOKEN})
    server.json({"message": f"key {TOKEN} is not valid"}, status=403)
    with pytest.raises(SourceApiError) as info:
        source_hook().get_json("/products")
    assert info.value.status == 403 and "key *** is not valid" in info.value.message
    assert_nowhere(TOKEN, info.value, caplog)


# -- the Medusa connection: its key, or an admin login -------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"password": f"{API_KEY}\n"}, "password (the secret API key) has a line break"),
        ({"password": f" {API_KEY}"}, "password (the secret API key) begins or ends with whitespace"),
        ({"login": "admin@example.test\n", "password": API_KEY}, "login (the admin email) has a line break"),
        ({"login": "admin@example.test", "password": f"{API_KEY}\r\n"}, "password (the admin password) has"),
    ],
)
def test_a_medusa_key_or_login_pasted_with_a_newline_fails_at_once_naming_the_field(
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fields: dict[str, str],
    named: str,
) -> None:
    medusa_connection(monkeypatch, server.url, **fields)
    with pytest.raises(ConnectionSettingError) as info:
        medusa_hook().request("GET", "/admin/stores")
    assert isinstance(info.value, AirflowFailException)
    assert f"connection 'medusa_default': {named}" in str(info.value)
    assert server.requests == []
    assert_nowhere(API_KEY, info.value, caplog)


def test_the_medusa_test_button_names_the_field_without_the_key(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    medusa_connection(monkeypatch, server.url, password=f"{API_KEY}\n")
    ok, message = medusa_hook().test_connection()
    assert not ok and "password (the secret API key) has a line break" in message
    assert API_KEY not in message and server.requests == []


def test_a_login_token_requests_refuses_is_scrubbed_from_the_error(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A login answer whose token ends with a newline: the HTTP client refuses the Authorization
    header it makes, quoting it; the error that leaves the hook shows neither the token nor the key."""
    medusa_connection(monkeypatch, server.url, login="admin@example.test", password=API_KEY)
    server.json({"token": f"{JWT}\n"})
    with pytest.raises(ValueError, match="Invalid header value") as info:
        medusa_hook().request("GET", "/admin/stores")
    assert "'Bearer ***'" in str(info.value)
    assert [r.path for r in server.requests] == ["/auth/user/emailpass"]
    assert_nowhere(JWT, info.value, caplog)
    assert_nowhere(API_KEY, info.value, caplog)


# -- the checks and the scrubbing themselves -------------------------------------------------------


def test_the_header_check_refuses_what_requests_refuses() -> None:
    session = requests.Session()
    for value in ("tok\n", "tok\r", " tok", "\ttok", "a\nb", "tok\r\n"):
        assert header_problem("X-Key", value) is not None
        request = requests.Request("GET", "http://x.invalid/", headers={"X-Key": value})
        with pytest.raises(requests.exceptions.InvalidHeader):
            session.prepare_request(request)
    for value in ("tok", "Bearer a.b-c_d", "", "tok ", "caf\u00e9"):
        assert header_problem("X-Key", value) is None
    for name in ("X Key", "X-Key:", " X-Key", "X-K\u00e9y", ""):
        assert header_problem(name, "tok") is not None


def test_credentials_keep_spaces_inside_but_never_line_breaks() -> None:
    assert credential_problem("pass word", latin1=True, surrounding_space=False) is None
    assert credential_problem("pass word ", latin1=False, surrounding_space=True) is not None
    assert credential_problem("p\u00e4ss", latin1=True, surrounding_space=False) is None
    assert credential_problem("p\u0101ss", latin1=True, surrounding_space=False) is not None
    assert credential_problem("p\u0101ss", latin1=False, surrounding_space=False) is None
    assert credential_problem("pass\n", latin1=False, surrounding_space=False) is not None


def test_scrubbing_hides_every_form_a_library_prints_and_keeps_what_a_retry_needs() -> None:
    secrets = ConnectionSecrets()
    secrets.add(f"Bearer {TOKEN}\n")
    secrets.add_url("http://proxy-user:proxy-pass-77@proxy.internal:3128")
    secrets.add("abc")  # too short to scrub without garbling every text
    text = (
        f"value: 'Bearer {TOKEN}\\n', token {TOKEN}, quoted {TOKEN}%0A, "
        "url http://user:pw@host/x, proxy proxy-pass-77, abc"
    )
    assert secrets.scrub(text) == (
        "value: '***', token ***, quoted ***%0A, url http://***@host/x, proxy ***, abc"
    )
    refused = requests.ConnectionError(f"connect to {TOKEN} refused")
    assert secrets.scrubbed(refused) is not refused and TOKEN not in str(secrets.scrubbed(refused))
    assert isinstance(secrets.scrubbed(refused), requests.ConnectionError)
    clean = requests.ConnectionError("refused")
    assert secrets.scrubbed(clean) is clean
    encode = UnicodeEncodeError("latin-1", f"{TOKEN}\u20ac", 19, 20, "ordinal not in range(256)")
    rebuilt = secrets.scrubbed(encode)  # its repr holds the whole string it could not encode
    assert TOKEN not in repr(rebuilt) and str(rebuilt).startswith("UnicodeEncodeError: ")


def test_a_connect_timeout_stays_one_that_never_reached_the_server_after_scrubbing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

    secrets = ConnectionSecrets()
    secrets.add(TOKEN)
    reason = MaxRetryError(None, f"/x?k={TOKEN}", ConnectTimeoutError(f"timed out {TOKEN}"))
    original = requests.ConnectionError(reason)
    assert never_sent(original)
    scrubbed = secrets.scrubbed(original)
    assert never_sent(scrubbed) and TOKEN not in str(scrubbed)
