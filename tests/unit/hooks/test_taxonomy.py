"""The categories and tags the records need are looked up as they are named and the missing ones
created a few at a time; a failure stops new creations and deletes what the attempt made."""

from __future__ import annotations

import threading
import time

import pytest

from medusa_sync.hooks.taxonomy import TaxonomyMaker
from tests.unit.hooks.fake_taxonomy import FakeStore


def named(*categories: str) -> dict[str, str]:
    return {c: c.title() for c in categories}


def test_what_exists_is_found_and_only_the_missing_ones_are_created():
    store = FakeStore(categories=["beauty"], tags=["sale"])
    maker = TaxonomyMaker(store)  # type: ignore[arg-type]
    maker.need(named("beauty", "home-decor"), ["sale", "new"])
    taxonomy = maker.finish()
    assert store.made("create_category") == ["home-decor"] and store.made("create_tag") == ["new"]
    assert taxonomy["categories"] == {"beauty": "pcat_beauty", "home-decor": "new_home-decor"}
    assert taxonomy["tags"] == {"sale": "ptag_sale", "new": "new_new"}
    assert (taxonomy["categories_created"], taxonomy["categories_existing"]) == (["home-decor"], 1)
    assert (taxonomy["tags_created"], taxonomy["tags_existing"]) == (["new"], 1)


def test_each_name_is_looked_up_once_however_many_pages_name_it():
    store = FakeStore()
    maker = TaxonomyMaker(store)  # type: ignore[arg-type]
    maker.need(named("beauty", "Beauty"), ["sale"])  # two source categories, one handle
    maker.need(named("beauty", "tops"), ["sale", "new"])
    maker.need({}, [])
    taxonomy = maker.finish()
    assert [key for call, key in store.calls if call.startswith("list")] == [
        ["beauty"],
        ["sale"],
        ["tops"],
        ["new"],
    ]
    assert store.made("create_category") == ["beauty", "tops"]
    assert taxonomy["categories"] == {"beauty": "new_beauty", "Beauty": "new_beauty", "tops": "new_tops"}


def test_creations_run_a_few_at_a_time_while_the_caller_goes_on():
    gate = threading.Event()  # Medusa answers no creation until the test opens it
    store = FakeStore(gate=gate)
    maker = TaxonomyMaker(store, workers=4)  # type: ignore[arg-type]
    maker.need(named(*(f"c{n}" for n in range(12))), [])  # returns with every creation still waiting
    deadline = time.monotonic() + 5
    while store.running < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (store.running, sorted(store.made("create_category"))) == (4, ["c0", "c1", "c2", "c3"])
    gate.set()
    taxonomy = maker.finish()
    assert store.peak == 4
    assert len(taxonomy["categories_created"]) == 12


def test_a_failure_stops_new_creations_deletes_what_the_attempt_made_and_raises():
    store = FakeStore(categories=["kept"], fail_on="c3")
    maker = TaxonomyMaker(store, workers=2)  # type: ignore[arg-type]
    maker.need(named("kept", *(f"c{n}" for n in range(40))), ["t1"])
    with pytest.raises(RuntimeError, match="Medusa said no to c3"):
        maker.finish()
    tried = store.made("create_category")
    assert len(tried) < 40  # nothing new started after the failure
    made = [f"new_{c}" for c in tried if c != "c3"]
    assert sorted(store.made("delete_category")) == sorted(made)
    assert store.categories == {"kept": "pcat_kept"}  # the store as it was


def test_an_abandoned_attempt_deletes_what_it_made():
    store = FakeStore()
    maker = TaxonomyMaker(store)  # type: ignore[arg-type]
    maker.need(named("beauty"), ["sale"])
    deadline = time.monotonic() + 5
    while (
        not (store.categories and store.tags) and time.monotonic() < deadline
    ):  # made, then the caller fails
        time.sleep(0.01)
    maker.abandon()
    assert sorted(store.made("delete_category") + store.made("delete_tag")) == ["new_beauty", "new_sale"]
    assert (store.categories, store.tags) == ({}, {})


def test_a_dry_run_only_looks_up_and_lists_what_it_would_create():
    store = FakeStore(categories=["beauty"])
    maker = TaxonomyMaker(store, create=False)  # type: ignore[arg-type]
    maker.need(named("beauty", "tops"), ["sale"])
    taxonomy = maker.finish()
    assert store.made("create_category") == store.made("create_tag") == []
    assert taxonomy["categories"] == {"beauty": "pcat_beauty"}
    assert taxonomy["categories_to_create"] == ["tops"]
    assert taxonomy["tags_to_create"] == ["sale"]
