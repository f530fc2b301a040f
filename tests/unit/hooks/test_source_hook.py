from __future__ import annotations

import base64
import json
import logging
import pickle
import threading
import time
from collections.abc import Iterator

import pytest

from medusa_sync.errors import SourceApiError
from medusa_sync.hooks.retries import RetryPolicy
from medusa_sync.hooks.source import CatalogSourceHook
from tests.stack.catalog_generator import generate_catalog
from tests.stack.catalog_server import CatalogServer

from .fake_http import FakeServer, Reply, closed_port_url, serve


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


def connect(monkeypatch: pytest.MonkeyPatch, host: str, **extra: object) -> None:
    conn = {"conn_type": "http", "host": host, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps(conn))


def make_hook(attempts: int = 3, timeout: float = 5.0) -> tuple[CatalogSourceHook, list[float]]:
    waits: list[float] = []
    hook = CatalogSourceHook(retry=RetryPolicy(max_attempts=attempts, jitter=0), timeout=timeout)
    hook._sleep = waits.append
    return hook, waits


def page(ids: range, total: int) -> dict:
    return {"products": [{"id": n} for n in ids], "total": total, "skip": ids.start, "limit": len(ids)}


def test_missing_host_defaults_to_dummyjson(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "")
    hook, _ = make_hook()
    hook.session()
    assert hook.base_url == "https://dummyjson.com"


def test_iter_pages_stops_at_total(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json(page(range(0, 2), 5))
    server.json(page(range(2, 4), 5))
    server.json(page(range(4, 5), 5))
    hook, _ = make_hook()
    pages = list(hook.iter_pages(concurrency=1, page_size=2))
    assert [[p["id"] for p in pg["products"]] for pg in pages] == [[0, 1], [2, 3], [4]]
    assert pages[0]["total"] == 5
    assert [(r.path, r.param("limit"), r.param("skip")) for r in server.requests] == [
        ("/products", ["2"], ["0"]),
        ("/products", ["2"], ["2"]),
        ("/products", ["2"], ["4"]),
    ]


def test_iter_pages_honours_max_products(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json(page(range(0, 4), 100))
    server.json(page(range(4, 8), 100))  # a server ignoring the smaller limit still gets truncated
    hook, _ = make_hook()
    pages = list(hook.iter_pages(concurrency=1, page_size=4, max_products=6))
    assert [len(p["products"]) for p in pages] == [4, 2]
    assert server.requests[1].param("limit") == ["2"]
    assert len(server.requests) == 2


def test_an_empty_page_before_the_total_is_yielded_and_paging_goes_on(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json(page(range(0, 2), 6))
    server.json({"products": [], "total": 6, "skip": 2, "limit": 0})
    server.json(page(range(4, 6), 6))
    hook, _ = make_hook()
    pages = list(hook.iter_pages(concurrency=1, page_size=2))
    assert [(p["skip"], [r["id"] for r in p["products"]]) for p in pages] == [
        (0, [0, 1]),
        (2, []),
        (4, [4, 5]),
    ]


def test_three_empty_pages_in_a_row_stop_the_paging(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json(page(range(0, 2), 100))
    for skip in (2, 4, 6):
        server.json({"products": [], "total": 100, "skip": skip, "limit": 0})
    hook, _ = make_hook()
    assert len(list(hook.iter_pages(concurrency=1, page_size=2))) == 4
    assert len(server.requests) == 4


def test_a_short_page_leaves_a_gap_at_the_next_stride(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json(page(range(0, 4), 10))
    server.json(page(range(4, 6), 10))  # 2 of the 4 asked for
    server.json(page(range(8, 10), 10))
    hook, _ = make_hook()
    pages = list(hook.iter_pages(concurrency=1, page_size=4))
    assert [p["skip"] for p in pages] == [0, 4, 8]
    assert [dict(r.query)["skip"] for r in server.requests] == ["0", "4", "8"]


def test_a_source_that_caps_its_page_size_is_paged_at_its_size(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json(page(range(0, 3), 7))  # asked for 5, the source serves 3 at most
    server.json(page(range(3, 6), 7))
    server.json(page(range(6, 7), 7))
    hook, _ = make_hook()
    pages = list(hook.iter_pages(concurrency=1, page_size=5))
    assert [(p["skip"], p["limit"], len(p["products"])) for p in pages] == [(0, 3, 3), (3, 3, 3), (6, 3, 1)]


def test_a_page_without_products_is_reported_and_paging_goes_on(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json(page(range(0, 2), 6))
    server.json({"items": [], "total": 6})
    server.json(page(range(4, 6), 6))
    hook, _ = make_hook()
    pages = list(hook.iter_pages(concurrency=1, page_size=2))
    assert [[p["id"] for p in pg["products"]] for pg in pages] == [[0, 1], [], [4, 5]]
    assert "skip=2" in pages[1]["error"] and "'products'" in pages[1]["error"]


def test_a_page_that_stays_invalid_json_is_reported_and_paging_goes_on(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json(page(range(0, 2), 4))
    for _ in range(3):
        server.queue(Reply(raw=b'{"products": [{"id"'))
    hook, _ = make_hook(attempts=3)
    pages = list(hook.iter_pages(concurrency=1, page_size=2))
    assert len(pages) == 2
    assert pages[1]["skip"] == 2 and "not valid JSON" in pages[1]["error"]


def test_each_page_carries_the_total_it_was_served_with(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.json(page(range(0, 2), 4))
    server.json(page(range(2, 4), 5))
    server.json(page(range(4, 5), 5))
    hook, _ = make_hook()
    pages = list(hook.iter_pages(concurrency=1, page_size=2))
    assert [(len(p["products"]), p["total"]) for p in pages] == [(2, 4), (2, 5), (1, 5)]


def test_an_outage_still_raises(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    for _ in range(2):
        server.json({"message": "down"}, status=503)
    hook, _ = make_hook(attempts=2)
    with pytest.raises(SourceApiError) as info:
        list(hook.iter_pages(concurrency=1, page_size=2))
    assert info.value.status == 503 and info.value.transient


def test_truncated_json_body_is_retried(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    good = json.dumps(page(range(0, 2), 2)).encode()
    server.queue(Reply(raw=good[:25]))  # complete HTTP message, broken JSON
    server.queue(Reply(raw=good, truncate_to=30))  # connection closed mid-body
    server.queue(Reply(raw=good))
    hook, waits = make_hook(attempts=3)
    pages = list(hook.iter_pages(concurrency=1, page_size=2))
    assert len(pages) == 1
    assert len(server.requests) == 3
    assert len(waits) == 2


def test_truncated_body_after_retries_raises(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.queue(Reply(raw=b'{"products": [{"id"'), Reply(raw=b'{"products": [{"id"'))
    hook, _ = make_hook(attempts=2)
    with pytest.raises(SourceApiError, match="not valid JSON") as info:
        hook.get_json("/products", params={"limit": 1})
    assert (info.value.status, info.value.path) == (200, "/products")
    assert info.value.transient


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_statuses(server: FakeServer, monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    connect(monkeypatch, server.url)
    server.queue(
        Reply(status=status, raw=b"busy", headers={"Content-Type": "text/plain", "Retry-After": "2"})
    )
    server.json(["beauty"])
    hook, waits = make_hook()
    assert hook.get_json("/products/categories") == ["beauty"]
    assert waits == [2.0]


def test_404_is_not_retried(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json({"message": "not found"}, status=404)
    hook, waits = make_hook()
    with pytest.raises(SourceApiError) as info:
        hook.get_json("/nope")
    assert (info.value.status, info.value.transient, waits) == (404, False, [])
    assert str(info.value).startswith("Catalog GET /nope failed: 404")


def test_connection_refused(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    connect(monkeypatch, closed_port_url())
    hook, waits = make_hook(attempts=3)
    with pytest.raises(SourceApiError) as info:
        hook.get_json("/products")
    assert info.value.status is None and info.value.transient
    assert waits == [1.0, 2.0]
    assert caplog.text.count("Catalog GET /products: attempt") == 2


def test_categories_accept_objects_and_slugs(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.json([{"slug": "beauty", "name": "Beauty", "url": "x"}, "home-decoration"])
    hook, _ = make_hook()
    assert hook.categories() == [
        {"slug": "beauty", "name": "Beauty"},
        {"slug": "home-decoration", "name": "Home Decoration"},
    ]


def test_source_error_pickles() -> None:
    error = SourceApiError(200, "bad body", "get", "/products?skip=4", transient=True)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status, copy.message, copy.method, copy.path, copy.transient) == (
        200,
        "bad body",
        "GET",
        "/products",
        True,
    )


def test_string_extras_are_headers_others_are_dropped(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url, timeout=3, **{"X-Catalog-Token": "abc", "page_hint": 3})
    server.json(["beauty"])
    hook, _ = make_hook(timeout=30)
    assert hook.get_json("/products/categories") == ["beauty"]
    headers = {k.lower(): v for k, v in server.requests[0].headers.items()}
    assert headers["x-catalog-token"] == "abc"
    assert "page_hint" not in headers and "timeout" not in headers
    assert hook.timeout == 3.0


def test_bad_json_error_says_where(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, server.url)
    server.queue(Reply(raw=b'{"products": [1, 2'))
    hook, _ = make_hook(attempts=1)
    with pytest.raises(SourceApiError) as info:
        hook.get_json("/products", params={"skip": 30})
    assert info.value.message.startswith("the body is not valid JSON (18 bytes; ")
    assert "at byte 18" in info.value.message
    assert str(info.value).startswith("Catalog GET /products failed: 200: the body is not valid JSON")


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> Iterator[CatalogServer]:
    with CatalogServer(generate_catalog(1000)) as server:
        connect(monkeypatch, server.url)
        yield server


@pytest.mark.parametrize("concurrency", [1, 4])
def test_pages_after_the_first_are_read_a_few_at_a_time_and_yielded_in_order(
    catalog: CatalogServer, concurrency: int
) -> None:
    catalog.set_faults(latency_ms=30)
    hook, _ = make_hook()
    pages = list(hook.iter_pages(page_size=50, concurrency=concurrency))
    assert [p["skip"] for p in pages] == list(range(0, 1000, 50))
    assert [r["id"] for p in pages for r in p["products"]] == list(range(1, 1001))
    assert catalog.request_count == 20
    assert catalog.max_in_flight == concurrency


def test_a_page_told_to_wait_among_pages_in_flight_is_retried_and_yielded_in_place(
    catalog: CatalogServer,
) -> None:
    catalog.set_faults(throttle_at_skip=30, retry_after=1)  # the 4th page, sent along with others
    hook, _ = make_hook()
    hook._sleep = time.sleep
    pages = list(hook.iter_pages(page_size=10, max_products=300, concurrency=4))
    assert [r["id"] for p in pages for r in p["products"]] == list(range(1, 301))
    assert catalog.fault_counts["burst_429"] == 1
    assert catalog.request_count == 30 + 1


def test_after_a_429_no_thread_of_the_hook_sends_until_retry_after_has_passed(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, server.url)
    server.queue(Reply(status=429, body={"message": "slow down"}, headers={"Retry-After": "1"}))
    server.json({"ok": 1})
    server.json({"ok": 2})
    hook, _ = make_hook()
    hook._sleep = time.sleep
    told = threading.Thread(target=hook.get_json, args=("/products",))
    told.start()
    while not server.requests:
        time.sleep(0.005)
    time.sleep(0.05)  # the 429 has been answered; this thread's request comes after it
    hook.get_json("/products/categories")
    told.join()
    first_429, other = (
        server.requests[0],
        next(r for r in server.requests if r.path == "/products/categories"),
    )
    assert first_429.path == "/products"
    assert other.at - first_429.at >= 0.9


def test_a_login_on_the_connection_is_sent_as_basic_auth(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {"conn_type": "http", "host": server.url, "login": "reader", "password": "s3cret"}
    monkeypatch.setenv("AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps(conn))
    server.json(["beauty"])
    hook, _ = make_hook()
    assert hook.get_json("/products/categories") == ["beauty"]
    expected = base64.b64encode(b"reader:s3cret").decode()
    assert server.requests[0].headers["Authorization"] == f"Basic {expected}"
