"""Pydantic models of what crosses the edges: source records in, run descriptors out.

Source records are validated here so the core can trust them; anything that fails becomes a
quarantine entry naming the field, instead of a run that dies on one bad product.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from medusa_sync.core.currency import excess_decimals, max_amount
from medusa_sync.core.number_rules import (
    DISCOUNT_PERCENT,
    MAX_SAFE_INTEGER,
    MEASURE,
    QUANTITY,
    RATING,
    SOURCE_ID,
    NumberRule,
    shown,
)
from medusa_sync.core.stock import parse_stock

_LENIENT = ConfigDict(extra="ignore", str_strip_whitespace=True)


def _ruled(rule: NumberRule) -> BeforeValidator:
    """The field's number checked by ``rule`` (``core.number_rules``) before pydantic sees it: a bad
    one fails the record with the rule's reason, under the field's name."""
    return BeforeValidator(lambda raw: raw if raw is None else rule.value(raw))


# The numeric source fields, each declared once with its rule. A bad value quarantines the record.
Measure = Annotated[float | None, _ruled(MEASURE)]
Rating = Annotated[float | None, _ruled(RATING)]
DiscountPercent = Annotated[float | None, _ruled(DISCOUNT_PERCENT)]
Quantity = Annotated[int | None, _ruled(QUANTITY)]
SourceId = Annotated[int, _ruled(SOURCE_ID)]


class Dimensions(BaseModel):
    model_config = _LENIENT

    width: Measure = None
    height: Measure = None
    depth: Measure = None


class SourceMeta(BaseModel):
    model_config = _LENIENT

    barcode: str | None = None


def _none_to_empty_list(value: Any) -> Any:
    return [] if value is None else value


# http(s), then a non-empty host part (what urlparse calls the netloc); a regex is ~10x faster,
# which matters at a million products with several images each.
_WEB_URL = re.compile(r"(?i:https?)://[^/?#]")


def _web_url(url: str, what: str) -> str:
    # A storefront can only show images it can fetch: anything but http(s) is a bad record.
    if not _WEB_URL.match(url):
        raise ValueError(f"{what} URL {url[:80]!r} is not an http(s) URL")
    return url


class KeptRecord(BaseModel):
    """A source record a fetch keeps: validated once, then written to the run folder as ``kept``."""

    model_config = _LENIENT

    def kept(self) -> dict[str, Any]:
        """The record as the fetch keeps it in the run folder, and as later stages read it: plain
        JSON data, normalised by this model, so they need not validate it again."""
        return self.model_dump(mode="json")


class SourceProduct(KeptRecord):
    """One product as the DummyJSON-style API sends it; unknown fields are ignored."""

    id: SourceId
    title: str = Field(min_length=1, max_length=1000)
    description: str = ""
    category: str = Field(min_length=1)
    price: float
    tags: list[str] = Field(default_factory=list)
    brand: str | None = None
    sku: str | None = None
    weight: Measure = None
    dimensions: Dimensions | None = None
    images: list[str] = Field(default_factory=list)
    thumbnail: str | None = None
    meta: SourceMeta | None = None
    rating: Rating = None
    discountPercentage: DiscountPercent = None
    # A whole number of units, or None; a stock Medusa cannot hold does not fail the record: it
    # is None here and ``stock_problem`` says why (quarantined when inventory is synced).
    stock: int | None = None
    stock_problem: str | None = Field(default=None, exclude=True)
    availabilityStatus: str | None = None
    warrantyInformation: str | None = None
    shippingInformation: str | None = None
    returnPolicy: str | None = None
    minimumOrderQuantity: Quantity = None

    @model_validator(mode="before")
    @classmethod
    def _stock_apart(cls, record: Any) -> Any:
        if not isinstance(record, dict):
            return record
        quantity, problem = parse_stock(record.get("stock"))
        return {**record, "stock": quantity, "stock_problem": problem}

    @field_validator("description", mode="before")
    @classmethod
    def _description_may_be_null(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("tags", "images", mode="before")
    @classmethod
    def _lists_may_be_null(cls, value: Any) -> Any:
        return _none_to_empty_list(value)

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_money(cls, value: Any, info: ValidationInfo) -> Any:
        # Money must survive the trip exactly: 9.99 in the source is 9.99 in the store. It is
        # checked as the source's exact decimal text (see ``core.number_rules``), must fit the
        # currency's minor unit and hold at most 15 significant digits (``currency.max_amount``).
        currency, decimals = (info.context or {}).get("currency", ("USD", 2))
        limit = max_amount(decimals)
        rule = NumberRule(
            maximum=limit,
            why_max=f"the largest {currency} price Medusa holds exactly (15 significant digits)",
        )
        amount: Decimal = rule.exact(value)
        if excess_decimals(amount, decimals):
            raise ValueError(f"{shown(value)} has more decimals than {currency} allows ({decimals})")
        # At most 15 significant digits: this float is exactly the source's decimal, and its JSON
        # text (Python's shortest repr) reads back as the same number in JavaScript and here.
        return float(amount)

    @field_validator("images")
    @classmethod
    def _images_are_web_urls(cls, urls: list[str]) -> list[str]:
        for n, url in enumerate(urls):
            _web_url(url, f"image {n}")
        return urls

    @field_validator("thumbnail")
    @classmethod
    def _thumbnail_is_a_web_url(cls, url: str | None) -> str | None:
        return None if url is None else _web_url(url, "thumbnail")

    @classmethod
    def parse(cls, record: Any, *, currency: str = "usd", decimals: int = 2) -> SourceProduct:
        """Validate a raw record for prices in ``currency``, whose amounts have ``decimals`` digits."""
        return cls.model_validate(record, context={"currency": (currency.upper(), decimals)})

    @property
    def barcode(self) -> str | None:
        return self.meta.barcode if self.meta else None


class StockRecord(KeptRecord):
    """One product's stock as the stock sync reads it (``select=id,stock``): a level to hold."""

    id: SourceId
    stock: int = Field(ge=0, le=MAX_SAFE_INTEGER)


class QuarantinedRecord(BaseModel):
    """A source record that was not synced, and why."""

    source_id: str | None
    reason: str


class BatchDescriptor(BaseModel):
    """What one mapped ``upsert_batch`` instance receives through XCom: its first batch file, how
    many consecutive files it sends (the names follow from the first), and its label."""

    batch_path: str
    batch_count: int = 1
    batch_label: str
