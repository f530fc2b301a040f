"""The deletion guard: a run may draft or delete only a bounded share of the products it owns.

A complete fetch proves the source *said* those products are gone; it cannot prove the source
meant it (a half-migrated catalog, a wrong connection). Past ``max_missing_percent`` the run acts
on none of them and fails so a person looks; raising the param for one triggered run lets a real
mass removal through.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

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
