"""Turn raw source records into valid products and quarantine entries.

A bad record must never stop the run: it is set aside with a reason that names the field, and
the rest of the catalog syncs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from medusa_sync.core.models import QuarantinedRecord, SourceProduct, StockRecord
from medusa_sync.core.scratch import FirstOwner, ScratchDb
from medusa_sync.core.stock import parse_stock

# Medusa keeps these unique across variants.
UNIQUE_VARIANT_FIELDS = ("sku", "barcode")


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "record"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def _raw_id(record: Any) -> str | None:
    """The id of a record being quarantined, as the source sent it; None when there is none, or
    when it is no id at all (a number of thousands of digits is not worth a line of the report)."""
    if isinstance(record, dict) and record.get("id") is not None:
        raw = record["id"]
        if isinstance(raw, int) and raw.bit_length() > 128:
            return None
        text = str(raw)
        return text if len(text) <= 64 else None
    return None


class Validator:
    """Validates records page by page, remembering ids so a repeated id is caught across pages.

    ``currency``/``decimals`` say how precise a price may be (12.5 is no yen price). Ids, skus
    and barcodes seen so far are kept in ``scratch`` (on disk for a real fetch, so a million
    products cost no memory); without one, in memory.
    """

    # The keys a record must not share with an earlier one (Medusa keeps skus and barcodes unique).
    KEYS: tuple[str, ...] = ("id", *UNIQUE_VARIANT_FIELDS)

    def __init__(
        self,
        currency: str = "usd",
        decimals: int = 2,
        scratch: ScratchDb | None = None,
        check_stock: bool = False,
        category_optional: bool = False,
    ) -> None:
        self.currency = currency
        # The source adapter's say: a product of its feed may have no category (``None``).
        self.category_optional = category_optional
        self.decimals = decimals
        # With inventory synced, a stock Medusa cannot hold is quarantined (the product still syncs).
        self.check_stock = check_stock
        scratch = scratch or ScratchDb(in_memory=True)
        self._owners = {name: FirstOwner(scratch, f"seen_{name}") for name in self.KEYS}
        # Ids that came twice: the fetch cannot then prove it saw the whole catalog.
        self.repeated_ids: list[int] = []

    def validate(self, records: Iterable[Any]) -> tuple[list[SourceProduct], list[QuarantinedRecord]]:
        """Valid products and quarantine entries of one page, each list in the page's order."""
        parsed = [self._parse(record) for record in records]
        page = _PageClaims(self._owners, [p for p in parsed if not isinstance(p, QuarantinedRecord)])
        valid: list[SourceProduct] = []
        quarantined: list[QuarantinedRecord] = []
        for product in parsed:
            if isinstance(product, QuarantinedRecord):
                quarantined.append(product)
            elif repeat := page.repeated(product):
                field, reason = repeat
                if field == "id":
                    self.repeated_ids.append(product.id)
                quarantined.append(QuarantinedRecord(source_id=str(product.id), reason=reason))
            else:
                page.claim(product)
                valid.append(product)
                quarantined.extend(
                    QuarantinedRecord(source_id=str(product.id), reason=reason)
                    for reason in self._set_aside(product)
                )
        page.save()
        return valid, quarantined

    def _set_aside(self, product: Any) -> list[str]:
        """Why parts of a valid record are not synced (the record itself is): with inventory
        synced, a stock Medusa cannot hold, the product's or a variant's. That level is left as
        it is; everything else of the product syncs."""
        if not self.check_stock:
            return []
        reasons = [product.stock_problem] if product.stock_problem else []
        reasons += [
            f"variants.{n}.{variant.stock_problem} (source variant {variant.id})"
            for n, variant in enumerate(product.variants)
            if variant.stock_problem
        ]
        return reasons

    def _parse(self, record: Any) -> SourceProduct | QuarantinedRecord:
        if not isinstance(record, dict):
            return QuarantinedRecord(source_id=None, reason="record: not a JSON object")
        try:
            return SourceProduct.parse(
                record,
                currency=self.currency,
                decimals=self.decimals,
                category_optional=self.category_optional,
            )
        except ValidationError as exc:
            return QuarantinedRecord(source_id=_raw_id(record), reason=_describe(exc))


class StockValidator(Validator):
    """Validates stock records: ``{id, stock}``, or ``{id, variants: [{id, stock}]}`` for a product
    with variants (other fields are ignored, so whole records of either shape do too).

    A bad product stock quarantines the record with its reason; a bad variant stock quarantines
    that variant's level only (the record is kept without it, the reason names
    ``variants.N.stock``). A variant without a stock has no level to hold and is left out, as the
    catalog fetch leaves it (``SourceVariant``). A repeated id is quarantined too (the first one
    wins, as for whole records).
    """

    KEYS = ("id",)

    def __init__(self, scratch: ScratchDb | None = None) -> None:
        super().__init__(scratch=scratch)

    def _parse(self, record: Any) -> StockRecord | QuarantinedRecord:  # type: ignore[override]
        if not isinstance(record, dict):
            return QuarantinedRecord(source_id=None, reason="record: not a JSON object")
        if record.get("variants"):
            return self._parse_variants(record)
        quantity, problem = parse_stock(record.get("stock"))
        if problem:
            return QuarantinedRecord(source_id=_raw_id(record), reason=problem)
        try:
            return StockRecord.model_validate({"id": record.get("id"), "stock": quantity})
        except ValidationError as exc:
            return QuarantinedRecord(source_id=_raw_id(record), reason=_describe(exc))

    def _parse_variants(self, record: dict[str, Any]) -> StockRecord | QuarantinedRecord:
        """A product with variants: each variant's level on its own. What would quarantine the
        whole product in the catalog fetch (an id that is no id, one variant id twice) quarantines
        the record; a variant's bad stock only that variant."""
        source_id = _raw_id(record)
        variants = record["variants"]
        if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
            return QuarantinedRecord(source_id=source_id, reason="variants: not a list of JSON objects")
        try:  # the ids first: a bad one fails the record, whatever the stocks
            ids = StockRecord.model_validate(
                {"id": record.get("id"), "variants": [{"id": v.get("id"), "stock": 0} for v in variants]}
            )
        except ValidationError as exc:
            return QuarantinedRecord(source_id=source_id, reason=_describe(exc))
        stocked: list[dict[str, int]] = []
        problems: list[str] = []
        seen: set[int] = set()
        for n, (variant, raw) in enumerate(zip(ids.variants or [], variants, strict=True)):
            if variant.id in seen:
                reason = f"variants.{n}.id: {variant.id} appears twice in this product"
                return QuarantinedRecord(source_id=source_id, reason=reason)
            seen.add(variant.id)
            if raw.get("stock") is None:
                continue  # no stock given: no level to hold
            quantity, problem = parse_stock(raw["stock"])
            if problem:
                problems.append(f"variants.{n}.{problem} (source variant {variant.id})")
            else:
                stocked.append({"id": variant.id, "stock": quantity})
        return StockRecord.model_validate({"id": ids.id, "variants": stocked, "problems": problems})

    def _set_aside(self, product: Any) -> list[str]:
        return list(product.problems)


class _PageClaims:
    """The owners of one page's ids, skus and barcodes: earlier pages' read in one query per
    field, this page's added as its records are accepted, all written back in one go."""

    def __init__(self, owners: dict[str, FirstOwner], products: list[SourceProduct]) -> None:
        self._tables = owners
        self._known = {
            name: table.owners(value for p in products for _, value in _keys(p, name))
            for name, table in owners.items()
        }
        self._new: dict[str, list[tuple[str, str]]] = {name: [] for name in owners}

    def repeated(self, product: SourceProduct) -> tuple[str, str] | None:
        """``(field, reason)`` when a key of ``product`` is taken: the first record with an id,
        sku or barcode wins (Medusa would refuse a second one). A product with variants claims
        every variant's sku and barcode; the reason names the variant."""
        if str(product.id) in self._known["id"]:
            return "id", f"id: {product.id} appears more than once in this fetch"
        for name in (name for name in self._tables if name != "id"):
            for where, value in _keys(product, name):
                if value in self._known[name]:
                    return name, f"{where}: {value!r} is already used by source id {self._known[name][value]}"
        return None

    def claim(self, product: SourceProduct) -> None:
        owner = str(product.id)
        for name in self._tables:
            for _, value in _keys(product, name):
                self._known[name][value] = owner
                self._new[name].append((value, owner))

    def save(self) -> None:
        for name, table in self._tables.items():
            table.claim_all(self._new[name])


def _keys(product: SourceProduct, name: str) -> list[tuple[str, str]]:
    """``(where, value)`` of every ``name`` the product would hold in Medusa: its own for a product
    without variants, each variant's (``variants.N.sku (source variant V)``) for one with them."""
    if name == "id":
        return [("id", str(product.id))]
    if product.variants:
        return [
            (f"variants.{n}.{name} (source variant {variant.id})", value)
            for n, variant in enumerate(product.variants)
            if (value := getattr(variant, name))
        ]
    value = getattr(product, name)
    return [(name, value)] if value else []
