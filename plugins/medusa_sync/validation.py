"""Turn raw source records into valid products and quarantine entries.

A bad record must never stop the run: it is set aside with a reason that names the field, and
the rest of the catalog syncs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from medusa_sync.models import QuarantinedRecord, SourceProduct


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "record"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def _raw_id(record: Any) -> str | None:
    if isinstance(record, dict) and record.get("id") is not None:
        return str(record["id"])
    return None


@dataclass
class Validator:
    """Validates records page by page, remembering ids so a repeated id is caught across pages."""

    seen_ids: set[int] = field(default_factory=set)

    def validate(self, records: Iterable[Any]) -> tuple[list[SourceProduct], list[QuarantinedRecord]]:
        valid: list[SourceProduct] = []
        quarantined: list[QuarantinedRecord] = []
        for record in records:
            if not isinstance(record, dict):
                quarantined.append(QuarantinedRecord(source_id=None, reason="record: not a JSON object"))
                continue
            try:
                product = SourceProduct.model_validate(record)
            except ValidationError as exc:
                quarantined.append(QuarantinedRecord(source_id=_raw_id(record), reason=_describe(exc)))
                continue
            if product.id in self.seen_ids:
                quarantined.append(
                    QuarantinedRecord(
                        source_id=str(product.id),
                        reason=f"id: {product.id} appears more than once in this fetch",
                    )
                )
                continue
            self.seen_ids.add(product.id)
            valid.append(product)
        return valid, quarantined
