"""Turn raw source records into valid products and quarantine entries.

A bad record must never stop the run: it is set aside with a reason that names the field, and
the rest of the catalog syncs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from medusa_sync.models import QuarantinedRecord, SourceProduct
from medusa_sync.scratch import FirstOwner, ScratchDb

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


class Validator:
    """Validates records page by page, remembering ids so a repeated id is caught across pages.

    ``currency``/``decimals`` say how precise a price may be (12.5 is no yen price). Ids, skus
    and barcodes seen so far are kept in ``scratch`` (on disk for a real fetch, so a million
    products cost no memory); without one, in memory.
    """

    def __init__(self, currency: str = "usd", decimals: int = 2, scratch: ScratchDb | None = None) -> None:
        self.currency = currency
        self.decimals = decimals
        scratch = scratch or ScratchDb(in_memory=True)
        self._owners = {name: FirstOwner(scratch, f"seen_{name}") for name in ("id", *UNIQUE_VARIANT_FIELDS)}
        # Ids that came twice: the fetch cannot then prove it saw the whole catalog.
        self.repeated_ids: list[int] = []

    def _repeated(self, product: SourceProduct) -> str | None:
        """The first record with an id, sku or barcode wins; Medusa would refuse a second one."""
        if self._owners["id"].owner(str(product.id)) is not None:
            self.repeated_ids.append(product.id)
            return f"id: {product.id} appears more than once in this fetch"
        for name in UNIQUE_VARIANT_FIELDS:
            value = getattr(product, name)
            owner = self._owners[name].owner(value) if value else None
            if owner is not None:
                return f"{name}: {value!r} is already used by source id {owner}"
        return None

    def _claim(self, product: SourceProduct) -> None:
        source_id = str(product.id)
        self._owners["id"].claim(source_id, source_id)
        for name in UNIQUE_VARIANT_FIELDS:
            if value := getattr(product, name):
                self._owners[name].claim(value, source_id)

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
            self._claim(product)
            valid.append(product)
        return valid, quarantined
