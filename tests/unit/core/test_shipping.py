"""The shipping profile new products get when the run names none: the store's default one."""

from __future__ import annotations

import itertools

from medusa_sync.core.shipping import pick_default


def test_one_default_profile_is_used_without_a_warning():
    assert pick_default([{"id": "sp_1", "created_at": "2026-01-01T00:00:00.000Z"}]) == ("sp_1", None)


def test_no_default_profile_is_none_not_an_error():
    assert pick_default([]) == (None, None)


def test_of_several_the_oldest_then_the_lowest_id_whatever_the_order_listed():
    profiles = [
        {"id": "sp_new", "created_at": "2026-05-01T00:00:00.000Z"},
        {"id": "sp_b", "created_at": "2026-02-01T00:00:00.000Z"},
        {"id": "sp_a", "created_at": "2026-02-01T00:00:00.000Z"},
        {"id": "sp_0", "created_at": None},  # no date: after every dated one
    ]
    picks = {pick_default(order) for order in itertools.permutations(profiles)}
    assert len(picks) == 1
    [(chosen, warning)] = picks
    assert chosen == "sp_a"
    assert warning == (
        "the store has 4 default shipping profiles: using the oldest, sp_a (not sp_b, sp_new, sp_0); "
        "set shipping_profile_id to choose"
    )
