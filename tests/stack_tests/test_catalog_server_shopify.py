"""The local catalog server in Shopify's shape, and the generator of multi-variant catalogs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from tests.conftest import REPO
from tests.stack.catalog_generator import generate_shopify_catalog, shopify_product_id
from tests.stack.catalog_server import CatalogServer
from tests.stack_tests.test_catalog_server import free_port


@pytest.fixture
def shop() -> Iterator[CatalogServer]:
    with CatalogServer(generate_shopify_catalog(75, seed=2)) as server:
        yield server


def get(server: CatalogServer, path: str, **params: object) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=10)


def test_products_json_pages_by_number_until_an_empty_page(shop: CatalogServer) -> None:
    seen, page = [], 1
    while body := get(shop, "/products.json", limit=20, page=page).json()["products"]:
        seen += [p["id"] for p in body]
        page += 1
    assert seen == [shopify_product_id(n) for n in range(1, 76)] and page == 5
    assert "Link" not in get(shop, "/products.json", limit=20).headers


def test_with_link_paging_each_page_links_the_next_and_the_last_none(shop: CatalogServer) -> None:
    shop.link_paging = True
    seen, url, params = [], shop.url + "/products.json", {"limit": 30}
    while url:
        response = requests.get(url, params=params, timeout=10)
        seen += [p["id"] for p in response.json()["products"]]
        url, params = response.links.get("next", {}).get("url"), None
    assert seen == [shopify_product_id(n) for n in range(1, 76)]
    assert len(shop.requests) == 3


def test_one_product_by_id_and_a_404_for_one_that_is_gone(shop: CatalogServer) -> None:
    assert get(shop, f"/products/{shopify_product_id(4)}.json").json()["product"]["id"] == shopify_product_id(
        4
    )
    missing = get(shop, "/products/12.json")
    assert missing.status_code == 404 and missing.json() == {"message": "Not Found"}


def test_limit_is_capped_as_shopify_caps_it() -> None:
    with CatalogServer(generate_shopify_catalog(600)) as shop:
        pages = [get(shop, "/products.json", limit=500, page=n).json()["products"] for n in (1, 2, 3, 4)]
        assert [len(page) for page in pages] == [250, 250, 100, 0]
        assert get(shop, "/products.json", limit=0).status_code == 400


@pytest.mark.parametrize("link_paging", [False, True])
def test_page_glitches_hit_the_shopify_pages_at_their_offset(shop: CatalogServer, link_paging: bool) -> None:
    shop.link_paging = link_paging
    shop.set_faults(empty_from_skip=40, short_page_at_skip=20, short_page_keep=3)
    assert len(get(shop, "/products.json", limit=20, page=2).json()["products"]) == 3
    empty = get(shop, "/products.json", limit=20, page=3)
    assert empty.json()["products"] == []
    assert ("next" in empty.links) == link_paging  # an empty page that still links onwards
    assert shop.fault_counts["short_page"] == 1 and shop.fault_counts["empty_page"] == 1


def test_a_page_may_be_throttled_by_its_offset(shop: CatalogServer) -> None:
    shop.set_faults(throttle_at_skip=20, retry_after=1)
    assert get(shop, "/products.json", limit=20, page=2).status_code == 429
    assert get(shop, "/products.json", limit=20, page=2).status_code == 200


def test_the_generator_makes_sizes_and_colours_deterministically() -> None:
    catalog = generate_shopify_catalog(200, seed=5)
    assert catalog == generate_shopify_catalog(200, seed=5) != generate_shopify_catalog(200, seed=6)
    counts = Counter(len(p["variants"]) for p in catalog)
    assert counts[100] == 1 and set(counts) - {100} <= set(range(1, 13)) and counts[1] > 0
    big = catalog[2]
    assert [(o["name"], len(o["values"])) for o in big["options"]] == [("Size", 10), ("Color", 10)]
    variants = [v for p in catalog for v in p["variants"]]
    assert len({v["sku"] for v in variants}) == len({v["id"] for v in variants}) == len(variants)
    assert all(Decimal(v["price"]).as_tuple().exponent == -2 for v in variants)  # strings with cents
    assert all(isinstance(v["inventory_quantity"], int) for v in variants)
    single = next(p for p in catalog if len(p["variants"]) == 1)
    assert single["options"] == [{"name": "Title", "position": 1, "values": ["Default Title"]}]


def test_images_are_shared_or_linked_to_the_variants_of_one_colour() -> None:
    product = generate_shopify_catalog(3)[2]
    shared = [i for i in product["images"] if not i["variant_ids"]]
    coloured = [i for i in product["images"] if i["variant_ids"]]
    assert shared and len(coloured) == 10
    assert sorted(v for i in coloured for v in i["variant_ids"]) == sorted(
        v["id"] for v in product["variants"]
    )
    assert all(v["featured_image"]["variant_ids"].count(v["id"]) == 1 for v in product["variants"])


def test_cli_serves_a_shopify_catalog_with_link_paging() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [
        *(sys.executable, "-m", "tests.stack.catalog_server", "--port", str(port)),
        *("--shopify", "12", "--link-paging"),
    ]
    proc = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert (
            proc.stdout.readline().strip() == f"catalog server on http://127.0.0.1:{port} serving 12 products"
        )
        response = requests.get(f"http://127.0.0.1:{port}/products.json", params={"limit": 5}, timeout=5)
        assert len(response.json()["products"]) == 5 and "next" in response.links
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
