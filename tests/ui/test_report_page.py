"""The run report inside Airflow's own UI, as the on-call engineer opens it at 3 am.

A real cluster (api-server, scheduler with LocalExecutor, dag-processor on PostgreSQL) syncs the
real catalog, plus two bad records and one that Medusa refuses, into a real Medusa. Then headless
Chromium, driven by Playwright, follows the ``report`` task's "Sync report" link: it is sent to
Airflow's login, signs in, comes back to the page and reads the counts, a quarantined reason and
Medusa's message. Without a session, the page and its JSON refuse. Screenshots of the page, alone
and inside the UI's menu entry, are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests

from tests.fixtures.medusa import MedusaStore
from tests.stack.airflow_cluster import ADMIN_PASSWORD, ADMIN_USER, AirflowCluster
from tests.stack.airflow_local import DAG_ID, medusa_connection, source_connection
from tests.stack.catalog_server import CatalogServer

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
TAKEN_SKU = "TAKEN-BY-ERP-1"
STOCK_DAG = "medusa_stock_sync"
# Chromium as the machine's browser tests start it: no first-run, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def source_catalog(real_catalog: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The real catalog, two records to quarantine, and one whose SKU another product holds."""
    base = next(r for r in real_catalog if r["id"] == 30)

    def record(n: int, **changes: Any) -> dict[str, Any]:
        r = {**copy.deepcopy(base), "id": n, "title": f"Extra {n}", "sku": f"EXTRA-{n}"}
        r["meta"] = {**r["meta"], "barcode": f"7700000{n}"}
        return r | changes

    return [
        *real_catalog,
        record(1005, price="abc"),
        record(1006, title=""),
        record(2007, title="Refused by Medusa", sku=TAKEN_SKU),
    ]


@pytest.fixture(scope="module")
def source(real_catalog: list[dict[str, Any]]) -> Iterator[CatalogServer]:
    with CatalogServer(source_catalog(real_catalog)) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    airflow_cluster_factory, medusa_store_module: MedusaStore, source: CatalogServer
) -> Iterator[AirflowCluster]:
    connections = {
        "medusa_default": medusa_connection(medusa_store_module.url, api_key=medusa_store_module.api_key),
        "dummyjson_default": source_connection(source.url),
    }
    with airflow_cluster_factory(connections, env={"AIRFLOW__MEDUSA_SYNC__RETRIES": "0"}) as cluster:
        for dag_id in (DAG_ID, STOCK_DAG):
            cluster.api.unpause(dag_id)
        yield cluster


@pytest.fixture(scope="module")
def synced(cluster: AirflowCluster, medusa_store_module: MedusaStore) -> tuple[str, dict[str, Any]]:
    """One run that quarantined two records and had one item refused by Medusa."""
    erp_product = {
        "title": "ERP product",
        "handle": "erp-product-1",
        "status": "published",
        "options": [{"title": "Size", "values": ["One"]}],
        "variants": [
            {
                "title": "One",
                "sku": TAKEN_SKU,
                "options": {"Size": "One"},
                "prices": [{"amount": 5, "currency_code": "usd"}],
            },
        ],
    }
    medusa_store_module.admin.post("/admin/products", json=erp_product).raise_for_status()
    run_id = cluster.api.trigger(DAG_ID)
    assert cluster.wait_for_run(DAG_ID, run_id, timeout=600) == "success", cluster.logs_tail()
    report = cluster.report(run_id)
    assert report["products"]["created"] == 194 and report["source"]["quarantined"] == 2
    assert report["products"]["rejected"] == 1
    return run_id, report


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        # ./dev test installs it when apt-get may run; when it may not, it says why in this variable
        # and the test skips with that reason. Anything else is a broken setup: fail.
        reason = os.environ.get("DEV_BROWSER_SKIP")
        if reason:
            pytest.skip(reason)
        pytest.fail("Debian's chromium is not installed: ./dev test installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def report_link(cluster: AirflowCluster, run_id: str) -> str:
    """The "Sync report" extra link of the run's ``report`` task, as the UI's button gets it."""
    links = cluster.api.request(
        "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/report/links"
    )
    return links["extra_links"]["Sync report"]


def test_the_plugin_adds_a_menu_entry_and_mounts_its_app(cluster: AirflowCluster) -> None:
    plugins = cluster.api.request("GET", "/api/v2/plugins")["plugins"]
    [plugin] = [p for p in plugins if p["name"] == "medusa_sync"]
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/medusa-sync"]
    [view] = plugin["external_views"]
    assert (view["name"], view["destination"], view["href"]) == (
        "Medusa sync reports",
        "nav",
        f"medusa-sync/{DAG_ID}/runs/",
    )


def test_without_a_session_the_page_and_its_data_refuse(cluster: AirflowCluster, synced) -> None:
    run_id, _ = synced
    page = f"{cluster.url}/medusa-sync/{DAG_ID}/runs/{quote(run_id, safe='')}"
    data = f"{cluster.url}/medusa-sync/api/{DAG_ID}/runs/{quote(run_id, safe='')}"
    listing = f"{cluster.url}/medusa-sync/api/{DAG_ID}/runs"

    anonymous_page = requests.get(page, allow_redirects=False, timeout=30)
    assert anonymous_page.status_code == 303
    assert anonymous_page.headers["location"].startswith("/auth/login?next=")
    assert run_id not in anonymous_page.text and "quarantined" not in anonymous_page.text.lower()
    for url in (data, listing):
        anonymous = requests.get(url, timeout=30)
        assert anonymous.status_code == 401, url
        assert anonymous.json() == {"detail": "Not authenticated"}
    forged = requests.get(data, headers={"Authorization": "Bearer not-a-token"}, timeout=30)
    assert forged.status_code in (401, 403) and "quarantine" not in forged.text

    token = requests.post(
        f"{cluster.url}/auth/token", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD}, timeout=30
    ).json()["access_token"]
    signed_in = requests.get(data, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert signed_in.status_code == 200
    assert signed_in.json()["report"]["products"]["rejected"] == 1


def test_the_report_link_leads_through_login_to_the_run_page_with_its_counts_and_reasons(
    cluster: AirflowCluster, synced, chromium
) -> None:
    run_id, report = synced
    link = report_link(cluster, run_id)
    assert link == f"{cluster.url}/medusa-sync/{DAG_ID}/runs/{quote(run_id, safe='')}"
    quarantined = {item["source_id"]: item["reason"] for item in report["quarantine"]}
    [rejected] = report["rejected"]

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(link)
    page.wait_for_url("**/auth/login**")  # no session yet: Airflow's login page, with the way back
    page.fill("input[name=username]", ADMIN_USER)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/medusa-sync/" in url)
    assert unquote(page.url) == unquote(link)

    assert page.inner_text("h1") == f"{DAG_ID} · {run_id}"
    products = page.inner_text("#products")
    assert "Created\t194" in products and "Rejected\t1" in products
    fetch = page.inner_text("#fetch")
    assert "Quarantined\t2" in fetch and "Complete\tyes" in fetch
    quarantine = page.inner_text("#quarantine")
    assert quarantined["1005"] in quarantine and quarantined["1005"].startswith("price")
    rejected_table = page.inner_text("#rejected")
    assert rejected["message"] and rejected["message"] in rejected_table
    assert "2007" in rejected_table
    batches = page.inner_text("#batches")
    assert all(line["label"] in batches for line in report["batches"]["results"])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-page.png"), full_page=True)
    # ./dev docs (tests/stack/docs.py) runs this test for the docs' picture of the page.
    if docs_copy := os.environ.get("REPORT_PAGE_SCREENSHOT"):
        page.screenshot(path=docs_copy, full_page=True)

    # The list of recent runs, one line of counts each, links to this page.
    page.goto(f"{cluster.url}/medusa-sync/{DAG_ID}/runs/")
    row = page.locator("#runs tr", has_text=run_id)
    assert "194" in row.inner_text() and "complete" in row.inner_text()
    row.get_by_role("link", name=run_id).click()
    page.wait_for_url(lambda url: unquote(url) == unquote(link))

    # The menu entry shows the same list inside Airflow's UI (an iframe of the plugin's app).
    page.goto(f"{cluster.url}/plugin/medusa-sync-reports")
    frame = page.frame_locator("iframe")
    frame.locator("#runs").wait_for(timeout=30_000)
    assert run_id in frame.locator("#runs").inner_text()
    page.screenshot(path=str(ARTIFACTS / "report-page-in-airflow-ui.png"), full_page=True)
    context.close()


def test_stock_runs_have_their_own_list_reached_from_the_catalog_runs(
    cluster: AirflowCluster, synced, chromium
) -> None:
    """A stock run after the catalog run (inventory not synced: every variant unmanaged): its row
    shows its level counts and its fetch; the catalog list links to it and says how far back it goes."""
    stock_run = cluster.api.trigger(STOCK_DAG)
    assert cluster.wait_for_run(STOCK_DAG, stock_run, timeout=300) == "success", cluster.logs_tail()

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{cluster.url}/medusa-sync/{DAG_ID}/runs/")
    page.wait_for_url("**/auth/login**")
    page.fill("input[name=username]", ADMIN_USER)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/medusa-sync/" in url)
    assert "Reports of runs started over 30 days ago are removed" in page.inner_text("#retention")
    page.get_by_role("link", name=STOCK_DAG).click()
    page.wait_for_url(f"**/medusa-sync/{STOCK_DAG}/runs/")

    header = page.inner_text("#runs tr >> nth=0")
    assert "Levels created" in header and "Levels updated" in header and "Skipped because" in header
    row = page.locator("#runs tr", has_text=stock_run).inner_text()
    assert "success" in row and "197" in row and "complete" in row  # fetched: 194 + the 3 extra records
    row_link = page.locator("#runs tr", has_text=stock_run).get_by_role("link", name=stock_run)
    row_link.click()
    page.wait_for_url(lambda url: unquote(url).endswith(stock_run))
    stock = page.inner_text("#stock")
    assert "Not managed by inventory\t194" in stock
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-page-stock-run.png"), full_page=True)
    context.close()
