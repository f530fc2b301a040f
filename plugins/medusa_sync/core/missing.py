"""Products that look missing upstream: how many a run may act on (the deletion guard),
and the proof, product by product, that each is really gone (a by-id lookup answering 404 twice,
a short pause apart: one 404 may be a hiccup of a gateway or a cache).

Pure: the lookups themselves are the source hook's; this module decides from their answers.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from itertools import islice
from typing import Any, Literal

from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.report import MAX_LISTED

log = logging.getLogger(__name__)

Outcome = Literal["absent", "found", "unproven"]


# Ids named in a reason; the plan lists up to MAX_LISTED.
MAX_IDS_IN_REASON = 10
# Missing products asked for by id per lookup call.
LOOKUP_CHUNK = 1000
# The pause before a product answered 404 is asked for again ([medusa_sync] missing_recheck_pause_seconds).
DEFAULT_RECHECK_PAUSE_SECONDS = 2.0


@dataclass(frozen=True)
class Answer:
    """What the source said about one product the store holds and the fetch did not see."""

    external_id: str
    product_id: str
    source_id: str | None
    outcome: Outcome
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "id": self.product_id,
            "source_id": self.source_id,
            "detail": self.detail,
        }


@dataclass
class Confirmation:
    """The answers tallied: only ``absent`` may be drafted or deleted.

    Counts are exact; of the found and unproven answers only the first ``MAX_LISTED`` are kept
    (the plan and the report list them), so a million unanswered lookups cost a count, not a list.
    """

    counts: Counter[str] = field(default_factory=Counter)
    found: list[Answer] = field(default_factory=list)
    unproven: list[Answer] = field(default_factory=list)

    @classmethod
    def sort(cls, answers: Iterable[Answer], *, distrust: str | None = None) -> Confirmation:
        """Tally the answers, by external id; with ``distrust`` (see ``control_problem``) no 404
        counts as proof."""
        result = cls()
        for answer in sorted(answers, key=lambda a: a.external_id):
            result.add(distrusted(answer, distrust))
        return result

    def add(self, answer: Answer) -> None:
        self.counts[answer.outcome] += 1
        kept = {"found": self.found, "unproven": self.unproven}.get(answer.outcome)
        if kept is not None and len(kept) < MAX_LISTED:
            kept.append(answer)

    @property
    def absent(self) -> int:
        return self.counts["absent"]

    def reasons(self) -> list[str]:
        """Why the fetch counts as partial for this run (empty when every product was proven absent)."""
        reasons = []
        if found := self.counts["found"]:
            reasons.append(
                f"{found} product(s) the paging missed are still upstream "
                f"({_ids(self.found, found)}): not drafted or deleted"
            )
        if unproven := self.counts["unproven"]:
            reasons.append(
                f"{unproven} product(s) could not be confirmed absent upstream "
                f"({_ids(self.unproven, unproven)}; {self.unproven[0].detail}): not drafted or deleted"
            )
        if reasons and self.absent:
            reasons.append(f"{self.absent} product(s) answered 404 upstream were acted on")
        return reasons


def distrusted(answer: Answer, distrust: str | None) -> Answer:
    """The answer, with a 404 turned unproven when the source's 404s prove nothing (``distrust``)."""
    if distrust and answer.outcome == "absent":
        return replace(answer, outcome="unproven", detail=distrust)
    return answer


def _ids(answers: list[Answer], total: int) -> str:
    shown = ", ".join(a.source_id or a.external_id for a in answers[:MAX_IDS_IN_REASON])
    more = total - min(len(answers), MAX_IDS_IN_REASON)
    return f"source id(s) {shown}" + (f" and {more} more" if more > 0 else "")


def source_id_of(external_id: str, prefix: str) -> str | None:
    """The source's id in an external id of this sync, or None when it is not one of ours."""
    if not external_id.startswith(prefix):
        return None
    rest = external_id[len(prefix) :]
    return rest if rest and "/" not in rest and rest.strip() == rest else None


def outcome_of(source_id: str | None, status: int | None, body: Any, error: str = "") -> tuple[Outcome, str]:
    """One lookup's outcome: ``status`` is the final HTTP status after retries (None: no answer).

    A 404 is the only proof of absence. A 200 counts as found only when it is that product (a
    source that ignores the path and serves something else proves nothing either way).
    """
    if source_id is None:
        return "unproven", "the external id does not name a source id"
    if status == 404:
        return "absent", "404"
    if status == 200 and isinstance(body, Mapping) and str(body.get("id")) == source_id:
        return "found", "200"
    if status == 200:
        return "unproven", f"GET /products/{source_id} answered 200 with another record"
    return "unproven", error or f"GET /products/{source_id} answered {status}"


def control_problem(source_id: str, status: int | None, body: Any, error: str = "") -> str | None:
    """Why the source's 404s prove nothing, or None when they do.

    Before a 404 is taken as proof, one product the fetch *did* read is asked for the same way: a
    source without a ``/products/{id}`` route, a wrong base path or a gateway answers 404 for
    everything, and would otherwise "prove" every missing product gone.
    """
    outcome, detail = outcome_of(source_id, status, body, error)
    if outcome == "found":
        return None
    return (
        f"the source did not answer GET /products/{source_id} with that product although its pages "
        f"list it ({detail}): its 404s prove nothing"
    )


# The source's answer to one by-id lookup: (status or None, body, error text).
LookupAnswer = tuple[int | None, Any, str]
Lookup = Callable[[list[str]], Iterable[tuple[str, LookupAnswer]]]


def second_look(source_id: str, first: LookupAnswer, second: LookupAnswer | None) -> tuple[Outcome, str]:
    """The outcome of a product asked for twice: absent only when both answers are 404s."""
    outcome, detail = outcome_of(source_id, *first)
    if outcome != "absent":
        return outcome, detail
    if second is None:
        return "unproven", f"GET /products/{source_id} answered 404 once and was not asked again"
    outcome, detail = outcome_of(source_id, *second)
    if outcome == "absent":
        return "absent", "404 twice"
    return outcome, f"404, then {detail} when asked again"


def confirm_absent(
    products: Iterable[StoreProduct],
    *,
    prefix: str,
    listed_source_id: str | None,
    lookup: Lookup,
    pause: float = DEFAULT_RECHECK_PAUSE_SECONDS,
    sleep: Callable[[float], Any] = time.sleep,
) -> Iterator[tuple[StoreProduct, Answer]]:
    """Ask the source for each product by id (``lookup`` is the source hook's), ``LOOKUP_CHUNK``
    at a time, yielding each product with its answer as it comes: nothing per product is held.

    Only a 404 proves a product gone, and only from a source that answers for
    ``listed_source_id``, a product its pages listed (asked first, the same way); and only when
    asked again ``pause`` seconds later (once per chunk, for its 404s) it answers 404 again.
    ``products`` need only an ``id`` and an ``external_id``.
    """
    started = time.monotonic()
    distrust = "no product of the fetch to ask for first: a 404 proves nothing"
    if listed_source_id is not None:
        control = dict(lookup([listed_source_id]))
        distrust = control_problem(listed_source_id, *control[listed_source_id])
    tally: Counter[str] = Counter()
    products = iter(products)
    while chunk := list(islice(products, LOOKUP_CHUNK)):
        wanted = [(product, source_id_of(product.external_id, prefix)) for product in chunk]
        answers = dict(lookup(list(dict.fromkeys(sid for _, sid in wanted if sid is not None))))
        again: dict[str, LookupAnswer] = {}
        if distrust is None and (absent := [sid for sid, answer in answers.items() if answer[0] == 404]):
            sleep(pause)
            again = dict(lookup(absent))
        for product, source_id in wanted:
            if source_id is None:
                outcome = outcome_of(None, None, None)
            elif distrust is not None:  # no 404 counts (``distrusted``): none was asked again
                outcome = outcome_of(source_id, *answers[source_id])
            else:
                outcome = second_look(source_id, answers[source_id], again.get(source_id))
            answer = distrusted(Answer(product.external_id, product.id, source_id, *outcome), distrust)
            tally[answer.outcome] += 1
            yield product, answer
    log.info(
        "missing upstream confirmed by id in %.1f s: %d absent (404), %d found upstream, %d unproven",
        time.monotonic() - started,
        tally["absent"],
        tally["found"],
        tally["unproven"],
    )


# --- The deletion guard: a run may draft or delete only a bounded share of the products it owns.

DEFAULT_MAX_MISSING_PERCENT = 10.0


@dataclass(frozen=True)
class GuardDecision:
    allowed: bool
    acting: int  # products the run would draft or delete
    owned: int  # products of this sync in the store
    percent: float
    max_missing_percent: float
    action: str  # "draft" or "delete"

    @property
    def reason(self) -> str:
        verdict = "within" if self.allowed else "over"
        return (
            f"{self.action} {self.acting} of {self.owned} synced products ({self.percent:.1f} %) "
            f"is {verdict} max_missing_percent={self.max_missing_percent:g}"
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "reason": self.reason}


def judge(*, acting: int, owned: int, max_missing_percent: float, action: str) -> GuardDecision:
    percent = 100.0 * acting / owned if owned else 0.0
    return GuardDecision(
        allowed=percent <= max_missing_percent,
        acting=acting,
        owned=owned,
        percent=round(percent, 2),
        max_missing_percent=max_missing_percent,
        action=action,
    )
