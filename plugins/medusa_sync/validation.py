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

# Medusa keeps these unique across variants.
UNIQUE_VARIANT_FIELDS = ("sku", "barcode")


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
    """Validates records page by page, remembering ids so a repeated id is caught across pages.

    ``currency``/``decimals`` say how precise a price may be (12.5 is no yen price).
    """

    currency: str = "usd"
    decimals: int = 2
    seen_ids: set[int] = field(default_factory=set)
    # Ids that came twice: the fetch cannot then prove it saw the whole catalog.
    repeated_ids: list[int] = field(default_factory=list)
    seen_values: dict[str, dict[str, int]] = field(
        default_factory=lambda: {name: {} for name in UNIQUE_VARIANT_FIELDS}
    )

    def _repeated(self, product: SourceProduct) -> str | None:
        """The first record with an id, sku or barcode wins; Medusa would refuse a second one."""
        if product.id in self.seen_ids:
            self.repeated_ids.append(product.id)
            return f"id: {product.id} appears more than once in this fetch"
        for name in UNIQUE_VARIANT_FIELDS:
            value = getattr(product, name)
            owner = self.seen_values[name].get(value) if value else None
            if owner is not None:
                return f"{name}: {value!r} is already used by source id {owner}"
        return None

    def validate(self, records: Iterable[Any]) -> tuple[list[SourceProduct], list[QuarantinedRecord]]:
        valid: list[SourceProduct] = []
        quarantined: list[QuarantinedRecord] = []
        for record in records:
            if not isinstance(record, dict):
                quarantined.append(QuarantinedRecord(source_id=None, reason="record: not a JSON object"))
                continue
            try:
                product = SourceProduct.parse(record, currency=self.currency, decimals=self.decimals)
            except ValidationError as exc:
                quarantined.append(QuarantinedRecord(source_id=_raw_id(record), reason=_describe(exc)))
                continue
            reason = self._repeated(product)
            if reason:
                quarantined.append(QuarantinedRecord(source_id=str(product.id), reason=reason))
                continue
            self.seen_ids.add(product.id)
            for name in UNIQUE_VARIANT_FIELDS:
                if value := getattr(product, name):
                    self.seen_values[name].setdefault(value, product.id)
            valid.append(product)
        return valid, quarantined
