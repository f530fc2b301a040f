"""How each item of a batch is counted and listed in its result file."""

from medusa_sync.core.batch_outcome import BatchOutcome
from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.mapping import draft_update

PLANNED = {"updated_at": "t0", "sync_hash": "h0", "external_id": "dummyjson:7"}
MOVED = StoreProduct("prod_7", "dummyjson:7", "h", "variant_7", "h9", "published", "t9")


def test_an_item_already_written_counts_as_resumed_on_a_retry_and_as_unchanged_otherwise():
    retry, first = BatchOutcome(), BatchOutcome()
    item = {"id": "prod_7", "metadata": {"sync_hash": "h9"}}
    retry.settle("update", item, "in_step", MOVED, PLANNED, retry=True)
    first.settle("update", item, "in_step", MOVED, PLANNED, retry=False)
    assert (retry.counts["updated"], retry.counts["resumed"], retry.counts["unchanged"]) == (1, 1, 0)
    assert (first.counts["updated"], first.counts["resumed"], first.counts["unchanged"]) == (0, 0, 1)


def test_a_create_found_on_a_retry_counts_as_created():
    outcome = BatchOutcome()
    outcome.settle(
        "create", {"external_id": "dummyjson:7", "metadata": {}}, "in_step", MOVED, None, retry=True
    )
    assert (outcome.to_json()["created"], outcome.to_json()["resumed"]) == (1, 1)


def test_superseded_and_not_found_items_name_the_product_from_the_plan():
    outcome = BatchOutcome()
    outcome.settle("update", draft_update("prod_7"), "superseded", MOVED, PLANNED, retry=False)
    outcome.settle(
        "delete", "prod_8", "not_found", None, {**PLANNED, "external_id": "dummyjson:8"}, retry=False
    )
    result = outcome.to_json()
    assert result["superseded"] == [
        {"action": "draft", "external_id": "dummyjson:7", "source_id": "7", "product_id": "prod_7",
         "store_updated_at": "t9", "superseded_by": None}
    ]  # fmt: skip
    assert result["not_found"] == [
        {"action": "delete", "external_id": "dummyjson:8", "source_id": "8", "product_id": "prod_8"}
    ]
    assert result["drafted"] == result["deleted"] == 0


def test_a_delete_whose_product_is_gone_on_a_retry_was_done_by_the_earlier_attempt():
    outcome = BatchOutcome()
    outcome.settle("delete", "prod_8", "not_found", None, PLANNED, retry=True)
    assert (outcome.counts["deleted"], outcome.counts["resumed"], outcome.not_found) == (1, 1, [])
