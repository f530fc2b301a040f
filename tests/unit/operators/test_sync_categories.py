"""The categories task makes the categories and tags the fetched records need, under the names the
source's category list gives, all or nothing, and writes the ids ``compute_diff`` maps with."""

from __future__ import annotations

from typing import Any

import pytest

from medusa_sync import dag_parts, settings
from medusa_sync.operators.sync_categories import SyncCategoriesOperator
from medusa_sync.rundata.run_folder import RunFolder, read_json, write_json
from tests.unit.hooks.fake_taxonomy import FakeStore

# What the fetch gathered: "beauty" and "mascara" are in the store already.
CATEGORIES = ["beauty", "smartphones", "mens-shirts"]
TAGS = ["mascara", "apple", "cotton"]
# The source's list names "smartphones" otherwise than the display-name rule would ("Smartphones"),
# and lacks "mens-shirts"; "laptops" is listed but no record uses it.
SOURCE_CATEGORIES = [
    {"slug": "beauty", "name": "Beauty"},
    {"slug": "smartphones", "name": "Phones & Tablets"},
    {"slug": "laptops", "name": "Laptops"},
]


@pytest.fixture
def folder(tmp_path) -> RunFolder:
    """A run folder as this version's fetch leaves it: the needs gathered, the source's names."""
    folder = RunFolder.for_run(f"file://{tmp_path}", "medusa_product_sync", "run")
    write_json(folder.needed_taxonomy, {"categories": CATEGORIES, "tags": TAGS})
    write_json(folder.source_categories, SOURCE_CATEGORIES)
    return folder


def run(monkeypatch, folder: RunFolder, store: FakeStore, *, dry_run: bool = False) -> dict[str, Any]:
    monkeypatch.setattr("medusa_sync.operators.sync_categories.MedusaHook", lambda **_: store)
    params = {k: p.value for k, p in dag_parts.product_params(settings.load({})).items()}
    op = SyncCategoriesOperator(task_id="sync_categories", run_folder=folder.url)
    return op.execute({"params": params | {"dry_run": dry_run}})


def test_missing_categories_and_tags_are_created_under_the_sources_names_and_taxonomy_holds_every_id(
    monkeypatch, folder
):
    store = FakeStore(categories=["beauty"], tags=["mascara"])
    result = run(monkeypatch, folder, store)

    assert sorted(store.made("create_category")) == ["mens-shirts", "smartphones"]
    assert sorted(store.made("create_tag")) == ["apple", "cotton"]
    # As the list names it; a slug the list lacks by the source's rule (each word capitalised).
    assert store.names == {"smartphones": "Phones & Tablets", "mens-shirts": "Mens Shirts"}
    taxonomy = read_json(folder.taxonomy)
    # Found ones by their store id, created ones by the id the store gave them.
    assert taxonomy["categories"] == {
        "beauty": "pcat_beauty",
        "smartphones": "new_smartphones",
        "mens-shirts": "new_mens-shirts",
    }
    assert taxonomy["tags"] == {"mascara": "ptag_mascara", "apple": "new_apple", "cotton": "new_cotton"}
    assert (taxonomy["categories_existing"], taxonomy["tags_existing"]) == (1, 1)
    assert result == {"categories_created": 2, "tags_created": 2}


def test_categories_and_tags_already_in_the_store_are_found_not_created(monkeypatch, folder):
    store = FakeStore(categories=CATEGORIES, tags=TAGS)
    result = run(monkeypatch, folder, store)

    assert store.made("create_category") == store.made("create_tag") == []
    taxonomy = read_json(folder.taxonomy)
    assert taxonomy["categories"] == {c: f"pcat_{c}" for c in CATEGORIES}
    assert taxonomy["tags"] == {t: f"ptag_{t}" for t in TAGS}
    assert (taxonomy["categories_existing"], taxonomy["tags_existing"]) == (3, 3)
    assert result == {"categories_created": 0, "tags_created": 0}


def test_a_dry_run_creates_nothing_and_lists_the_categories_and_tags_it_would_create(monkeypatch, folder):
    store = FakeStore(categories=["beauty"], tags=["mascara"])
    result = run(monkeypatch, folder, store, dry_run=True)

    assert [call for call, _ in store.calls if call.startswith("create")] == []
    taxonomy = read_json(folder.taxonomy)
    assert taxonomy["categories_to_create"] == ["smartphones", "mens-shirts"]
    assert taxonomy["categories"] == {"beauty": "pcat_beauty"}
    assert taxonomy["tags"] == {"mascara": "ptag_mascara"}
    assert taxonomy["tags_to_create"] == ["apple", "cotton"]
    assert result == {"categories_created": 0, "tags_created": 0}


def test_a_failed_creation_deletes_what_this_attempt_created_and_fails_the_task(monkeypatch, folder):
    store = FakeStore(categories=["beauty"], tags=["mascara"], fail_on="cotton")
    with pytest.raises(RuntimeError, match="Medusa said no to cotton"):
        run(monkeypatch, folder, store)

    # The categories were started before the tags were looked up: made, then deleted again.
    made = store.made("create_category")
    assert sorted(made) == ["mens-shirts", "smartphones"]
    assert sorted(store.made("delete_category")) == sorted(f"new_{h}" for h in made)
    # The store is as it was before the attempt, and no taxonomy.json passes for a finished one.
    assert store.categories == {"beauty": "pcat_beauty"}
    assert store.tags == {"mascara": "ptag_mascara"}
    assert not folder.taxonomy.exists()


def test_a_folder_an_older_fetch_wrote_has_its_needs_read_from_the_pages(monkeypatch, tmp_path):
    folder = RunFolder.for_run(f"file://{tmp_path}", "medusa_product_sync", "old-run")
    write_json(
        folder.page(1),
        [
            {"id": 1, "category": "beauty", "tags": ["mascara"]},
            {"id": 2, "category": "smartphones", "tags": ["apple", "mascara"]},
        ],
    )
    write_json(folder.page(2), [{"id": 3, "category": "smartphones", "tags": []}])
    write_json(folder.source_categories, SOURCE_CATEGORIES)
    assert not folder.needed_taxonomy.exists()
    store = FakeStore(categories=["beauty"])
    result = run(monkeypatch, folder, store)

    assert store.made("create_category") == ["smartphones"]
    assert sorted(store.made("create_tag")) == ["apple", "mascara"]
    assert store.names == {"smartphones": "Phones & Tablets"}
    taxonomy = read_json(folder.taxonomy)
    assert taxonomy["categories"] == {"beauty": "pcat_beauty", "smartphones": "new_smartphones"}
    assert taxonomy["tags"] == {"mascara": "new_mascara", "apple": "new_apple"}
    assert result == {"categories_created": 1, "tags_created": 2}
