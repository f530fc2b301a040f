"""The stock task plans through a task-local index and sends its writes a batch at a time; the
index's file is gone when the task ends, whether it succeeds or fails."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from medusa_sync.operators.sync_stock import SyncStockOperator
from medusa_sync.rundata.run_folder import RunFolder, write_json

LOCATION = "sloc_1"


def listed(n: int, *, managed: bool = True, quantity: int | None = None) -> dict[str, Any]:
    """Store product ``n``; ``quantity`` is its level at the location (None: no level there)."""
    levels = (
        []
        if quantity is None
        else [{"id": f"ilev_{n}", "location_id": LOCATION, "stocked_quantity": quantity}]
    )
    items = [{"inventory_item_id": f"iitem_{n}", "inventory": {"location_levels": levels}}] if managed else []
    return {
        "id": f"prod_{n}",
        "external_id": f"dummyjson:{n}",
        "variants": [{"id": f"variant_{n}", "inventory_items": items}],
    }


class Store:
    """Two levels to update (1, 5), three to create (2, 6, 8), one unchanged (3), one variant not
    managed by inventory (4); ``fail`` makes every level request fail. Each request notes what
    the temporary directory held when it came (the task's index, by then)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[dict[str, Any]] = []
        self.scratch_while_writing: list[list[Path]] = []

    def default_sales_channel_id(self) -> str:
        return "sc_1"

    def stock_location_for(self, given: str, **_: Any) -> str:
        return LOCATION

    def list_products(self, **_: Any) -> Iterator[dict[str, Any]]:
        yield from (listed(1, quantity=1), listed(2), listed(3, quantity=5), listed(4, managed=False))
        yield from (listed(5, quantity=2), listed(6), listed(8))

    def batch_inventory_levels(self, **body: Any) -> None:
        self.scratch_while_writing.append(list(Path(tempfile.gettempdir()).iterdir()))
        if self.fail:
            raise RuntimeError("502")
        self.sent.append(body)


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """Where the task's index file goes, to see it gone."""
    path = tmp_path / "scratch"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def run(tmp_path, monkeypatch, store: Store) -> tuple[RunFolder, dict[str, Any]]:
    folder = RunFolder.for_run(f"file://{tmp_path}/runs", "medusa_stock_sync", "run")
    source = {1: 4, 2: 7, 3: 5, 4: 1, 5: 3, 6: 0, 7: None, 8: 8, 9: 2}  # 7 quarantined, 9 not in the store
    write_json(folder.page(1), [{"id": pid, "stock": stock} for pid, stock in source.items()])
    monkeypatch.setattr("medusa_sync.operators.sync_stock.MedusaHook", lambda **_: store)
    op = SyncStockOperator(task_id="sync_stock", run_folder=folder.url, level_batch_size=2)
    params = {"dry_run": False, "page_size": 500, "stock_location_id": "", "sales_channel_id": ""}
    context = {"dag": SimpleNamespace(dag_id="medusa_stock_sync"), "run_id": "run", "params": params}
    return folder, op.execute(context)


def test_creates_then_updates_go_a_batch_at_a_time_and_stock_json_says_what_was_done(
    tmp_path, monkeypatch, scratch
):
    store = Store()
    folder, result = run(tmp_path, monkeypatch, store)

    def level(n: int, quantity: int) -> dict[str, Any]:
        return {"inventory_item_id": f"iitem_{n}", "location_id": LOCATION, "stocked_quantity": quantity}

    assert store.sent == [
        {"create": [level(2, 7), level(6, 0)]},
        {"create": [level(8, 8)]},
        {"update": [level(1, 4), level(5, 3)]},
    ]
    assert result == {
        "location_id": LOCATION,
        "dry_run": False,
        "created": 3,
        "updated": 2,
        "planned_create": 3,
        "planned_update": 2,
        "unchanged": 1,
        "superseded": 0,
        "not_in_store": 1,
        "unmanaged": 1,
        "requests": 3,
    }
    assert json.loads(folder.stock.read_text()) == result
    assert all(store.scratch_while_writing) and list(scratch.iterdir()) == []


def test_the_index_file_is_gone_when_a_level_request_fails(tmp_path, monkeypatch, scratch):
    store = Store(fail=True)
    with pytest.raises(RuntimeError, match="502"):
        run(tmp_path, monkeypatch, store)
    assert store.scratch_while_writing[0] and list(scratch.iterdir()) == []


class VariantStore(Store):
    """A product with variants: the sync's S/Red (level 1) and S/Blue (no level yet) and a variant
    the merchant added (level 40); the listing's fields are noted."""

    fields: tuple[str, ...] = ()

    def list_products(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.fields = kwargs["fields"]

        def variant(vid: str, source: str | None, quantity: int | None) -> dict[str, Any]:
            levels = (
                []
                if quantity is None
                else [{"id": f"ilev_{vid}", "location_id": LOCATION, "stocked_quantity": quantity}]
            )
            return {
                "id": vid,
                "metadata": {"source_variant_id": source} if source else None,
                "inventory_items": [
                    {"inventory_item_id": f"iitem_{vid}", "inventory": {"location_levels": levels}}
                ],
            }

        variants = [variant("merchant", None, 40), variant("sred", "701", 1), variant("sblue", "702", None)]
        yield {"id": "prod_7", "external_id": "dummyjson:7", "variants": variants}


def test_the_daily_syncs_whole_records_with_variants_write_a_level_per_sync_variant(
    tmp_path, monkeypatch, scratch, variant_record
):
    from medusa_sync.core.models import SourceProduct

    store = VariantStore()
    folder = RunFolder.for_run(f"file://{tmp_path}/runs", "medusa_product_sync", "run")
    write_json(folder.page(1), [SourceProduct.parse(variant_record(7, stocks=(6, 2, 9, 9))).kept()])
    monkeypatch.setattr("medusa_sync.operators.sync_stock.MedusaHook", lambda **_: store)
    op = SyncStockOperator(task_id="sync_stock", run_folder=folder.url)
    params = {"dry_run": False, "page_size": 500, "stock_location_id": "", "sales_channel_id": ""}
    result = op.execute(
        {"dag": SimpleNamespace(dag_id="medusa_product_sync"), "run_id": "run", "params": params}
    )

    def level(vid: str, quantity: int) -> dict[str, Any]:
        return {"inventory_item_id": f"iitem_{vid}", "location_id": LOCATION, "stocked_quantity": quantity}

    assert store.sent == [{"create": [level("sblue", 2)]}, {"update": [level("sred", 6)]}]
    assert (result["created"], result["updated"], result["not_in_store"]) == (1, 1, 2)  # 703, 704
    assert "variants.metadata" in store.fields
