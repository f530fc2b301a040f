"""The newest decision wins: which run of a DAG planned against the store last, and whether a batch
of another run may still be sent. Pure: data in, verdict out (the marker file is the run folder's).

Each real plan (not a dry run, and also one with nothing to send: a newer run that left a product
alone has decided about it too) claims the DAG's marker with its run id and the time its fetch
read the source. A batch of any other run is then never sent: all its items, creates included, are
reported superseded by the marker's run, even when the store is still exactly as that older run
planned against (a failed batch cleared days later would otherwise delete a product that came back
upstream, or write a price that was since restored). Order is by the source read, not by planning
time: a cleared ``compute_diff`` of an old run replans its old data and must not take the marker
from a run that read the source later; a run cleared from ``fetch_pages`` reads anew and does.

The per-item store-state check (``store_state``) still runs for the batches that pass this one: it
catches writes by people and other tools, which hold no marker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PlanClaim:
    """A run that planned for real, and when its fetch read the source (ISO 8601)."""

    run_id: str
    fetched_at: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PlanClaim | None:
        if not data or not data.get("run_id") or not data.get("fetched_at"):
            return None
        return cls(run_id=str(data["run_id"]), fetched_at=str(data["fetched_at"]))

    def to_json(self) -> dict[str, str]:
        return {"run_id": self.run_id, "fetched_at": self.fetched_at}


def _read_before(earlier: str, later: str) -> bool:
    return datetime.fromisoformat(earlier) < datetime.fromisoformat(later)


def may_claim(held: PlanClaim | None, claim: PlanClaim) -> bool:
    """Whether ``claim`` takes the marker: unless a run that read the source later holds it.

    The same run (a retried or cleared ``compute_diff``) always may; on an equal read time the
    later planner wins, as it also saw the store later.
    """
    return held is None or held.run_id == claim.run_id or not _read_before(claim.fetched_at, held.fetched_at)


def superseded_by(held: PlanClaim | None, run_id: str, fetched_at: str | None) -> str | None:
    """The run whose newer plan supersedes every batch of ``run_id``, or None to send as planned.

    None with no marker (a fresh storage, or runs planned before markers existed) and when this
    run holds it. A marker of another run whose read is older than this run's cannot come from a
    claim (``may_claim`` refuses it), only from plans made before this run's existed: not newer.
    """
    if held is None or held.run_id == run_id:
        return None
    if fetched_at is not None and _read_before(held.fetched_at, fetched_at):
        return None
    return held.run_id
