"""Sorting the by-id answers for products missing upstream: only a 404 lets one be drafted or deleted."""

from __future__ import annotations

import pytest

from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.missing import (
    LOOKUP_CHUNK,
    Answer,
    Confirmation,
    confirm_absent,
    control_problem,
    outcome_of,
    source_id_of,
)
from medusa_sync.core.report import MAX_LISTED


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, None, "absent"),
        (200, {"id": 7}, "found"),
        (200, {"id": "7"}, "found"),
        (200, {"id": 8}, "unproven"),  # a source that ignores the path proves nothing
        (200, ["not", "a", "record"], "unproven"),
        (503, None, "unproven"),
        (None, None, "unproven"),  # no answer after the retries
        (410, None, "unproven"),
    ],
)
def test_only_a_404_proves_absence_and_only_that_record_proves_presence(status, body, expected):
    assert outcome_of("7", status, body)[0] == expected


def test_an_external_id_without_a_source_id_is_never_proven_absent():
    assert source_id_of("dummyjson:12", "dummyjson:") == "12"
    assert source_id_of("other:12", "dummyjson:") is None
    assert source_id_of("dummyjson:", "dummyjson:") is None
    assert source_id_of("dummyjson:1/2", "dummyjson:") is None
    assert outcome_of(None, 404, None)[0] == "unproven"


def test_the_reasons_name_the_found_and_unproven_ids_and_what_was_still_acted_on():
    answers = [
        Answer("dummyjson:51", "prod_b", "51", "found", "200"),
        Answer("dummyjson:4", "prod_a", "4", "absent", "404"),
        Answer("dummyjson:9", "prod_c", "9", "unproven", "GET /products/9: Service Unavailable"),
    ]
    confirmation = Confirmation.sort(answers)
    assert confirmation.absent == 1
    assert [a.product_id for a in confirmation.found] == ["prod_b"]
    assert confirmation.reasons() == [
        "1 product(s) the paging missed are still upstream (source id(s) 51): not drafted or deleted",
        "1 product(s) could not be confirmed absent upstream (source id(s) 9; "
        "GET /products/9: Service Unavailable): not drafted or deleted",
        "1 product(s) answered 404 upstream were acted on",
    ]


def test_all_proven_absent_leaves_the_fetch_complete():
    confirmation = Confirmation.sort([Answer("dummyjson:4", "prod_a", "4", "absent", "404")])
    assert confirmation.reasons() == []


def test_a_long_list_of_found_ids_is_cut_in_the_reason():
    found = [Answer(f"dummyjson:{n}", f"prod_{n}", str(n), "found") for n in range(100, 113)]
    [reason] = Confirmation.sort(found).reasons()
    assert reason.startswith("13 product(s) the paging missed")
    assert "and 3 more" in reason and "112" not in reason


def test_404s_count_only_from_a_source_that_answers_for_a_product_it_listed():
    assert control_problem("7", 200, {"id": 7}) is None
    assert "its 404s prove nothing" in control_problem("7", 404, None)
    assert "its 404s prove nothing" in control_problem("7", 200, {"id": 8})
    distrusted = Confirmation.sort([Answer("dummyjson:1", "prod_1", "1", "absent", "404")], distrust="why")
    assert (distrusted.absent, [a.detail for a in distrusted.unproven]) == (0, ["why"])


def test_the_missing_are_asked_for_a_chunk_at_a_time_and_answered_as_they_come():
    calls: list[int] = []

    def lookup(ids):
        calls.append(len(ids))
        return ((i, (404, None, "") if i != "7" else (200, {"id": 7}, "")) for i in ids)

    products = (
        StoreProduct(f"prod_{n}", f"dummyjson:{n}", f"h-{n}", f"variant_{n}", "abc", "published")
        for n in range(1, 2501)
    )
    pauses: list[float] = []
    answers = confirm_absent(
        products, prefix="dummyjson:", listed_source_id="7", lookup=lookup, pause=2.0, sleep=pauses.append
    )
    first = next(answers)
    # The control, then the first chunk, then its 404s again after one pause: nothing of the next.
    assert calls == [1, LOOKUP_CHUNK, LOOKUP_CHUNK - 1] and pauses == [2.0]
    assert (first[0].id, first[1].outcome, first[1].detail) == ("prod_1", "absent", "404 twice")
    rest = list(answers)
    assert calls == [1, LOOKUP_CHUNK, LOOKUP_CHUNK - 1, LOOKUP_CHUNK, LOOKUP_CHUNK, 500, 500]
    assert pauses == [2.0] * 3
    assert [a.outcome for _, a in rest].count("found") == 1  # prod_7


def flaky(first: dict[str, tuple], second: dict[str, tuple], asked: list[list[str]]):
    """A source answering each id as ``first`` says on the first asking, as ``second`` after."""

    def lookup(ids):
        before = {i for ids_asked in asked for i in ids_asked}
        answers = second if any(i in before for i in ids if i != "1") else first
        asked.append(list(ids))
        return ((i, answers.get(i, (200, {"id": i}, ""))) for i in ids)

    return lookup


def missing(*numbers: int) -> list[StoreProduct]:
    return [StoreProduct(f"prod_{n}", f"dummyjson:{n}", f"h-{n}", None, "abc", "published") for n in numbers]


def test_one_404_is_no_proof_the_product_must_answer_404_again_after_a_pause():
    gone = (404, None, "")
    asked: list[list[str]] = []
    lookup = flaky(
        first={"4": gone, "5": gone, "6": gone},
        second={
            "4": gone,
            "5": (200, {"id": 5}, ""),
            "6": (503, None, "GET /products/6: Service Unavailable"),
        },
        asked=asked,
    )
    pauses: list[float] = []
    answers = dict(
        (p.id, a)
        for p, a in confirm_absent(
            missing(4, 5, 6), prefix="dummyjson:", listed_source_id="1", lookup=lookup, pause=0.5,
            sleep=pauses.append,
        )
    )  # fmt: skip
    assert asked == [["1"], ["4", "5", "6"], ["4", "5", "6"]] and pauses == [0.5]
    assert [(answers[p].outcome, answers[p].detail) for p in ("prod_4", "prod_5", "prod_6")] == [
        ("absent", "404 twice"),
        ("found", "404, then 200 when asked again"),
        ("unproven", "404, then GET /products/6: Service Unavailable when asked again"),
    ]


def test_nothing_is_asked_again_when_no_404_can_count():
    asked: list[list[str]] = []
    lookup = flaky(first={"1": (404, None, ""), "4": (404, None, "")}, second={}, asked=asked)
    pauses: list[float] = []
    [(_, answer)] = confirm_absent(
        missing(4), prefix="dummyjson:", listed_source_id="1", lookup=lookup, sleep=pauses.append
    )
    assert answer.outcome == "unproven" and "its 404s prove nothing" in answer.detail
    assert asked == [["1"], ["4"]] and pauses == []


def test_a_tally_keeps_every_count_and_the_first_answers_of_each_list():
    found = (Answer(f"dummyjson:{n}", f"prod_{n}", str(n), "found") for n in range(MAX_LISTED + 50))
    tally = Confirmation.sort(found)
    assert (tally.counts["found"], len(tally.found)) == (MAX_LISTED + 50, MAX_LISTED)
    assert tally.reasons()[0].startswith(f"{MAX_LISTED + 50} product(s) the paging missed")
