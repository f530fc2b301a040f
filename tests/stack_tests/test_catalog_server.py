"""Behaviour of the local DummyJSON-compatible catalog server and the catalog generator."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import REAL_CATALOG_FILE, REPO
from tests.stack.catalog_generator import generate_catalog
from tests.stack.catalog_server import CatalogFileError, CatalogServer, Faults, load_catalog, main


@pytest.fixture(scope="module")
def real_products() -> list[dict]:
    return json.loads(REAL_CATALOG_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def real_server(real_products: list[dict]) -> Iterator[CatalogServer]:
    with CatalogServer(real_products) as server:
        yield server


@pytest.fixture
def server() -> Iterator[CatalogServer]:
    """A fresh server per test, for tests that change faults, products or the request log."""
    with CatalogServer(generate_catalog(120, seed=7)) as fresh:
        yield fresh


def get(server: CatalogServer, path: str, **params: object) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- listing and paging -------------------------------------------------------------------------


def test_products_default_to_a_page_of_30_in_id_order(real_server: CatalogServer) -> None:
    response = get(real_server, "/products")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert [p["id"] for p in body["products"]] == list(range(1, 31))
    assert (body["total"], body["skip"], body["limit"]) == (194, 0, 30)


def test_limit_zero_returns_every_product(real_server: CatalogServer) -> None:
    body = get(real_server, "/products", limit=0).json()
    assert len(body["products"]) == body["total"] == body["limit"] == 194


def test_skip_and_limit_paging_covers_every_id_exactly_once(real_server: CatalogServer) -> None:
    seen: list[int] = []
    skip = 0
    while True:
        body = get(real_server, "/products", limit=50, skip=skip).json()
        assert body["total"] == 194
        assert body["skip"] == skip
        if not body["products"]:
            break
        assert body["limit"] == len(body["products"])
        seen += [p["id"] for p in body["products"]]
        skip += body["limit"]
    assert sorted(seen) == list(range(1, 195))
    assert len(seen) == len(set(seen))


def test_select_returns_only_the_asked_keys_and_always_the_id(real_server: CatalogServer) -> None:
    body = get(real_server, "/products", limit=3, select="title,price").json()
    assert [set(p) for p in body["products"]] == [{"id", "title", "price"}] * 3


def test_sort_by_price_descending(real_server: CatalogServer) -> None:
    prices = [
        p["price"]
        for p in get(real_server, "/products", limit=0, sortBy="price", order="desc").json()["products"]
    ]
    assert prices == sorted(prices, reverse=True)


def test_single_product_and_missing_id(real_server: CatalogServer, real_products: list[dict]) -> None:
    assert get(real_server, "/products/1").json() == real_products[0]
    missing = get(real_server, "/products/9999")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/json"
    assert missing.json() == {"message": "Product with id '9999' not found"}


def test_an_edit_after_the_first_page_hides_the_product_on_the_next_boundary(server: CatalogServer) -> None:
    ids = [p["id"] for p in server.products]
    appended = {**server.products[0], "id": ids[-1] + 1, "title": "Appended mid-read"}
    server.edit_after_first_page(ids[3], appended)

    first = get(server, "/products", limit=50, skip=0).json()
    later = [get(server, "/products", limit=50, skip=skip).json() for skip in (50, 100)]
    seen = [p["id"] for page in (first, *later) for p in page["products"]]

    assert [page["total"] for page in (first, *later)] == [120, 120, 120]
    assert len(seen) == 120 and len(set(seen)) == 120  # every count adds up, no id twice...
    assert ids[50] not in seen  # ...yet the product on the boundary was never served
    assert appended["id"] in seen and ids[3] in seen  # the removed one came on the first page
    assert get(server, f"/products/{ids[3]}").status_code == 404  # gone, as DummyJSON answers
    assert get(server, f"/products/{ids[50]}").json()["id"] == ids[50]  # still there by id
    again = [p["id"] for p in get(server, "/products", limit=50, skip=0).json()["products"]]
    assert ids[3] not in again and len(server.products) == 120  # the edit happened once


def test_unknown_route_is_a_json_404(real_server: CatalogServer) -> None:
    response = get(real_server, "/carts")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": "Not found"}


@pytest.mark.parametrize(("param", "value"), [("limit", "ten"), ("limit", "-1"), ("skip", "1.5")])
def test_bad_paging_parameter_is_a_400_naming_it(real_server: CatalogServer, param: str, value: str) -> None:
    response = get(real_server, "/products", **{param: value})
    assert response.status_code == 400
    assert param in response.json()["message"]


def test_select_also_narrows_a_single_product(real_server: CatalogServer) -> None:
    assert get(real_server, "/products/2", select="title").json() == {
        "id": 2,
        "title": "Eyeshadow Palette with Mirror",
    }


def test_bad_sort_order_is_a_400_naming_it(real_server: CatalogServer) -> None:
    response = get(real_server, "/products", sortBy="price", order="up")
    assert response.status_code == 400
    assert "order" in response.json()["message"]


def test_search_is_case_insensitive_and_paged(real_server: CatalogServer) -> None:
    body = get(real_server, "/products/search", q="ROLEX", limit=0).json()
    titles = [p["title"] for p in body["products"]]
    assert body["total"] == len(titles) > 0
    assert titles.count("Rolex Cellini Moonphase") == 2


# -- categories ---------------------------------------------------------------------------------


def test_categories_from_the_real_catalog(real_server: CatalogServer) -> None:
    categories = get(real_server, "/products/categories").json()
    assert len(categories) == 24
    assert [c["slug"] for c in categories] == sorted(c["slug"] for c in categories)
    kitchen = next(c for c in categories if c["slug"] == "kitchen-accessories")
    assert kitchen == {
        "slug": "kitchen-accessories",
        "name": "Kitchen Accessories",
        "url": f"{real_server.url}/products/category/kitchen-accessories",
    }
    assert get(real_server, "/products/category-list").json() == [c["slug"] for c in categories]


def test_category_route_pages_only_that_category(
    real_server: CatalogServer, real_products: list[dict]
) -> None:
    expected = [p["id"] for p in real_products if p["category"] == "laptops"]
    body = get(real_server, "/products/category/laptops", limit=0).json()
    assert [p["id"] for p in body["products"]] == expected
    assert body["total"] == len(expected)


def test_unknown_category_is_an_empty_page(real_server: CatalogServer) -> None:
    assert get(real_server, "/products/category/spaceships").json() == {
        "products": [],
        "total": 0,
        "skip": 0,
        "limit": 0,
    }


def test_health(real_server: CatalogServer) -> None:
    assert get(real_server, "/health").json() == {"status": "ok"}


# -- generator ----------------------------------------------------------------------------------


def test_generated_catalog_is_deterministic_and_shaped_like_the_real_one(real_products: list[dict]) -> None:
    catalog = generate_catalog(500, seed=3)
    assert catalog == generate_catalog(500, seed=3)
    assert catalog != generate_catalog(500, seed=4)
    assert [p["id"] for p in catalog] == list(range(1, 501))
    real_keys = set().union(*(p.keys() for p in real_products))
    assert set().union(*(p.keys() for p in catalog)) == real_keys
    assert 150 < sum("brand" in p for p in catalog) < 350
    assert len({p["sku"] for p in catalog}) == 500
    barcodes = [p["meta"]["barcode"] for p in catalog]
    assert len(set(barcodes)) == 500
    assert all(len(b) == 13 and b.isdigit() for b in barcodes)
    assert all(0.5 <= p["price"] <= 5000 and round(p["price"], 2) == p["price"] for p in catalog)
    assert all(1 <= len(p["images"]) <= 4 and p["images"][0].startswith("https://") for p in catalog)
    assert all(1 <= len(p["tags"]) <= 3 and all(t == t.lower() for t in p["tags"]) for p in catalog)
    assert len({p["category"] for p in catalog}) == 24


def test_generated_titles_collide_now_and_then() -> None:
    titles = Counter(p["title"] for p in generate_catalog(500))
    assert 5 <= sum(count - 1 for count in titles.values()) <= 15


# -- mutation and request log -------------------------------------------------------------------


def test_replace_products_swaps_the_catalog_between_runs(server: CatalogServer) -> None:
    assert get(server, "/products").json()["total"] == 120
    changed = generate_catalog(5, seed=1)
    changed[0]["price"] = 1.23
    server.replace_products(changed)
    body = get(server, "/products").json()
    assert body["total"] == 5
    assert body["products"][0]["price"] == 1.23


def test_serving_swaps_the_catalog_for_a_block_and_puts_it_back_on_failure(server: CatalogServer) -> None:
    with server.serving(generate_catalog(5, seed=1)):
        assert get(server, "/products").json()["total"] == 5
    assert get(server, "/products").json()["total"] == 120
    with pytest.raises(RuntimeError), server.serving(generate_catalog(3, seed=1)):
        raise RuntimeError("the run failed")
    assert get(server, "/products").json()["total"] == 120


def test_requests_are_logged_with_their_query_and_arrival_time(server: CatalogServer) -> None:
    before = time.monotonic()
    get(server, "/products", limit=5, skip=10)
    get(server, "/products/3")
    assert server.request_count == 2
    first = server.requests[0]
    assert (first.method, first.path, first.query) == ("GET", "/products", {"limit": "5", "skip": "10"})
    assert before <= first.at <= server.requests[1].at <= time.monotonic()
    assert server.max_in_flight == 1  # one client, one request at a time
    server.reset_log()
    assert server.requests == []


# -- fault injection ----------------------------------------------------------------------------


def test_error_rate_fails_roughly_that_share_of_requests(server: CatalogServer) -> None:
    server.set_faults(Faults(error_rate=0.3, seed=42))
    statuses = Counter(get(server, "/products", limit=1).status_code for _ in range(200))
    assert set(statuses) == {200, 503}
    assert 40 <= statuses[503] <= 80
    assert server.fault_counts["error"] == statuses[503]
    assert get(server, "/health").status_code == 200


def test_the_same_seed_fails_the_same_requests(server: CatalogServer) -> None:
    def statuses() -> list[int]:
        server.set_faults(error_rate=0.5, error_status=502, seed=9)
        return [get(server, "/products/1").status_code for _ in range(30)]

    first = statuses()
    assert set(first) == {200, 502}
    assert statuses() == first


def test_burst_of_429_carries_retry_after_then_recovers(server: CatalogServer) -> None:
    server.set_faults(Faults(burst_429=2, retry_after=3))
    first, second, third = (get(server, "/products") for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["Retry-After"] == "3"
    assert server.fault_counts["burst_429"] == 2


def test_truncated_body_is_not_valid_json(server: CatalogServer) -> None:
    server.set_faults(Faults(truncate_rate=1.0))
    response = get(server, "/products")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)
    assert server.fault_counts["truncate"] == 1
    server.reset_faults()
    assert get(server, "/products").json()["total"] == 120


def test_latency_slows_responses(server: CatalogServer) -> None:
    server.set_faults(Faults(latency_ms=200))
    started = time.monotonic()
    assert get(server, "/products/1").status_code == 200
    assert time.monotonic() - started >= 0.19


def test_faults_only_hit_the_configured_paths(server: CatalogServer) -> None:
    server.set_faults(Faults(error_rate=1.0, only_paths="/products/category"))
    assert get(server, "/products").status_code == 200
    assert get(server, "/products/category/laptops").status_code == 503


def ids(response: requests.Response) -> list[int]:
    return [p["id"] for p in response.json()["products"]]


def test_empty_pages_from_a_skip_keep_the_total(server: CatalogServer) -> None:
    server.set_faults(Faults(empty_from_skip=100))
    assert len(ids(get(server, "/products", limit=100, skip=0))) == 100
    glitched = get(server, "/products", limit=100, skip=100).json()
    assert (glitched["products"], glitched["total"]) == ([], 120)
    assert server.fault_counts["empty_page"] == 1


def test_a_short_page_serves_only_some_of_its_records(server: CatalogServer) -> None:
    server.set_faults(Faults(short_page_at_skip=50, short_page_keep=30))
    assert ids(get(server, "/products", limit=50, skip=50)) == list(range(51, 81))
    assert len(ids(get(server, "/products", limit=50, skip=0))) == 50


def test_a_shifted_page_repeats_the_last_id_of_the_page_before(server: CatalogServer) -> None:
    server.set_faults(Faults(shift_page_at_skip=100))
    first = ids(get(server, "/products", limit=100, skip=0))
    shifted = get(server, "/products", limit=100, skip=100).json()
    assert shifted["skip"] == 100
    assert shifted["products"][0]["id"] == first[-1]


def test_faults_are_switchable_over_http(server: CatalogServer) -> None:
    set_response = requests.post(
        f"{server.url}/__faults", json={"burst_429": 1, "error_status": 500}, timeout=5
    )
    assert set_response.status_code == 200
    assert get(server, "/products").status_code == 429
    state = requests.get(f"{server.url}/__faults", timeout=5).json()
    assert state["faults"]["error_status"] == 500
    assert state["counts"]["burst_429"] == 1
    bad = requests.post(f"{server.url}/__faults", json={"error_rat": 0.5}, timeout=5)
    assert bad.status_code == 400
    assert "error_rat" in bad.json()["message"]
    assert requests.delete(f"{server.url}/__faults", timeout=5).json()["faults"] == Faults().to_dict()
    assert server.faults == Faults()
    assert get(server, "/products").status_code == 200
    assert server.request_count == 2  # fault control calls stay out of the log


# -- command line -------------------------------------------------------------------------------


def test_cli_serves_generated_products_until_terminated() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "tests.stack.catalog_server", "--port", str(port), "--generate", "40"]
    proc = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == f"catalog server on http://127.0.0.1:{port} serving 40 products"
        body = requests.get(f"http://127.0.0.1:{port}/products", params={"limit": 0}, timeout=5).json()
        assert body["total"] == 40
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_cli_rejects_a_file_that_is_not_an_array_of_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "catalog.json"
    bad.write_text('{"products": []}')
    assert main(["--port", "0", "--file", str(bad)]) != 0
    assert str(bad) in capsys.readouterr().err


def test_load_catalog_reads_the_real_snapshot_and_names_broken_files(tmp_path: Path) -> None:
    assert len(load_catalog(REAL_CATALOG_FILE)) == 194
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    with pytest.raises(CatalogFileError, match=r"broken\.json"):
        load_catalog(broken)


def test_a_stopped_server_refuses_connections() -> None:
    server = CatalogServer(generate_catalog(3)).start()
    assert get(server, "/health").ok
    server.stop()
    with pytest.raises(requests.ConnectionError):
        get(server, "/health")
