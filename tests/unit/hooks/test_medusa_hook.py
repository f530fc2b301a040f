from __future__ import annotations

import base64
import json
import logging
import pickle
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from medusa_sync.errors import MedusaApiError
from medusa_sync.hooks.http_session import TRANSPORT_EXTRAS
from medusa_sync.hooks.medusa import (
    MedusaHook,
    MedusaSetupError,
    ShippingProfileNotFound,
    StockLocationNotFound,
    StoreDefaults,
)
from medusa_sync.hooks.retries import RetryPolicy
from medusa_sync.provider import get_provider_info

from .fake_http import FakeServer, Reply, closed_port_url, serve

API_KEY = "sk_live_0123456789abcdef"
EMAIL = "admin@example.test"
PASSWORD = "Pa55-word-never-log"
JWT = "eyJhbGciOiJIUzI1NiJ9.jwt-payload.jwt-signature-1"
JWT2 = "eyJhbGciOiJIUzI1NiJ9.jwt-payload.jwt-signature-2"
SECRETS = (API_KEY, PASSWORD, JWT, JWT2, base64.b64encode(f"{API_KEY}:".encode()).decode())


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


def connect(monkeypatch: pytest.MonkeyPatch, host: str, *, login: str | None = None, **extra: Any) -> None:
    conn = {"conn_type": "medusa", "host": host, "password": PASSWORD if login else API_KEY, "extra": extra}
    if login:
        conn["login"] = login
    monkeypatch.setenv("AIRFLOW_CONN_MEDUSA_DEFAULT", json.dumps(conn))


def make_hook(attempts: int = 3, timeout: float = 5.0, max_delay: float = 30.0) -> tuple[MedusaHook, list]:
    waits: list[float] = []
    policy = RetryPolicy(
        max_attempts=attempts, initial_delay=1.0, multiplier=2.0, max_delay=max_delay, jitter=0
    )
    hook = MedusaHook(retry=policy, timeout=timeout)
    hook._sleep = waits.append
    return hook, waits


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_api_key_is_sent_as_basic_auth(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json({"stores": [{"id": "store_1", "default_sales_channel_id": "sc_1"}]})
    hook, _ = make_hook()
    assert hook.default_sales_channel_id() == "sc_1"
    [request] = server.requests
    expected = base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.path == "/admin/stores"


def test_login_once_then_bearer(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url, login=EMAIL)
    server.json({"token": JWT})
    server.json({"product_tag": {"id": "ptag_1", "value": "a"}})
    server.json({"product_tag": {"id": "ptag_2", "value": "b"}})
    hook, _ = make_hook()
    assert hook.create_tag("a")["id"] == "ptag_1"
    assert hook.create_tag("b")["id"] == "ptag_2"
    login, first, second = server.requests
    assert (login.method, login.path) == ("POST", "/auth/user/emailpass")
    assert login.json() == {"email": EMAIL, "password": PASSWORD}
    assert "Authorization" not in login.headers
    assert first.headers["Authorization"] == second.headers["Authorization"] == f"Bearer {JWT}"
    assert first.json() == {"value": "a"}


def test_401_renews_token_once(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url, login=EMAIL)
    server.json({"token": JWT})
    server.json({"type": "unauthorized", "message": "Unauthorized"}, status=401)
    server.json({"token": JWT2})
    server.json({"stores": [{"default_sales_channel_id": "sc_1"}]})
    hook, _ = make_hook()
    assert hook.default_sales_channel_id() == "sc_1"
    paths = [r.path for r in server.requests]
    assert paths == ["/auth/user/emailpass", "/admin/stores", "/auth/user/emailpass", "/admin/stores"]
    assert server.requests[-1].headers["Authorization"] == f"Bearer {JWT2}"


def test_second_401_raises(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url, login=EMAIL)
    server.json({"token": JWT})
    server.json({"type": "unauthorized", "message": "Unauthorized"}, status=401)
    server.json({"token": JWT2})
    server.json({"type": "unauthorized", "message": "Unauthorized"}, status=401)
    hook, _ = make_hook()
    with pytest.raises(MedusaApiError) as info:
        hook.request("GET", "/admin/stores")
    assert info.value.status == 401
    assert not info.value.transient
    assert len(server.requests) == 4
    assert_no_secret(str(info.value), repr(info.value))


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (401, {"type": "unauthorized", "message": "Unauthorized"}, "check its secret API key"),
        (403, {"type": "not_allowed", "message": "Forbidden"}, "use a secret API key of an admin user"),
        (404, "<html>Cannot GET /admin/stores</html>", "not a Medusa v2 server (check the host URL)"),
    ],
)
def test_what_only_a_change_of_the_connection_fixes_fails_at_once_naming_it(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, status: int, body: Any, says: str
) -> None:
    """Airflow does not retry an AirflowFailException: a wrong key or host fails the task at once."""
    connect(monkeypatch, server.url)
    server.replies.append(Reply(status, raw=body.encode()) if isinstance(body, str) else Reply(status, body))
    hook, waits = make_hook()
    with pytest.raises(MedusaSetupError) as info:
        hook.request("GET", "/admin/stores")
    error = info.value
    assert isinstance(error, AirflowFailException) and isinstance(error, MedusaApiError)
    assert f"connection 'medusa_default' ({server.url})" in str(error) and says in str(error)
    assert (len(server.requests), waits, error.status) == (1, [], status)
    assert_no_secret(str(error), repr(error))
    assert pickle.loads(pickle.dumps(error)).message == error.message


def test_medusa_s_own_404_is_an_answer_about_the_item_not_the_connection(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json({"type": "not_found", "message": "Shipping profile with id: sp_x was not found"}, status=404)
    hook, _ = make_hook()
    assert hook.get_shipping_profile("sp_x") is None


def test_api_key_401_is_not_renewed(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json({"type": "unauthorized", "message": "Unauthorized"}, status=401)
    hook, _ = make_hook()
    with pytest.raises(MedusaApiError) as info:
        hook.request("GET", "/admin/stores")
    assert info.value.status == 401
    assert len(server.requests) == 1


def test_wrong_password_fails_login(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url, login=EMAIL)
    server.json({"type": "unauthorized", "message": "Invalid email or password"}, status=401)
    hook, _ = make_hook()
    with pytest.raises(MedusaApiError) as info:
        hook.request("GET", "/admin/stores")
    assert (info.value.status, info.value.path) == (401, "/auth/user/emailpass")
    assert_no_secret(str(info.value), repr(info.value))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_retries_server_errors(server: FakeServer, monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    connect(monkeypatch, server.url)
    server.json({"type": "unknown_error", "message": "boom"}, status=status)
    server.json({"type": "unknown_error", "message": "boom"}, status=status)
    server.json({"created": [{"id": "prod_1"}], "updated": [], "deleted": {"ids": []}})
    hook, waits = make_hook(attempts=3)
    result = hook.batch_products(create=[{"title": "x"}])
    assert result["created"] == [{"id": "prod_1"}]
    assert waits == [1.0, 2.0]
    assert len(server.requests) == 3
    assert server.requests[0].json() == {"create": [{"title": "x"}], "update": [], "delete": []}


def test_429_honours_retry_after(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json({"message": "slow down"}, status=429, headers={"Retry-After": "3"})
    server.json({"message": "slow down"}, status=429, headers={"Retry-After": "120"})
    server.json({"message": "slow down"}, status=429)
    server.json({"stores": [{"default_sales_channel_id": "sc_1"}]})
    hook, waits = make_hook(attempts=4, max_delay=10.0)
    assert hook.default_sales_channel_id() == "sc_1"
    assert waits == [3.0, 10.0, 4.0]


def test_max_attempts_then_error(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    for _ in range(4):
        server.json({"type": "unknown_error", "message": "down"}, status=503)
    hook, waits = make_hook(attempts=4)
    with pytest.raises(MedusaApiError) as info:
        hook.request("GET", "/admin/stores")
    assert info.value.status == 503
    assert info.value.transient
    assert len(server.requests) == 4
    assert waits == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (
            400,
            {"type": "invalid_data", "message": "Product with handle: x, already exists."},
            "invalid_data",
            "Product with handle: x, already exists.",
        ),
        (
            404,
            {"type": "not_found", "message": "Product with id: p not found"},
            "not_found",
            "Product with id: p not found",
        ),
        (413, {"message": "request entity too large"}, None, "request entity too large"),
    ],
)
def test_client_errors_are_not_retried(
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: dict,
    kind: str | None,
    message: str,
) -> None:
    connect(monkeypatch, server.url)
    server.json(body, status=status)
    hook, waits = make_hook()
    with pytest.raises(MedusaApiError) as info:
        hook.batch_products(create=[{"title": "x"}])
    error = info.value
    assert (error.status, error.type, error.message) == (status, kind, message)
    assert (error.method, error.path) == ("POST", "/admin/products/batch")
    assert not error.transient
    assert waits == []
    assert len(server.requests) == 1
    if status == 400:
        assert str(error) == (
            "Medusa POST /admin/products/batch failed: "
            "400 invalid_data: Product with handle: x, already exists."
        )


def test_connection_refused_is_retried_then_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, closed_port_url())
    hook, waits = make_hook(attempts=3)
    with pytest.raises(MedusaApiError) as info:
        hook.request("GET", "/admin/stores", params={"q": "x"})
    assert info.value.status is None
    assert info.value.transient
    assert info.value.path == "/admin/stores"
    assert waits == [1.0, 2.0]


def test_timeout_is_retried(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.queue(Reply(body={"stores": []}, delay=0.5))
    server.json({"stores": [{"default_sales_channel_id": "sc_9"}]})
    hook, waits = make_hook(timeout=0.1)
    assert hook.default_sales_channel_id() == "sc_9"
    assert waits == [1.0]


def test_connection_timeout_extra_overrides(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url, timeout=0.1)
    server.queue(Reply(body={"stores": []}, delay=0.5))
    server.queue(Reply(body={"stores": []}, delay=0.5))
    hook, _ = make_hook(attempts=2, timeout=30)
    with pytest.raises(MedusaApiError) as info:
        hook.request("GET", "/admin/stores")
    assert info.value.status is None
    assert hook.timeout == 0.1


def test_extras_do_not_become_headers(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url, timeout=5, page_hint=3, x_custom="value", verify=True)
    server.json({"stores": [{"default_sales_channel_id": "sc_1"}]})
    hook, _ = make_hook()
    hook.default_sales_channel_id()
    headers = {k.lower() for k in server.requests[0].headers}
    assert not headers & {"timeout", "page_hint", "x_custom", "verify"}


def test_empty_and_204_responses(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.queue(Reply(status=204))
    server.json({"id": "pcat_1", "object": "product_category", "deleted": True})
    hook, _ = make_hook()
    assert hook.request("POST", "/admin/anything") == {}
    hook.delete_category("pcat_1")
    assert (server.requests[1].method, server.requests[1].path) == (
        "DELETE",
        "/admin/product-categories/pcat_1",
    )


def test_paginate_walks_offsets_until_count(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json({"product_tags": [{"id": "1"}, {"id": "2"}], "count": 5, "offset": 0, "limit": 2})
    server.json({"product_tags": [{"id": "3"}, {"id": "4"}], "count": 5, "offset": 2, "limit": 2})
    server.json({"product_tags": [{"id": "5"}], "count": 5, "offset": 4, "limit": 2})
    hook, _ = make_hook()
    items = list(hook.paginate("/admin/product-tags", "product_tags", params={"q": "x"}, page_size=2))
    assert [i["id"] for i in items] == ["1", "2", "3", "4", "5"]
    assert [(r.param("offset"), r.param("limit"), r.param("q")) for r in server.requests] == [
        (["0"], ["2"], ["x"]),
        (["2"], ["2"], ["x"]),
        (["4"], ["2"], ["x"]),
    ]


def listing(items: list[dict[str, Any]], key: str, *, delay: float = 0.0, cap: int | None = None):
    """An ``answer`` for FakeServer: the page of ``items`` at the request's offset and limit."""

    def answer(request: Any) -> Reply:
        offset, limit = int(request.param("offset")[0]), int(request.param("limit")[0])
        limit = min(limit, cap) if cap else limit
        page = items[offset : offset + limit]
        return Reply(body={key: page, "count": len(items), "offset": offset, "limit": limit}, delay=delay)

    return answer


@pytest.mark.parametrize("concurrency", [1, 4])
def test_the_store_is_read_a_few_pages_at_a_time_and_yielded_in_order(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    connect(monkeypatch, server.url)
    products = [{"id": f"prod_{n:03d}"} for n in range(95)]
    server.answer = listing(products, "products", delay=0.03)
    hook, _ = make_hook()
    read = list(hook.list_products(fields=["id"], page_size=10, concurrency=concurrency))
    assert read == products
    assert sorted(int(r.param("offset")[0]) for r in server.requests) == list(range(0, 95, 10))
    assert server.peak_in_flight == concurrency


def test_a_server_that_caps_the_page_size_is_paged_by_what_it_serves(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    products = [{"id": f"prod_{n:03d}"} for n in range(25)]
    server.answer = listing(products, "products", cap=10)
    hook, _ = make_hook()
    assert list(hook.list_products(fields=["id"], page_size=50, concurrency=4)) == products
    assert sorted(int(r.param("offset")[0]) for r in server.requests) == [0, 10, 20]


def test_a_failed_page_among_pages_in_flight_fails_the_read(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    products = [{"id": f"prod_{n:03d}"} for n in range(50)]
    pages = listing(products, "products")
    server.answer = lambda r: (
        Reply(400, {"type": "invalid_data", "message": "bad offset"})
        if r.param("offset") == ["30"]
        else pages(r)
    )
    hook, _ = make_hook()
    read: list[dict[str, Any]] = []
    with pytest.raises(MedusaApiError) as info:
        read.extend(hook.list_products(fields=["id"], page_size=10, concurrency=4))
    assert read == products[:30]  # what came before the failed page, in order, and nothing after
    assert info.value.status == 400 and "bad offset" in str(info.value)


def test_list_products_chunks_external_ids(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    ids = [f"dummyjson:{n}" for n in range(250)]
    for chunk in (ids[:100], ids[100:200], ids[200:]):
        server.json({"products": [{"id": f"p{e}", "external_id": e} for e in chunk], "count": len(chunk)})
    hook, _ = make_hook()
    fields = ("id", "external_id", "variants.id", "+metadata", "*categories")
    products = list(hook.list_products(fields=fields, external_ids=ids))
    assert [p["external_id"] for p in products] == ids
    assert [len(r.param("external_id")) for r in server.requests] == [100, 100, 50]
    assert server.requests[2].param("external_id") == ids[200:]
    # parse_qsl turns a raw "+" into a space: getting "+" back proves it was sent as %2B
    assert all(
        r.param("fields") == ["id,external_id,variants.id,+metadata,*categories"] for r in server.requests
    )


def test_list_products_without_ids_pages(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json({"products": [{"id": "a"}, {"id": "b"}], "count": 3})
    server.json({"products": [{"id": "c"}], "count": 3})
    hook, _ = make_hook()
    assert [p["id"] for p in hook.list_products(fields=["id"], page_size=2)] == ["a", "b", "c"]
    assert server.requests[0].param("external_id") == []


def test_the_sync_location_is_created_once_and_linked_to_the_channel(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json({"stock_locations": []})  # none called "Catalog sync" yet
    server.json({"stock_location": {"id": "sloc_1", "name": "Catalog sync", "sales_channels": []}})
    server.json({"stock_location": {"id": "sloc_1"}})
    hook, _ = make_hook()
    assert (
        hook.stock_location_for(None, name="Catalog sync", sales_channel_id="sc_1", dry_run=False) == "sloc_1"
    )
    find, create, link = server.requests
    assert find.param("name") == ["Catalog sync"] and create.json() == {"name": "Catalog sync"}
    assert (link.path, link.json()) == ("/admin/stock-locations/sloc_1/sales-channels", {"add": ["sc_1"]})


def test_a_dry_run_creates_and_links_no_location(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json({"stock_locations": []})
    hook, _ = make_hook()
    assert hook.stock_location_for("", name="Catalog sync", sales_channel_id="sc_1", dry_run=True) is None
    assert [r.method for r in server.requests] == ["GET"]


def test_a_location_already_on_the_channel_is_not_linked_again(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    location = {"id": "sloc_7", "name": "Warehouse", "sales_channels": [{"id": "sc_1"}]}
    server.json({"stock_location": location})
    hook, _ = make_hook()
    assert (
        hook.stock_location_for("sloc_7", name="Catalog sync", sales_channel_id="sc_1", dry_run=False)
        == "sloc_7"
    )
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [404, 400])
def test_a_given_location_or_profile_medusa_does_not_have_fails_naming_it(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    connect(monkeypatch, server.url)
    kind = "not_found" if status == 404 else "invalid_data"
    server.json({"type": kind, "message": "no"}, status=status)
    server.json({"type": kind, "message": "no"}, status=status)
    hook, _ = make_hook()
    with pytest.raises(
        StockLocationNotFound, match="stock_location_id 'sloc_x': Medusa has no such stock location"
    ):
        hook.stock_location_for("sloc_x", name="Catalog sync", sales_channel_id="sc_1", dry_run=False)
    with pytest.raises(ShippingProfileNotFound, match="shipping_profile_id 'sp_x': Medusa has no such"):
        hook.shipping_profile_for("sp_x")


def test_an_empty_profile_means_the_default_one_and_a_store_without_it_means_none(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    connect(monkeypatch, server.url)
    server.json({"shipping_profiles": [{"id": "sp_default", "created_at": "2026-01-01T00:00:00.000Z"}]})
    server.json({"shipping_profiles": []})
    hook, _ = make_hook()
    assert hook.shipping_profile_for(None) == "sp_default"
    assert server.requests[0].param("type") == ["default"]
    assert hook.shipping_profile_for("") is None  # not a failure: the plan holds creates back
    assert "no default shipping profile and shipping_profile_id is empty" in caplog.text


def test_the_stores_defaults_are_read_once_and_once_recorded_are_not_asked_for_again(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    connect(monkeypatch, server.url)
    server.json({"stores": [{"id": "store_1", "default_sales_channel_id": "sc_1"}]})
    server.json({"shipping_profiles": [{"id": "sp_default", "created_at": "2026-01-01T00:00:00.000Z"}]})
    hook, _ = make_hook()
    recorded = hook.store_defaults()
    assert recorded == StoreDefaults("sc_1", "sp_default")
    assert StoreDefaults.from_json(recorded.to_json()) == recorded
    assert (hook.default_sales_channel_id(recorded), hook.shipping_profile_for(None, recorded)) == (
        "sc_1",
        "sp_default",
    )
    assert len(server.requests) == 2  # the two reads of store_defaults, nothing after them
    # A store without either: the channel is an error naming it, the profile a warning, as when asked.
    bare = StoreDefaults(None, None)
    with pytest.raises(MedusaApiError, match="the store has no default sales channel"):
        hook.default_sales_channel_id(bare)
    assert hook.shipping_profile_for(None, bare) is None
    assert "no default shipping profile and shipping_profile_id is empty" in caplog.text
    assert len(server.requests) == 2
    # A snapshot an earlier version wrote has none recorded: they are asked for.
    assert StoreDefaults.from_json(None) is None
    assert StoreDefaults.from_json({"sales_channel_id": 7, "shipping_profile_id": None}) is None


def test_of_several_default_profiles_the_oldest_is_used_and_a_warning_names_the_others(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    connect(monkeypatch, server.url)
    profiles = [
        {"id": "sp_b", "created_at": "2026-03-01T00:00:00.000Z"},
        {"id": "sp_c", "created_at": "2026-01-01T00:00:00.000Z"},
        {"id": "sp_a", "created_at": "2026-03-01T00:00:00.000Z"},
    ]
    server.json({"shipping_profiles": profiles})
    server.json({"shipping_profiles": list(reversed(profiles))})
    hook, _ = make_hook()
    assert hook.shipping_profile_for(None) == "sp_c"
    assert hook.shipping_profile_for(None) == "sp_c"  # whatever order Medusa lists them in
    assert "3 default shipping profiles: using the oldest, sp_c (not sp_a, sp_b)" in caplog.text


def test_categories_and_tags(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json({"product_categories": [{"id": "pcat_1", "handle": "beauty", "name": "Beauty"}], "count": 1})
    server.json({"product_category": {"id": "pcat_2", "handle": "tops"}})
    server.json({"product_tags": [{"id": "ptag_1", "value": "a"}], "count": 1})
    server.json({}, status=200)
    hook, _ = make_hook()
    assert next(hook.list_categories(handles=["beauty"]))["id"] == "pcat_1"
    assert (
        hook.create_category(name="Tops", handle="tops", metadata={"source": "dummyjson"})["id"] == "pcat_2"
    )
    assert next(hook.list_tags(values=["a"]))["id"] == "ptag_1"
    hook.delete_tag("ptag_1")
    listing, create, tags, delete = server.requests
    assert listing.param("handle") == ["beauty"]
    assert listing.param("fields") == ["id,handle,name"]
    assert create.json() == {
        "name": "Tops",
        "handle": "tops",
        "is_active": True,
        "metadata": {"source": "dummyjson"},
    }
    assert create.param("fields") == ["id"]  # the id is all the sync reads of what it made
    assert tags.param("value") == ["a"]
    assert (delete.method, delete.path) == ("DELETE", "/admin/product-tags/ptag_1")


def test_test_connection(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json({"stores": [{"id": "store_1", "name": "Medusa Store"}]})
    server.json({"type": "unauthorized", "message": "Unauthorized"}, status=401)
    hook, _ = make_hook()
    assert hook.test_connection() == (True, f"Connected to Medusa store 'Medusa Store' at {server.url}")
    ok, message = MedusaHook(retry=RetryPolicy(max_attempts=1)).test_connection()
    assert not ok
    assert "401" in message
    assert_no_secret(message)


def test_missing_password_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MEDUSA_DEFAULT", json.dumps({"conn_type": "medusa", "host": "http://x"}))
    with pytest.raises(ValueError, match="needs a password"):
        MedusaHook().request("GET", "/admin/stores")


def test_no_secret_in_errors_reprs_or_logs(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    # API key: a retried 500 then a 400
    connect(monkeypatch, server.url)
    server.json({"message": "boom"}, status=500)
    server.json({"type": "invalid_data", "message": "bad"}, status=400)
    hook, _ = make_hook()
    with pytest.raises(MedusaApiError) as info:
        hook.batch_products(create=[{"title": "x"}])
    texts += [str(info.value), repr(info.value), repr(hook), repr(hook.__dict__.get("_auth"))]

    # Login: renewal, then a second 401
    connect(monkeypatch, server.url, login=EMAIL)
    server.json({"token": JWT})
    server.json({"type": "unauthorized", "message": "Unauthorized"}, status=401)
    server.json({"token": JWT2})
    server.json({"type": "unauthorized", "message": "Unauthorized"}, status=401)
    hook, _ = make_hook()
    with pytest.raises(MedusaApiError) as info:
        hook.request("GET", "/admin/stores")
    texts += [str(info.value), repr(info.value), repr(hook), repr(hook._auth)]

    # No response at all
    connect(monkeypatch, closed_port_url())
    hook, _ = make_hook(attempts=2)
    with pytest.raises(MedusaApiError) as info:
        hook.request("GET", "/admin/stores")
    texts += [str(info.value), repr(info.value)]

    assert "Medusa GET /admin/stores" in caplog.text  # the DEBUG/WARNING lines were captured
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert_no_secret(caplog.text, *texts, *(r.getMessage() for r in caplog.records))


def test_errors_pickle_and_classify() -> None:
    error = MedusaApiError(400, "invalid_data", "bad", "post", "/admin/products/batch?x=1")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status, copy.type, copy.message, copy.method, copy.path) == (
        400,
        "invalid_data",
        "bad",
        "POST",
        "/admin/products/batch",
    )
    assert str(copy) == str(error)
    assert MedusaApiError(None, None, "refused", "GET", "/x").transient
    assert MedusaApiError(429, None, "slow", "GET", "/x").transient
    assert MedusaApiError(502, None, "gw", "GET", "/x").transient
    assert not MedusaApiError(404, "not_found", "no", "GET", "/x").transient


def test_create_batch_is_not_repeated_after_a_read_timeout(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first attempt may have committed: repeating it would clash with (or duplicate) it, so
    # the error goes up as transient and the caller checks the store before trying again.
    connect(monkeypatch, server.url)
    server.queue(Reply(body={"created": []}, delay=0.5))
    hook, waits = make_hook(timeout=0.1)
    with pytest.raises(MedusaApiError) as info:
        hook.batch_products(create=[{"title": "x"}])
    assert (info.value.status, info.value.transient, waits) == (None, True, [])
    assert len(server.requests) == 1


def test_batches_without_creates_are_repeated_after_a_read_timeout(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.queue(Reply(body={"updated": []}, delay=0.5))
    server.json({"created": [], "updated": [{"id": "prod_1"}], "deleted": {"ids": []}})
    hook, waits = make_hook(timeout=0.1)
    assert hook.batch_products(update=[{"id": "prod_1", "title": "y"}])["updated"] == [{"id": "prod_1"}]
    assert waits == [1.0]
    server.queue(Reply(body={"deleted": {"ids": []}}, delay=0.5))
    server.json({"created": [], "updated": [], "deleted": {"ids": ["prod_2"]}})
    assert hook.batch_products(delete=["prod_2"])["deleted"] == {"ids": ["prod_2"]}
    assert waits == [1.0, 1.0]
    server.queue(Reply(body={"product_tag": {"id": "t"}}, delay=0.5))
    with pytest.raises(MedusaApiError):
        hook.create_tag("once")
    assert waits == [1.0, 1.0]
    server.queue(Reply(body={"product_tag": {"id": "t"}}, delay=0.5))
    server.json({"product_tag": {"id": "t"}})
    assert hook.request("POST", "/admin/product-tags", json={"value": "v"}, idempotent=True) == {
        "product_tag": {"id": "t"}
    }
    assert waits == [1.0, 1.0, 1.0]


def test_refused_post_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, closed_port_url())
    hook, waits = make_hook(attempts=3)
    with pytest.raises(MedusaApiError) as info:
        hook.batch_products(create=[{"title": "x"}])
    assert (info.value.status, info.value.method, info.value.path) == (None, "POST", "/admin/products/batch")
    assert "Connection refused" in info.value.message
    assert waits == [1.0, 2.0]


def test_gateway_timeout_on_create_is_not_retried(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json({"message": "upstream timed out"}, status=504)
    hook, waits = make_hook()
    with pytest.raises(MedusaApiError) as info:
        hook.create_category(name="A", handle="a")
    assert (info.value.status, info.value.transient, waits) == (504, True, [])


def test_prefixed_timeout_extra_is_read(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url, extra__medusa__timeout="7")
    server.json({"stores": [{"default_sales_channel_id": "sc_1"}]})
    hook, _ = make_hook(timeout=30)
    hook.default_sales_channel_id()
    assert hook.timeout == 7.0
    assert not {k.lower() for k in server.requests[0].headers} & {"extra__medusa__timeout"}


def test_401_renewal_repeats_a_post_with_its_body(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url, login=EMAIL)
    server.json({"token": JWT})
    server.json({"type": "unauthorized", "message": "Unauthorized"}, status=401)
    server.json({"token": JWT2})
    server.json({"created": [{"id": "prod_1"}]})
    hook, _ = make_hook()
    assert hook.batch_products(create=[{"title": "x"}])["created"] == [{"id": "prod_1"}]
    first, second = server.requests[1], server.requests[3]
    assert first.json() == second.json() == {"create": [{"title": "x"}], "update": [], "delete": []}
    assert second.headers["Authorization"] == f"Bearer {JWT2}"


def test_test_connection_reports_a_missing_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_MEDUSA_OTHER", raising=False)
    ok, message = MedusaHook("medusa_other").test_connection()
    assert not ok
    assert "medusa_other" in message


def test_error_path_never_carries_host_or_query() -> None:
    error = MedusaApiError(None, None, "refused", "GET", "https://user:pw@shop.test/admin/stores?x=1#f")
    assert error.path == "/admin/stores"
    assert "pw" not in str(error) + repr(error)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_whole_store_read_asks_one_row_more_per_page_and_no_extra_page(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    connect(monkeypatch, server.url)
    products = [{"id": f"prod_{n:03d}"} for n in range(95)]
    server.answer = listing(products, "products")
    hook, _ = make_hook()
    read = hook.read_all_products(list, fields=["id"], page_size=10, concurrency=concurrency)
    assert read == products
    assert sorted(int(r.param("offset")[0]) for r in server.requests) == list(range(0, 95, 10))
    assert {r.param("limit")[0] for r in server.requests} == {"11"}
    assert {r.param("order")[0] for r in server.requests} == {"id"}


def test_a_deletion_during_a_whole_store_read_is_seen_and_the_read_starts_over(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    products = [{"id": f"prod_{n:03d}"} for n in range(25)]
    answer = listing(products, "products")

    def delete_one_after_the_first_page(request: Any) -> Reply:
        reply = answer(request)
        if len(server.requests) == 1:
            del products[3]  # every later offset shifts by one: prod_010 would never be read
        return reply

    server.answer = delete_one_after_the_first_page
    hook, _ = make_hook()
    read = hook.read_all_products(list, fields=["id"], page_size=10)
    assert read == products and len(read) == 24 and {"id": "prod_010"} in read
    assert [int(r.param("offset")[0]) for r in server.requests] == [0, 10, 0, 10, 20]


def test_a_server_that_caps_the_page_size_is_paged_by_what_it_serves_with_the_overlap(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    products = [{"id": f"prod_{n:03d}"} for n in range(25)]
    server.answer = listing(products, "products", cap=10)
    hook, _ = make_hook()
    assert hook.read_all_products(list, fields=["id"], page_size=50, concurrency=4) == products
    assert sorted(int(r.param("offset")[0]) for r in server.requests) == [0, 9, 18]


def test_the_store_count_comes_with_the_time_by_the_servers_clock(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json({"products": [{"id": "prod_1"}], "count": 7, "offset": 0, "limit": 1})
    hook, _ = make_hook()
    before = datetime.now(UTC).replace(microsecond=0)
    count, at = hook.product_count_at()
    assert count == 7
    assert at is not None and at.tzinfo is not None and before <= at <= datetime.now(UTC)
    assert (server.requests[0].param("fields"), server.requests[0].param("limit")) == (["id"], ["1"])


def test_a_products_options_variants_and_image_links_go_to_their_own_routes_retried_like_the_rest(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json({"product": {"id": "prod_1"}})
    server.json({"type": "unknown_error", "message": "boom"}, status=503)
    server.json({"created": [], "updated": [{"id": "variant_1"}], "deleted": {"ids": ["variant_2"]}})
    server.json({"added": ["variant_1"], "removed": []})
    hook, waits = make_hook(attempts=3)
    add = [{"product_option_id": "opt_1", "add": [{"value": "XL"}]}]
    hook.batch_product_options("prod_1", update=add)
    result = hook.batch_product_variants(
        "prod_1", update=[{"id": "variant_1", "title": "XL"}], delete=["variant_2"]
    )
    assert result["deleted"] == {"ids": ["variant_2"]}
    hook.link_image_variants("prod_1", "img_1", ["variant_1"])
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/admin/products/prod_1/options/batch"),
        ("POST", "/admin/products/prod_1/variants/batch"),
        ("POST", "/admin/products/prod_1/variants/batch"),
        ("POST", "/admin/products/prod_1/images/img_1/variants/batch"),
    ]
    assert server.requests[0].json() == {"add": [], "update": add, "remove": []}
    # The answer is read for the ids of the options just added (a product's shape changing).
    assert server.requests[0].param("fields") == ["id,options.id,options.title"]
    assert server.requests[1].json() == {
        "create": [],
        "update": [{"id": "variant_1", "title": "XL"}],
        "delete": ["variant_2"],
    }
    assert server.requests[3].json() == {"add": ["variant_1"]}
    assert waits == [1.0]


# -- The connection form -----------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[3]
# The connection form's own fields; every other documented field is an extra with a form field.
STANDARD_FIELDS = {"host", "login", "password", "schema", "port", "description", "extra"}


def documented_fields(heading: str) -> set[str]:
    """The field names in the first column of docs/install.md's table under ``heading``."""
    section = (REPO / "docs/install.md").read_text().split(heading + "\n", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([a-z_]+)`", cell)}


def connection_type(name: str) -> dict[str, Any]:
    [found] = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == name]
    return found


@pytest.mark.parametrize(
    ("conn_type", "heading"),
    [
        ("medusa", "#### `medusa_default` (type `medusa`)"),
        ("product_catalog", "#### `dummyjson_default` (type `http`, or `product_catalog`)"),
    ],
)
def test_the_connection_form_offers_every_field_the_docs_document(conn_type: str, heading: str) -> None:
    """Every field docs/install.md lists is on the form: a standard field not hidden, or an extra
    with its own form field; the Extra JSON stays for the aliases (proxy, verify_ssl)."""
    documented = documented_fields(heading)
    assert {"host", "login", "password", "timeout", "verify", "proxies"} <= documented, documented
    declared = connection_type(conn_type)
    hidden = set(declared["ui-field-behaviour"]["hidden-fields"])
    assert "extra" not in hidden
    for field in documented:
        if field in STANDARD_FIELDS:
            assert field not in hidden, field
        else:
            assert field in declared["conn-fields"], field


def test_the_medusa_form_has_a_field_for_each_transport_extra_configure_md_documents() -> None:
    paragraph = (REPO / "docs/configure.md").read_text().split("**Transport extras.**", 1)[1].split("\n\n")[0]
    # Each extra by its own name; "(or `alias`)" names an alias, entered in the Extra JSON.
    named = set(re.findall(r"(?<!\(or )`([a-z_]+)`", paragraph)) & (TRANSPORT_EXTRAS | {"timeout"})
    assert {"proxies", "verify", "cert", "timeout"} <= named, paragraph
    assert named <= set(connection_type("medusa")["conn-fields"])


def test_a_form_field_left_empty_leaves_the_transport_as_it_would_be_without_it(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the form stores for fields left empty (null) changes nothing: certificates are still
    checked, redirects still followed, and the request goes out."""
    fields = {name: None for name in connection_type("medusa")["conn-fields"]}
    connect(monkeypatch, server.url, **fields)
    server.json({"stores": [{"id": "store_1", "default_sales_channel_id": "sc_1"}]})
    hook, _ = make_hook()
    assert hook.default_sales_channel_id() == "sc_1"
    session = hook.get_conn()
    assert (session.verify, session.trust_env, session.max_redirects) == (True, True, 30)


def _installed() -> bool:
    return any(
        ep.value == "medusa_sync.provider:get_provider_info"
        for ep in entry_points(group="apache_airflow_provider")
    )


@pytest.mark.skipif(not _installed(), reason="needs the package installed for its provider entry point")
def test_the_ui_s_connection_form_shows_the_documented_medusa_fields() -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    [meta] = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "medusa"]
    documented = documented_fields("#### `medusa_default` (type `medusa`)")
    assert documented - STANDARD_FIELDS <= set(meta.extra_fields)
    for name in ("host", "login", "password"):
        field = getattr(meta.standard_fields, name)
        assert field is None or not field.hidden, name
