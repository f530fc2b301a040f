"""What became of each item of one batch: sent, settled without a write, refused. Pure bookkeeping.

The result file of a batch is ``BatchOutcome.to_json()``; the report adds them up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from medusa_sync.core.batching import Batch, Kind, item_id
from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.mapping import is_draft_update
from medusa_sync.core.ownership import VARIANT_COUNTS, is_variant_payload
from medusa_sync.core.store_state import Verdict
from medusa_sync.errors import MedusaApiError

# What became of a product: each one an item of a batch file ends as, counted.
ACTIONS = ("created", "updated", "unchanged", "drafted", "deleted", "resumed")
COUNTED = (
    *ACTIONS,
    "requests",
    # The variants of products with variants (``ownership.VARIANT_COUNTS``); ``kept``: the sync's
    # variants the source no longer has, left in the store (``kept_variants`` lists them, and why).
    *(f"variants_{key}" for key in VARIANT_COUNTS),
)
LISTED = ("rejected", "superseded", "not_found", "kept_variants")


def _action(kind: Kind, item: Any) -> str:
    if kind == "create":
        return "created"
    if kind == "delete":
        return "deleted"
    return "drafted" if is_draft_update(item) else "updated"


_VERB = {"created": "create", "updated": "update", "drafted": "draft", "deleted": "delete"}


def describe(kind: Kind, item: Any, planned: dict[str, Any] | None = None) -> dict[str, Any]:
    """Which product an item is about, for the report: its action, external id and product id."""
    external_id = item.get("external_id") if isinstance(item, dict) else None
    external_id = external_id or (planned or {}).get("external_id")
    return {
        "action": _VERB[_action(kind, item)],
        "external_id": external_id,
        "source_id": external_id.split(":", 1)[-1] if external_id else None,
        "product_id": item_id(kind, item),
    }


@dataclass
class BatchOutcome:
    """What became of every item of the batch; the result file is this, as JSON."""

    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[dict[str, Any]] = field(default_factory=list)
    not_found: list[dict[str, Any]] = field(default_factory=list)
    kept_variants: list[dict[str, Any]] = field(default_factory=list)

    def settle(
        self,
        kind: Kind,
        item: Any,
        why: Verdict,
        current: StoreProduct | None,
        planned: dict[str, Any] | None,
        *,
        retry: bool,
    ) -> None:
        """Record an item that will not be sent, and why."""
        if why == "in_step":
            # On a retry the store holds it because an earlier attempt of this batch wrote it.
            if retry:
                self.counts[_action(kind, item)] += 1
                self.counts["resumed"] += 1
            else:
                self.counts["unchanged"] += 1
        elif why == "not_found" and kind == "delete" and retry:
            self.counts["deleted"] += 1
            self.counts["resumed"] += 1
        elif why == "not_found":
            self.not_found.append(describe(kind, item, planned))
        elif why == "superseded":
            self.superseded.append(
                {**describe(kind, item, planned),
                 "store_updated_at": current.updated_at if current else None,
                 "superseded_by": None}  # the store moved: a person, another tool
            )  # fmt: skip

    def supersede_unproven(self, kind: Kind, item: Any, planned: dict[str, Any] | None, reason: str) -> None:
        """A draft or delete the source no longer proves gone when it is sent: not sent."""
        self.superseded.append(
            {**describe(kind, item, planned),
             "store_updated_at": None,
             "superseded_by": None,  # no newer run: the source has it, or did not answer 404 again
             "reason": reason}
        )  # fmt: skip

    def supersede_all(self, batch: Batch, run_id: str) -> None:
        """Every item of a batch a newer run's plan supersedes (``newest_plan``): none is sent."""
        for kind, item in batch.items():
            self.superseded.append(
                {**describe(kind, item, batch.planned_for(kind, item)),
                 "store_updated_at": None,
                 "superseded_by": run_id}
            )  # fmt: skip

    def count_variants(
        self, item: Mapping[str, Any], counts: Mapping[str, int], kept: list[dict[str, str]], because: str
    ) -> None:
        """The variant writes for one product with variants (the update ``item``), and the variants
        of the sync's it keeps though the source no longer has them, with why."""
        for key in VARIANT_COUNTS:
            self.counts[f"variants_{key}"] += counts.get(key, 0)
        self.kept_variants.extend(
            {**describe("update", item), "action": "keep variant", **entry, "reason": because}
            for entry in kept
        )

    def count_sent(self, batch: Batch, response: dict[str, Any]) -> None:
        self.counts["created"] += len(response.get("created", []))
        # A create is all or nothing: every variant of a product created is created with it.
        self.counts["variants_created"] += sum(
            len(item["variants"]) for item in batch.create if is_variant_payload(item)
        )
        drafted = sum(1 for item in batch.update if is_draft_update(item))
        self.counts["drafted"] += drafted
        self.counts["updated"] += len(response.get("updated", [])) - drafted
        self.counts["deleted"] += len((response.get("deleted") or {}).get("ids", []))

    def reject(self, batch: Batch, error: MedusaApiError) -> dict[str, Any]:
        [(kind, item)] = batch.items()
        rejection = {
            **describe(kind, item, batch.planned_for(kind, item)),
            "status": error.status,
            "type": error.type,
            "message": error.message,
        }
        self.rejected.append(rejection)
        return rejection

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: self.counts[k] for k in COUNTED},
            **{k: getattr(self, k) for k in LISTED},
        }
