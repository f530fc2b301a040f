"""The dev-stack Medusa behaves as the sync expects: healthy, keyed, isolated per test.

The read-only checks share the module's store; only the isolation check starts a store of its own."""

from __future__ import annotations

import pytest
import requests

from tests.fixtures.medusa import MedusaStore

pytestmark = pytest.mark.medusa


def test_health_is_ok(medusa_store_module: MedusaStore) -> None:
    response = requests.get(f"{medusa_store_module.url}/health", timeout=10)
    assert response.status_code == 200
    assert response.text == "OK"


def test_the_secret_key_authenticates_on_an_empty_store(medusa_store_module: MedusaStore) -> None:
    assert medusa_store_module.api_key.startswith("sk_")
    response = medusa_store_module.admin.get("/admin/products")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_a_wrong_key_is_rejected(medusa_store_module: MedusaStore) -> None:
    response = requests.get(
        f"{medusa_store_module.url}/admin/products", auth=("sk_not_a_real_key", ""), timeout=10
    )
    assert response.status_code == 401


def test_the_store_has_a_default_sales_channel_and_usd(medusa_store_module: MedusaStore) -> None:
    store = medusa_store_module.admin.get("/admin/stores").json()["stores"][0]
    channels = medusa_store_module.admin.get("/admin/sales-channels").json()["sales_channels"]
    assert store["default_sales_channel_id"] in {c["id"] for c in channels}
    assert "Default Sales Channel" in {c["name"] for c in channels}
    assert {"eur", "usd"} <= {c["currency_code"] for c in store["supported_currencies"]}


def _product(handle: str) -> dict:
    return {
        "title": "Devstack probe",
        "handle": handle,
        "options": [{"title": "Size", "values": ["One"]}],
        "variants": [
            {
                "title": "One",
                "sku": f"{handle}-one",
                "options": {"Size": "One"},
                "prices": [{"amount": 9.99, "currency_code": "usd"}],
            }
        ],
    }


def test_two_stores_are_independent(medusa_store: MedusaStore, medusa_store_module: MedusaStore) -> None:
    assert medusa_store.database != medusa_store_module.database
    created = medusa_store.admin.post("/admin/products", json=_product("devstack-probe"))
    assert created.status_code == 200, created.text
    variant = created.json()["product"]["variants"][0]
    fields = {"fields": "id,*variants,*variants.prices"}
    product = medusa_store.admin.get("/admin/products", params={"handle": "devstack-probe", **fields}).json()
    assert product["count"] == 1
    assert product["products"][0]["variants"][0]["prices"][0]["amount"] == 9.99
    assert variant["sku"] == "devstack-probe-one"

    other = medusa_store_module.admin.get("/admin/products", params={"handle": "devstack-probe"}).json()
    assert other["count"] == 0
