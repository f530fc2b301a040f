from medusa_sync.storage import RunFolder, read_json, write_json


def test_pages_and_batches_are_listed_in_number_order_past_five_digits(tmp_path):
    folder = RunFolder(f"file://{tmp_path}")
    for number in (100_000, 2, 99_999, 10_001, 1):
        write_json(folder.page(number), [number])
        write_json(folder.batch(number), {"create": [number]})
    assert [read_json(p) for p in folder.pages()] == [[1], [2], [10_001], [99_999], [100_000]]
    assert [read_json(p)["create"] for p in folder.batches()] == [[1], [2], [10_001], [99_999], [100_000]]


def test_a_group_of_batch_files_crosses_the_five_digit_boundary(tmp_path):
    folder = RunFolder(f"file://{tmp_path}")
    group = folder.batch_group(str(folder.batch(99_999)), 3)
    assert [p.name for p in group] == ["batch-99999.json", "batch-100000.json", "batch-100001.json"]
