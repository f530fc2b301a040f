"""An item planned against one store state is written only if the store is still in it."""

from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.mapping import HASH_KEY, draft_update
from medusa_sync.core.store_state import create_verdict, planned_state, verdict

PLAN_TIME = "2026-11-28T10:00:00.000Z"
LATER = "2026-11-28T11:00:00.000Z"


def product(updated_at=PLAN_TIME, sync_hash="old", status="published"):
    return StoreProduct("prod_1", "dummyjson:1", "h", "variant_1", sync_hash, status, updated_at)


def update(new_hash="new"):
    return {"id": "prod_1", "title": "t", "metadata": {HASH_KEY: new_hash}}


def test_a_store_still_as_planned_is_written():
    assert verdict("update", update(), planned_state(product()), product()) == "send"


def test_a_product_a_newer_run_rewrote_is_superseded():
    newer = product(updated_at=LATER, sync_hash="newer")
    assert verdict("update", update(), planned_state(product()), newer) == "superseded"


def test_a_product_edited_in_the_admin_since_the_plan_is_superseded():
    edited = product(updated_at=LATER)
    assert verdict("update", update(), planned_state(product()), edited) == "superseded"


def test_a_product_an_earlier_attempt_already_wrote_is_in_step():
    written = product(updated_at=LATER, sync_hash="new")
    assert verdict("update", update("new"), planned_state(product()), written) == "in_step"


def test_full_refresh_of_an_unmoved_product_is_still_written():
    same = product(sync_hash="same")
    assert verdict("update", update("same"), planned_state(same), same) == "send"


def test_a_deleted_product_is_not_found():
    assert verdict("update", update(), planned_state(product()), None) == "not_found"
    assert verdict("delete", "prod_1", planned_state(product()), None) == "not_found"


def test_a_draft_is_in_step_once_the_product_is_a_draft_without_hash():
    drafted = product(updated_at=LATER, sync_hash=None, status="draft")
    assert verdict("update", draft_update("prod_1"), planned_state(product()), drafted) == "in_step"


def test_a_delete_of_a_product_that_came_back_is_superseded():
    back = product(updated_at=LATER, sync_hash="back")
    assert verdict("delete", "prod_1", planned_state(product()), back) == "superseded"


def test_creates_found_on_a_retry():
    item = {"external_id": "dummyjson:1", "metadata": {HASH_KEY: "mine"}}
    assert create_verdict(item, None) == "send"
    assert create_verdict(item, product(sync_hash="mine")) == "in_step"
    assert create_verdict(item, product(sync_hash="someone-elses")) == "superseded"
