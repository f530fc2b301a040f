import json

import pytest

from medusa_sync.core.batching import Batch, BatchBuilder


def build(items, **kwargs):
    builder = BatchBuilder(**kwargs)
    batches = [b for item in items if (b := builder.add("create", item))]
    if last := builder.flush():
        batches.append(last)
    return batches


def test_batches_are_cut_by_count():
    batches = build([{"n": i} for i in range(7)], max_items=3)
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [i["n"] for b in batches for i in b.create] == list(range(7))


def test_batches_are_cut_by_body_size():
    big = [{"text": "x" * 1000, "n": i} for i in range(10)]
    batches = build(big, max_items=100, max_bytes=3500)
    assert all(len(json.dumps(b.body()).encode()) <= 3500 for b in batches)
    assert sum(len(b) for b in batches) == 10


def test_an_item_larger_than_the_limit_travels_alone():
    batches = build([{"a": 1}, {"text": "x" * 5000}, {"b": 2}], max_items=10, max_bytes=1000)
    assert [len(b) for b in batches] == [1, 1, 1]


def test_size_accounting_matches_the_real_body():
    builder = BatchBuilder(max_items=10)
    for i in range(5):
        builder.add("create", {"title": f"é{i}", "n": i})
    builder.add("delete", "prod_1")
    size = builder.size_bytes
    batch = builder.flush()
    real = len(json.dumps(batch.body(), separators=(",", ":"), ensure_ascii=False).encode())
    assert abs(size - real) <= 6


def test_halves_keep_every_item_once_with_its_plan_state():
    batch = Batch.from_file(
        {
            "create": [{"n": 1}, {"n": 2}],
            "update": [{"id": "p"}],
            "delete": ["q"],
            "planned": {"p": {"updated_at": "t1"}, "q": {"updated_at": "t2"}},
        }
    )
    first, second = batch.halves()
    assert len(first) == 2 and len(second) == 2
    merged = {k: first.body()[k] + second.body()[k] for k in ("create", "update", "delete")}
    assert merged == batch.body()
    assert second.planned == {"p": {"updated_at": "t1"}, "q": {"updated_at": "t2"}}
    assert first.planned == {}


def test_the_plan_state_is_kept_in_the_file_but_never_sent_to_medusa():
    builder = BatchBuilder(max_items=10)
    builder.add("update", {"id": "prod_1", "title": "x"}, planned={"updated_at": "t", "sync_hash": "h"})
    builder.add("delete", "prod_2", planned={"updated_at": "u", "sync_hash": None})
    batch = builder.flush()
    assert batch.body() == {"create": [], "update": [{"id": "prod_1", "title": "x"}], "delete": ["prod_2"]}
    stored = json.loads(json.dumps(batch.to_file()))
    assert Batch.from_file(stored).planned_for("delete", "prod_2") == {"updated_at": "u", "sync_hash": None}
    assert Batch.from_file(stored).body() == batch.body()


def test_a_batch_file_holds_each_item_as_the_builder_measured_it_in_the_order_of_the_body():
    builder = BatchBuilder(max_items=10)
    builder.add("delete", "prod_3", planned={"updated_at": "v", "sync_hash": None})
    builder.add("create", {"title": "Café ☕", "price": 1.5, "tags": []})
    builder.add("update", {"id": "prod_1", "title": "x"}, planned={"updated_at": "t", "sync_hash": "h"})
    builder.add("create", {"title": "Tea"})
    batch = builder.flush()
    text = batch.file_text()
    assert text == json.dumps(batch.to_file(), ensure_ascii=False, separators=(",", ":"))
    assert Batch.from_file(json.loads(text)).body() == batch.body()
    # Bytes, not characters, count against Medusa's body limit (and a comma for each item).
    alone = BatchBuilder(max_items=10)
    alone.add("create", batch.create[0])
    body = json.dumps(alone.flush().body(), ensure_ascii=False, separators=(",", ":"))
    alone.add("create", batch.create[0])
    assert alone.size_bytes == len(body.encode()) + 1 == len(body) + 3 + 1


def test_a_batch_not_built_item_by_item_is_written_all_the_same():
    halves = BatchBuilder(max_items=10)
    for n in range(4):
        halves.add("create", {"title": f"t{n}"})
    first, _ = halves.flush().halves()
    assert first.file_text() == json.dumps(first.to_file(), ensure_ascii=False, separators=(",", ":"))


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size"):
        BatchBuilder(max_items=0)
