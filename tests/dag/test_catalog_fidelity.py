"""The store shows what the source says, field by field, and survives a source sending garbage.

One store, in order: foreign products are put in first; the real catalog is synced; the source
then changes (prices, titles, categories, tags, images, removals, additions) and is synced with
``on_missing=draft``; finally the source mixes in bad records of many kinds.
"""

from __future__ import annotations

import copy
import re

import pytest

from tests.stack.store_view import differences, ours, store_products

pytestmark = [pytest.mark.medusa, pytest.mark.airflow]

HANDLE_RULE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DROP = object()  # marks a key to leave out of a record


def create_foreign(store, title, handle, external_id, sku):
    body = {
        "title": title,
        "handle": handle,
        "status": "published",
        "options": [{"title": "Size", "values": ["One"]}],
        "variants": [
            {
                "title": "One",
                "sku": sku,
                "options": {"Size": "One"},
                "prices": [{"amount": 5, "currency_code": "usd"}],
            }
        ],
        "metadata": {"owner": "someone else"},
    }
    if external_id is not None:
        body["external_id"] = external_id
    response = store.admin.post("/admin/products", json=body)
    response.raise_for_status()
    return response.json()["product"]["id"]


def snapshot(store, ids):
    return {pid: store.admin.get(f"/admin/products/{pid}").json()["product"] for pid in ids}


@pytest.fixture(scope="module")
def foreign(medusa_store_module):
    """Products the sync does not own, one of them holding the handle product 1 would want."""
    store = medusa_store_module
    ids = [
        create_foreign(store, "Hand-made mascara", "essence-mascara-lash-princess", None, "HAND-1"),
        create_foreign(store, "ERP product", "erp-product", "erp:77", "ERP-77"),
        create_foreign(store, "Look-alike prefix", "look-alike", "dummyjsonx:5", "LOOK-5"),
    ]
    return ids, snapshot(store, ids)


def mutate(catalog: list[dict]) -> tuple[list[dict], set[int], set[int], list[dict]]:
    """The scenario's source changes: returns the new catalog, changed ids, removed ids, added records."""
    by_id = {r["id"]: r for r in copy.deepcopy(catalog)}
    changed: set[int] = set()
    for pid in (2, 3, 4, 5, 6):
        by_id[pid]["price"] = round(by_id[pid]["price"] + 1.11, 2)
    for pid in (7, 8, 9):
        by_id[pid]["title"] += " (2026 edition)"
    by_id[10]["category"] = next(r["category"] for r in catalog if r["category"] != by_id[10]["category"])
    by_id[11]["category"] = next(
        r["category"] for r in reversed(catalog) if r["category"] != by_id[11]["category"]
    )
    by_id[12]["tags"] = [*by_id[12]["tags"], "limited-edition"]
    by_id[13]["tags"] = by_id[13]["tags"][:1]
    by_id[14]["tags"] = ["brand-new-tag"]
    changed |= {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
    with_images = [
        r["id"] for r in catalog if len(r["images"]) >= 3 and r["id"] not in changed and r["id"] < 180
    ]
    reorder, reshape = with_images[:2]
    by_id[reorder]["images"] = list(reversed(by_id[reorder]["images"]))
    by_id[reshape]["images"] = [*by_id[reshape]["images"][1:], "https://cdn.example.test/extra.webp"]
    changed |= {reorder, reshape}
    removed = {190, 191, 192, 193}
    added = []
    for n, template in enumerate((20, 21, 22)):
        record = {**copy.deepcopy(by_id[template]), "id": 195 + n, "title": f"Brand New Product {n}"}
        record["sku"] = f"NEW-{n}"
        record["meta"] = {**record["meta"], "barcode": f"100000000000{n}"}
        added.append(record)
    new_catalog = [r for pid, r in sorted(by_id.items()) if pid not in removed] + added
    return new_catalog, changed, removed, added


def test_first_sync_leaves_foreign_products_alone_and_their_handles_untaken(
    sync, medusa_store_module, foreign, real_catalog
):
    ids, before = foreign
    outcome = sync()
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["products"]["created"] == 194

    products = ours(store_products(medusa_store_module))
    assert len(products) == 194
    assert products[1]["handle"] == "essence-mascara-lash-princess-1"
    assert snapshot(medusa_store_module, ids) == before
    mismatches = {
        pid: d for pid, r in ((r["id"], r) for r in real_catalog) if (d := differences(products[pid], r))
    }
    assert mismatches == {}


def test_every_change_at_the_source_reaches_exactly_the_changed_products(
    sync, catalog, medusa_store_module, foreign, real_catalog
):
    before = {pid: p["updated_at"] for pid, p in ours(store_products(medusa_store_module)).items()}
    new_catalog, changed, removed, added = mutate(real_catalog)
    assert (len(changed), len(removed), len(added)) == (15, 4, 3)
    catalog.replace_products(new_catalog)

    outcome = sync(on_missing="draft")

    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report["products"]
    assert (report["updated"], report["created"], report["drafted"], report["unchanged"]) == (15, 3, 4, 175)
    products = ours(store_products(medusa_store_module))
    touched = {pid for pid in before if products[pid]["updated_at"] != before[pid]}
    assert touched == changed | removed
    assert {pid for pid, p in products.items() if p["status"] == "draft"} == removed
    mismatches = {r["id"]: d for r in new_catalog if (d := differences(products[r["id"]], r))}
    assert mismatches == {}
    assert products[7]["handle"] == before_handle(real_catalog, 7)  # the handle stays as first allocated
    assert snapshot(medusa_store_module, foreign[0]) == foreign[1]


def before_handle(catalog, pid):
    title = next(r["title"] for r in catalog if r["id"] == pid)
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def bad_records(catalog: list[dict]) -> list[tuple[object, str | None, str]]:
    """Each kind of bad record, with the field its quarantine reason must name."""
    base = next(r for r in catalog if r["id"] == 30)

    def record(n, **changes):
        r = {**copy.deepcopy(base), "id": n, "title": f"Bad {n}", "sku": f"BAD-{n}"}
        r["meta"] = {**r["meta"], "barcode": f"9900000{n}"}
        for key, value in changes.items():
            if value is DROP:
                r.pop(key)
            else:
                r[key] = value
        return r

    bad = [
        (record(1001, id=DROP), None, "id"),
        (record(1002, title=""), "1002", "title"),
        (record(1003, title=DROP), "1003", "title"),
        (record(1004, title="x" * 10_000), "1004", "title"),
        (record(1005, price="abc"), "1005", "price"),
        (record(1006, price=-5), "1006", "price"),
        (record(1007, price=float("nan")), "1007", "price"),
        (record(1008, price=1.999), "1008", "price"),
        (record(1009, category=DROP), "1009", "category"),
        (record(1010, images=["ftp://cdn.example.test/a.png"]), "1010", "images"),
        (record(1011, thumbnail="javascript:alert(1)"), "1011", "thumbnail"),
        (record(1012, id=30), "30", "id"),
        (record(1013, sku=next(r["sku"] for r in catalog if r["id"] == 31)), "1013", "sku"),
        (
            record(1014, meta={"barcode": next(r["meta"]["barcode"] for r in catalog if r["id"] == 32)}),
            "1014",
            "barcode",
        ),
        (record(1015, id="abc"), "abc", "id"),
        (record(1016, id=0), "0", "id"),
        (record(1017, price=True), "1017", "price"),
        ("not an object", None, "record"),
    ]
    return bad


def good_but_odd(catalog: list[dict]) -> list[dict]:
    base = next(r for r in catalog if r["id"] == 40)

    def record(n, **changes):
        r = {**copy.deepcopy(base), "id": n, "title": f"Odd {n}", "sku": f"ODD-{n}"}
        r["meta"] = {**r["meta"], "barcode": f"8800000{n}"}
        r.update(changes)
        return r

    return [
        record(2001, title="🔥🔥🔥"),
        record(2002, title="東京タワー"),
        record(2003, description="<p>Bold <b>claims</b> & <script>alert(1)</script></p>"),
        record(2004, brand=None, tags=None, dimensions=None, weight=None, thumbnail=None, rating=None),
        record(2005, surprise={"nested": True}, color="red"),
        record("2006"),
    ]


def test_bad_records_are_quarantined_and_everything_else_syncs(
    sync, catalog, medusa_store_module, foreign, real_catalog
):
    new_catalog, *_ = mutate(real_catalog)
    bad = bad_records(real_catalog)
    odd = good_but_odd(real_catalog)
    refused = {
        **odd[0],
        "id": 2007,
        "title": "Refused by Medusa",
        "sku": "HAND-1",
        "meta": {"barcode": "7700000001"},
    }
    catalog.replace_products([*new_catalog, *odd, refused, *(r for r, _, _ in bad)])

    outcome = sync()

    assert outcome.returncode == 0, outcome.output[-5000:]
    report = outcome.report
    assert report["status"] == "success"
    assert report["source"]["quarantined"] == len(bad)
    reasons = [(q["source_id"], q["reason"]) for q in report["quarantine"]]
    for (_, source_id, field), (got_id, reason) in zip(bad, reasons, strict=True):
        assert got_id == source_id, reason
        assert reason.startswith(f"{field}:"), reason

    products = ours(store_products(medusa_store_module))
    for record in odd:
        product = products[int(record["id"])]
        assert HANDLE_RULE.match(product["handle"]), product["handle"]
        assert differences(product, {**record, "tags": record["tags"] or []}) == []
    assert products[2003]["description"] == odd[2]["description"]
    assert 2007 not in products
    [rejected] = report["rejected"]
    assert rejected["source_id"] == "2007"
    assert "HAND-1" in rejected["message"] or "sku" in rejected["message"]
    assert report["products"]["created"] == len(odd)
    assert len({p["handle"] for p in products.values()}) == len(products)
    assert snapshot(medusa_store_module, foreign[0]) == foreign[1]


def test_on_missing_delete_removes_only_our_vanished_products_and_a_returning_one_is_republished(
    sync, catalog, medusa_store_module, foreign, real_catalog
):
    new_catalog, _, removed, _ = mutate(real_catalog)
    returning = next(r for r in real_catalog if r["id"] == 190)
    odd = good_but_odd(real_catalog)
    catalog.replace_products([*new_catalog, returning, *odd])

    outcome = sync(on_missing="delete")

    assert outcome.returncode == 0, outcome.output[-5000:]
    assert outcome.report["products"]["deleted"] == len(removed) - 1
    assert outcome.report["products"]["updated"] == 1
    products = ours(store_products(medusa_store_module))
    assert set(products) == {r["id"] for r in new_catalog} | {190} | {int(r["id"]) for r in odd}
    assert products[190]["status"] == "published"
    assert differences(products[190], returning) == []
    channel = medusa_store_module.admin.get("/admin/stores").json()["stores"][0]["default_sales_channel_id"]
    assert all([c["id"] for c in p["sales_channels"]] == [channel] for p in products.values())
    assert snapshot(medusa_store_module, foreign[0]) == foreign[1]
