"""A page carrying a number of any size or kind is read whole: the number costs its record, later,
at validation, never the page (a 5,000-digit integer used to make the body "not valid JSON")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from medusa_sync.core.validation import Validator
from medusa_sync.hooks.retries import RetryPolicy
from medusa_sync.hooks.source import CatalogSourceHook

from .fake_http import FakeServer, Reply, serve

HUGE = "1" * 5000


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


def test_a_page_with_a_5000_digit_integer_keeps_its_other_records(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DUMMYJSON_DEFAULT", json.dumps({"conn_type": "http", "host": server.url})
    )
    records = [
        {"id": n, "title": f"P{n}", "category": "beauty", "price": 9.99, "sku": f"S{n}", "weight": "@"}
        for n in range(1, 100)
    ]
    body = json.dumps({"products": records, "total": 99, "skip": 0, "limit": 100})
    body = body.replace('"@"', "4", 98).replace('"@"', HUGE)  # the last record's weight
    server.queue(Reply(raw=body.encode()))
    hook = CatalogSourceHook(retry=RetryPolicy(max_attempts=2, jitter=0))
    hook._sleep = lambda _seconds: None
    pages = list(hook.iter_pages(concurrency=1, page_size=100))
    assert len(server.requests) == 1  # read once, not retried as a broken body
    assert [page.get("error") for page in pages] == [None]
    assert pages[0]["products"][-1]["weight"] == Decimal(HUGE)
    assert pages[0]["products"][0]["price"] == Decimal("9.99")  # the source's exact text
    valid, quarantined = Validator().validate(pages[0]["products"])
    assert len(valid) == 98
    assert [(q.source_id, q.reason) for q in quarantined] == [
        (
            "99",
            "weight: Value error, 111111111111... (a number of 5000 digits) is larger than "
            "9007199254740991, the largest number JavaScript holds exactly",
        )
    ]
