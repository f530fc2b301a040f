"""Failures between the DAG and its two servers: the run still converges, each product exactly once.

Each test gets a fresh real Medusa behind a fault-injecting proxy and the local catalog server,
and runs the whole DAG with Airflow (task retries 1 s apart instead of 30 s).
"""

from __future__ import annotations

import base64

import pytest

from tests.stack.airflow_local import medusa_connection, source_connection
from tests.stack.catalog_server import Faults
from tests.stack.counting_proxy import Fault
from tests.stack.store_view import exact_store_problems, store_categories

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]


def run(fault_airflow, fresh_catalog, proxy, store, *, login: bool = False, **conf):
    medusa = (
        medusa_connection(proxy.url, email=store.email, password=store.password)
        if login
        else medusa_connection(proxy.url, api_key=store.api_key)
    )
    outcome = fault_airflow.run_dag(
        connections={"medusa_default": medusa, "dummyjson_default": source_connection(fresh_catalog.url)},
        conf=conf,
    )
    assert outcome.report is not None, outcome.output[-5000:]
    return outcome


def assert_store_equals_source(store, catalog):
    """Every source product exactly once, every mapped field as the source says."""
    assert exact_store_problems(store, catalog) == []


def test_a_flaky_source_with_429_bursts_still_syncs_everything(
    fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store, real_catalog
):
    fresh_catalog.set_faults(Faults(error_rate=0.3, error_status=503, burst_429=3, retry_after=1, seed=7))
    outcome = run(fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store, page_size=30)
    counts = dict(fresh_catalog.fault_counts)
    print(f"\n[faults] source faults injected: {counts}")
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert counts["error"] >= 2 and counts["burst_429"] == 3
    assert outcome.report["products"]["created"] == 194
    assert_store_equals_source(medusa_store, real_catalog)


def test_a_category_failure_midway_deletes_what_the_attempt_created_then_the_retry_succeeds(
    fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store, real_catalog
):
    # The tenth category's create fails 6 times: once in the fetch (one try a request), then on
    # every one of the hook's 5 attempts in sync_categories' first try.
    handle = list(dict.fromkeys(r["category"] for r in real_catalog))[9]
    tenth = fresh_medusa_proxy.inject(
        Fault(
            "POST",
            "/admin/product-categories",
            status=500,
            times=6,
            when=lambda _h, body: f'"{handle}"'.encode() in body,
        )
    )
    outcome = run(fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store)
    assert outcome.returncode == 0, outcome.output[-5000:]
    deleted = [
        r
        for r in fresh_medusa_proxy.requests
        if r[0] == "DELETE" and r[1].startswith("/admin/product-categories/")
    ]
    created = [
        s
        for s in fresh_medusa_proxy.seen
        if (s.method, s.path, s.status) == ("POST", "/admin/product-categories", 200)
    ]
    print(
        f"\n[faults] categories created in all: {len(created)}; deleted by the rollbacks: {len(deleted)}; "
        f"injected 500s: {tenth.fired}"
    )
    assert tenth.fired == 6
    # Each failed attempt (the fetch's, then sync_categories' first try) created some (the 9
    # before the tenth, plus those in flight beside it), its rollback deleted exactly those, and
    # sync_categories' retry created all 24 again.
    assert 2 * 9 <= len(deleted) < 2 * 24
    assert len(created) == len(deleted) + 24
    categories = store_categories(medusa_store)
    assert len(categories) == 24 and len({c["handle"] for c in categories}) == 24
    states = fault_airflow.task_states(outcome.report["run_id"])
    assert states["sync_categories"] == "success"


def test_an_expired_token_is_renewed_once_and_the_run_goes_on(
    fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store, real_catalog
):
    def bearer(headers, _body):
        return headers.get("Authorization", "").startswith("Bearer ")

    expired = fresh_medusa_proxy.inject(
        Fault(
            None,
            "/admin/products",
            status=401,
            body={"type": "unauthorized", "message": "Unauthorized"},
            skip=1,
            when=bearer,
        )
    )
    outcome = run(fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store, login=True)
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert expired.fired == 1
    seen = fresh_medusa_proxy.seen
    after = next(i for i, s in enumerate(seen) if s.injected)
    assert (seen[after + 1].method, seen[after + 1].path) == ("POST", "/auth/user/emailpass")
    assert seen[after + 2].path == seen[after].path and seen[after + 2].status == 200
    assert_store_equals_source(medusa_store, real_catalog)


def test_a_body_over_the_limit_is_split_and_resent_nothing_lost(
    fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store, real_catalog
):
    # A reverse proxy in front of Medusa with a 100 kB body limit answers 413 like Medusa does over 2 MB.
    too_large = fresh_medusa_proxy.inject(
        Fault(
            "POST", "/admin/products/batch", status=413, body={"message": "request entity too large"},
            times=-1, when=lambda _headers, body: len(body) > 100_000,
        )
    )  # fmt: skip
    outcome = run(fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store)
    assert outcome.returncode == 0, outcome.output[-5000:]
    sent = [s for s in fresh_medusa_proxy.seen if s.path == "/admin/products/batch"]
    print(
        f"\n[faults] 413s: {too_large.fired}; batch requests: {len(sent)}; "
        f"largest accepted: {max(s.size for s in sent if s.status == 200)} B"
    )
    assert too_large.fired >= 1
    assert outcome.report["products"]["created"] == 194 and outcome.report["products"]["rejected"] == 0
    assert_store_equals_source(medusa_store, real_catalog)


def test_an_answer_lost_after_medusa_committed_creates_no_duplicate(
    fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store, real_catalog
):
    lost = fresh_medusa_proxy.inject(
        Fault("POST", "/admin/products/batch", status=504, forward=True, body={"message": "gateway timeout"})
    )
    outcome = run(fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store)
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert lost.fired == 1
    products = outcome.report["products"]
    print(f"\n[faults] after the lost answer the retry counted: {products}")
    # The lost attempt created them all; the retry finds each in the store as planned: resumed.
    assert (products["created"], products["resumed"], products["updated"]) == (194, 194, 0)
    assert_store_equals_source(medusa_store, real_catalog)


@pytest.mark.parametrize("login", [False, True], ids=["api_key", "email_password"])
def test_no_secret_reaches_logs_xcom_or_storage(
    fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store, login
):
    outcome = run(
        fault_airflow, fresh_catalog, fresh_medusa_proxy, medusa_store, login=login, max_products=20
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    secrets = {medusa_store.api_key} if not login else {medusa_store.password}
    for header in fresh_medusa_proxy.authorizations:
        scheme, _, value = header.partition(" ")
        secrets.add(base64.b64decode(value).decode().rstrip(":") if scheme == "Basic" else value)
        secrets.add(value)
    assert secrets
    for secret in secrets:
        assert secret not in outcome.output
        assert fault_airflow.files_containing(secret) == []
        assert not any(secret in value for _, _, value in fault_airflow.xcom_values())
