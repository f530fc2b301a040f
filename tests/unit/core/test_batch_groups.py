"""Batch files are dealt out to mapped instances in full rounds of the run's upsert concurrency,
about 25 files each, never more than 1024 instances whatever the catalog size."""

from collections import Counter

import pytest

from medusa_sync.core.batching import MAX_INSTANCES, group_label, group_sizes


@pytest.mark.parametrize(
    ("files", "concurrency", "instances"),
    [
        (0, 2, 0),
        (1, 2, 1),  # fewer files than slots: one instance each
        (3, 2, 2),
        (50, 2, 2),  # 10,000 products in batches of 200: one instance per slot
        (51, 2, 4),  # one file more starts a second round, both slots busy in it
        (500, 2, 20),  # 100,000 products
        (9_750, 2, 390),
        (50, 1, 2),
        (60, 3, 3),
        (1_000_000, 2, 1024),  # a million products in batches of one still fit Airflow's map limit
    ],
)
def test_every_file_is_in_one_group_evenly_dealt_in_full_rounds(files, concurrency, instances):
    sizes = group_sizes(files, concurrency=concurrency)
    assert len(sizes) == instances <= MAX_INSTANCES
    assert sum(sizes) == files
    assert max(sizes, default=0) - min(sizes, default=0) <= 1  # evenly dealt
    if concurrency <= files and instances < MAX_INSTANCES:
        assert instances % concurrency == 0  # no round where a slot has nothing to send


def test_concurrency_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        group_sizes(10, concurrency=0)


def test_labels_name_the_files_and_what_they_hold():
    one = [Counter(create=200)]
    assert group_label(3, 1, 12, one) == "batch 3/12 · 200 create"
    five = [Counter(create=200)] * 4 + [Counter(update=10, delete=2)]
    assert group_label(1, 5, 50, five) == "batches 1-5/50 · 800 create · 10 update · 2 delete"
