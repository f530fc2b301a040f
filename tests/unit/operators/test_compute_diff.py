"""The diff task alone: against a fake store it writes the batch files and plan.json the upserts read,
claims the newest-plan marker for a real plan, and skips the tasks left with nothing to do."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import DownstreamTasksSkipped

from medusa_sync import dag_parts, names, settings
from medusa_sync.core.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.core.mapping import HASH_KEY, MappingContext, desired_product, draft_update
from medusa_sync.core.missing import Answer
from medusa_sync.core.models import SourceProduct
from medusa_sync.hooks.medusa import StoreDefaults
from medusa_sync.operators.compute_diff import ComputeDiffOperator
from medusa_sync.rundata.run_folder import RunFolder, read_json, write_json
from medusa_sync.rundata.store_snapshot import STORE_DEFAULTS_KEY, StoreSnapshot
from tests.stack.catalog_generator import generate_catalog

PRODUCTS = 12
PAGE_SIZE = 5  # the fetch's pages: 5, 5 and 2 records
PREFIX = "acme:"  # the fetch's decision, not the package default: compute_diff must take it from fetch.json
STARTED_AT = "2026-12-01T02:00:00+00:00"  # when the fetch read the source
SALES_CHANNEL = "sc_default"
SHIPPING_PROFILE = "sp_default"
RUN_ID = "manual__2026-12-01T02:00:00+00:00"
DEFAULTS = {k: p.value for k, p in dag_parts.product_params(settings.load({})).items()}


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """``items`` in consecutive runs of ``size``, the last one shorter (Python 3.12's ``batched``)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


class FakeStore:
    """Medusa as compute_diff asks it: its default sales channel and shipping profile (unless they
    were recorded: ``StoreDefaults``), and a listing of ``products`` (Admin API objects); each
    listing's fields and each default asked for are noted."""

    def __init__(self, products: Iterable[dict[str, Any]] = ()) -> None:
        self.products = list(products)
        self.listings: list[tuple[str, ...]] = []
        self.defaults_asked: list[str] = []  # each default asked of the store itself

    def default_sales_channel_id(self, recorded: StoreDefaults | None = None) -> str:
        if recorded is not None:
            return str(recorded.sales_channel_id)
        self.defaults_asked.append("sales channel")
        return SALES_CHANNEL

    def shipping_profile_for(self, given: str | None, recorded: StoreDefaults | None = None) -> str | None:
        if given or recorded is not None:
            return given or recorded.shipping_profile_id  # type: ignore[union-attr]
        self.defaults_asked.append("shipping profile")
        return SHIPPING_PROFILE

    def read_all_products(self, consume: Any, *, fields: Any, **_: Any) -> Any:
        self.listings.append(tuple(fields))
        return consume(iter(self.products))


class FakeSource:
    """The source asked whether products the fetch did not see are gone: each one is (two 404s)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str | None]] = []

    def confirm_absent(
        self, products: Iterable[StoreProduct], *, prefix: str, listed_source_id: str | None, pause: float
    ) -> Iterator[tuple[StoreProduct, Answer]]:
        for product in products:
            self.asked.append((product.external_id, prefix, listed_source_id))
            source_id = product.external_id.removeprefix(prefix)
            yield product, Answer(product.external_id, product.id, source_id, "absent", "404 twice")


class Downstream(BaseOperator):
    """A task of the DAG after compute_diff (the upserts, the stock task): what ``skip`` is handed."""


class Ti:
    """compute_diff's task instance: not mapped, and the XCom ``skip`` pushes is noted."""

    map_index = -1

    def __init__(self, try_number: int) -> None:
        self.try_number = try_number
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture
def records() -> list[dict[str, Any]]:
    """The valid records as the fetch keeps them (``SourceProduct.kept``)."""
    return [SourceProduct.parse(record).kept() for record in generate_catalog(PRODUCTS)]


def taxonomy(records: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """``taxonomy.json`` as sync_categories leaves it: every category and tag the records use, with its id."""
    tags = {tag for record in records for tag in record["tags"]}
    return {
        "categories": {record["category"]: f"pcat_{record['category']}" for record in records},
        "tags": {tag: f"ptag_{tag}" for tag in sorted(tags)},
    }


@pytest.fixture
def folder(tmp_path, records) -> RunFolder:
    """The run folder as fetch_pages and sync_categories leave it (no store snapshot: read_store did
    not run, so compute_diff lists the store itself)."""
    folder = RunFolder.for_run(f"file://{tmp_path}/runs", "medusa_product_sync", RUN_ID)
    pages = chunks(records, PAGE_SIZE)
    for number, page in enumerate(pages, start=1):
        write_json(folder.page(number), page)
    write_json(folder.taxonomy, taxonomy(records))
    fetch = {"started_at": STARTED_AT, "pages": len(pages), "fetched": PRODUCTS, "valid": PRODUCTS}
    write_json(folder.fetch, fetch | {"quarantined": 0, "partial": False, "external_id_prefix": PREFIX})
    return folder


def mapping(records: list[dict[str, Any]], *, sync_inventory: bool) -> MappingContext:
    """The mapping context the run's defaults and the store's default ids make."""
    tax = taxonomy(records)
    return MappingContext(
        currency_code=DEFAULTS["currency_code"],
        status=DEFAULTS["product_status"],
        sales_channel_id=SALES_CHANNEL,
        category_ids=tax["categories"],
        tag_ids=tax["tags"],
        external_id_prefix=PREFIX,
        manage_inventory=sync_inventory,
        shipping_profile_id=SHIPPING_PROFILE,
    )


def in_step(records: list[dict[str, Any]], *, sync_inventory: bool = False) -> list[dict[str, Any]]:
    """The store after an earlier sync of the same records: each product with the hash the mapping gives."""
    ctx = mapping(records, sync_inventory=sync_inventory)
    listed = []
    for record in records:
        desired = desired_product(record, ctx)
        listed.append(
            {
                "id": f"prod_{record['id']}",
                "external_id": desired["external_id"],
                "handle": f"product-{record['id']}",
                "status": "published",
                "updated_at": "2026-11-30T10:00:00.000Z",
                "metadata": {HASH_KEY: desired["metadata"][HASH_KEY]},
                "variants": [{"id": f"variant_{record['id']}"}],
            }
        )
    return listed


def execute(
    monkeypatch,
    folder: RunFolder,
    store: FakeStore,
    *,
    source: FakeSource | None = None,
    try_number: int = 1,
    upsert_concurrency: int = 1,
    **params: Any,
) -> list[dict[str, Any]]:
    """compute_diff as the product DAG wires it; raises ``DownstreamTasksSkipped`` when it skips."""
    monkeypatch.setattr("medusa_sync.operators.compute_diff.MedusaHook", lambda **_: store)
    monkeypatch.setattr(
        "medusa_sync.operators.compute_diff.CatalogSourceHook", lambda **_: source or FakeSource()
    )
    op = ComputeDiffOperator(
        task_id=names.COMPUTE_DIFF,
        run_folder=folder.url,
        upsert_concurrency=upsert_concurrency,
        upsert_task_id=names.UPSERT_BATCH,
        stock_task_id=names.SYNC_STOCK,
    )
    tasks = {task_id: Downstream(task_id=task_id) for task_id in (names.UPSERT_BATCH, names.SYNC_STOCK)}
    context = {
        "dag": SimpleNamespace(dag_id="medusa_product_sync", get_task=tasks.__getitem__),
        "task": op,
        "ti": Ti(try_number),
        "run_id": RUN_ID,
        "params": DEFAULTS | params,
    }
    return op.execute(context)  # type: ignore[arg-type]


def skipped_by(monkeypatch, folder: RunFolder, store: FakeStore, **kwargs: Any) -> list[str]:
    """The task ids compute_diff skipped (it must skip some: it ends by raising then)."""
    with pytest.raises(DownstreamTasksSkipped) as skip:
        execute(monkeypatch, folder, store, **kwargs)
    return list(skip.value.tasks)


def batch_files(folder: RunFolder) -> list[dict[str, Any]]:
    return [read_json(path) for path in folder.batches()]


def test_a_first_sync_creates_each_source_product_once_in_batches_the_descriptors_cover(
    monkeypatch, folder, records
):
    store = FakeStore()
    descriptors = execute(monkeypatch, folder, store, upsert_concurrency=2, batch_size=5)

    creates = [item for batch in batch_files(folder) for item in batch["create"]]
    assert sorted(c["external_id"] for c in creates) == sorted(f"{PREFIX}{r['id']}" for r in records)
    assert len({c["handle"] for c in creates}) == PRODUCTS  # a handle each, repeated titles too
    assert all(c["shipping_profile_id"] == SHIPPING_PROFILE for c in creates)
    assert all(not batch["update"] and not batch["delete"] for batch in batch_files(folder))
    assert store.listings == [STORE_PRODUCT_FIELDS]

    # Every batch file goes to exactly one mapped instance, in order, in one round of 2.
    covered = [path for d in descriptors for path in folder.batch_group(d["batch_path"], d["batch_count"])]
    assert covered == folder.batches() and len(descriptors) == 2

    plan = read_json(folder.plan)
    assert (plan["create"], plan["update"], plan["unchanged"]) == (PRODUCTS, 0, 0)
    assert plan["missing_upstream"] == 0
    assert plan["batches"] == descriptors and plan["dry_run"] is False
    assert (plan["batches_planned"], plan["instances_planned"]) == (len(folder.batches()), 2)
    assert read_json(folder.newest_plan) == {"run_id": RUN_ID, "fetched_at": STARTED_AT}


@pytest.mark.parametrize(
    ("sync_inventory", "idle"),
    [(False, [names.UPSERT_BATCH, names.SYNC_STOCK]), (True, [names.UPSERT_BATCH])],
    ids=["without-inventory", "with-inventory"],
)
def test_an_unchanged_store_plans_nothing_and_skips_the_upserts_and_the_stock_task_unless_it_syncs_stock(
    monkeypatch, folder, records, sync_inventory, idle
):
    store = FakeStore(in_step(records, sync_inventory=sync_inventory))
    assert skipped_by(monkeypatch, folder, store, sync_inventory=sync_inventory) == idle

    assert folder.batches() == []
    plan = read_json(folder.plan)
    assert (plan["create"], plan["update"], plan["unchanged"]) == (0, 0, PRODUCTS)
    assert (plan["batches"], plan["batches_planned"]) == ([], 0)
    # Deciding to leave every product alone is a plan too: an older run's batch must not follow it.
    assert read_json(folder.newest_plan) == {"run_id": RUN_ID, "fetched_at": STARTED_AT}


def test_a_dry_run_plans_the_creates_but_hands_no_batch_on_and_leaves_the_marker_alone(
    monkeypatch, folder, records
):
    older = {"run_id": "scheduled__2026-11-30T02:00:00+00:00", "fetched_at": "2026-11-30T02:00:00+00:00"}
    write_json(folder.newest_plan, older)

    assert skipped_by(monkeypatch, folder, FakeStore(), dry_run=True) == [
        names.UPSERT_BATCH,
        names.SYNC_STOCK,
    ]

    plan = read_json(folder.plan)
    assert (plan["create"], plan["dry_run"]) == (PRODUCTS, True)
    assert plan["batches"] == [] and plan["batches_planned"] == len(folder.batches()) == 1
    assert read_json(folder.newest_plan) == older  # a real plan would have taken it (it read later)


@pytest.mark.parametrize("batch_size", [1, 5, PRODUCTS])
def test_the_batch_size_param_cuts_the_batch_files(monkeypatch, folder, batch_size):
    execute(monkeypatch, folder, FakeStore(), batch_size=batch_size)
    expected = [len(chunk) for chunk in chunks(list(range(PRODUCTS)), batch_size)]
    assert [len(batch["create"]) for batch in batch_files(folder)] == expected
    assert read_json(folder.plan)["batches_planned"] == len(expected)


@pytest.mark.parametrize(("try_number", "create"), [(1, 0), (2, PRODUCTS)], ids=["first-try", "retry"])
def test_the_first_try_plans_against_read_stores_snapshot_and_a_retry_against_the_store_now(
    monkeypatch, folder, records, try_number, create
):
    snapshot = [StoreProduct.from_api(product) for product in in_step(records)]
    StoreSnapshot(folder).write(snapshot, page_size=100, marker={"try_number": 1})
    store = FakeStore()  # emptied since the snapshot (as far as this plan can tell)
    if create:
        execute(monkeypatch, folder, store, try_number=try_number)
    else:
        skipped_by(monkeypatch, folder, store, try_number=try_number)
    assert (read_json(folder.plan)["create"], len(store.listings)) == (create, try_number - 1)


def test_the_first_try_takes_the_stores_defaults_read_store_recorded_and_a_retry_asks_the_store(
    monkeypatch, folder, records
):
    recorded = StoreDefaults("sc_recorded", "sp_recorded")
    marker = {"try_number": 1, STORE_DEFAULTS_KEY: recorded.to_json()}
    StoreSnapshot(folder).write([], page_size=100, marker=marker)
    first, retried = FakeStore(), FakeStore()
    execute(monkeypatch, folder, first)
    creates = [item for batch in batch_files(folder) for item in batch["create"]]
    assert {(c["sales_channels"][0]["id"], c["shipping_profile_id"]) for c in creates} == {
        ("sc_recorded", "sp_recorded")
    }
    assert first.defaults_asked == []
    execute(monkeypatch, folder, retried, try_number=2)
    creates = [item for batch in batch_files(folder) for item in batch["create"]]
    assert {(c["sales_channels"][0]["id"], c["shipping_profile_id"]) for c in creates} == {
        (SALES_CHANNEL, SHIPPING_PROFILE)
    }
    assert retried.defaults_asked == ["sales channel", "shipping profile"]


def test_a_snapshot_without_recorded_defaults_has_them_asked_of_the_store(monkeypatch, folder):
    """A snapshot an earlier version's read_store wrote: planned from, the defaults asked for."""
    StoreSnapshot(folder).write([], page_size=100, marker={"try_number": 1})
    store = FakeStore()
    execute(monkeypatch, folder, store)
    assert (store.defaults_asked, store.listings) == (["sales channel", "shipping profile"], [])


def test_a_product_gone_upstream_is_drafted_once_the_source_confirms_it(monkeypatch, folder, records):
    gone = {**in_step(records)[0], "id": "prod_gone", "external_id": f"{PREFIX}9999", "handle": "gone"}
    source = FakeSource()
    descriptors = execute(
        monkeypatch, folder, FakeStore([*in_step(records), gone]), source=source, on_missing="draft"
    )

    assert [batch["update"] for batch in batch_files(folder)] == [[draft_update("prod_gone")]]
    assert len(descriptors) == 1
    # Asked with the run's prefix and a product the fetch listed, which the source surely has.
    assert source.asked == [(f"{PREFIX}9999", PREFIX, str(records[0]["id"]))]
    plan = read_json(folder.plan)
    assert (plan["missing_upstream"], plan["missing_acted_on"], plan["unchanged"]) == (1, 1, PRODUCTS)
