"""Batch files are dealt out to at most 1024 mapped instances, in order, whatever the catalog size."""

from collections import Counter

import pytest

from medusa_sync.core.batching import MAX_INSTANCES, group_label, group_sizes


@pytest.mark.parametrize(
    ("files", "instances"),
    [(0, 0), (1, 1), (3, 3), (4, 4), (5, 4), (50, 10), (5000, 1000), (10_000, 1024), (1_000_000, 1024)],
)
def test_every_file_is_in_one_group_and_never_more_than_1024_groups(files, instances):
    sizes = group_sizes(files)
    assert len(sizes) == instances <= MAX_INSTANCES
    assert sum(sizes) == files
    assert max(sizes, default=0) - min(sizes, default=0) <= 1  # evenly dealt


def test_a_million_products_in_batches_of_one_still_fit():
    assert len(group_sizes(1_000_000)) == 1024


def test_labels_name_the_files_and_what_they_hold():
    one = [Counter(create=200)]
    assert group_label(3, 1, 12, one) == "batch 3/12 · 200 create"
    five = [Counter(create=200)] * 4 + [Counter(update=10, delete=2)]
    assert group_label(1, 5, 50, five) == "batches 1-5/50 · 800 create · 10 update · 2 delete"
