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
from pydantic_core import PydanticCustomError

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
from medusa_sync.core.ownership import SOURCE_VARIANT_KEY as SOURCE_VARIANT_KEY
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


# Medusa allows up to this many options on a product in a sensible catalog; Shopify's limit too.
MAX_OPTIONS = 3
# The source variant id, on the Medusa variant the sync wrote for it (the variant's metadata), is
# ``SOURCE_VARIANT_KEY``: defined with the other records of what the sync owns (``ownership``).


def _money(value: Any, info: ValidationInfo) -> float:
    """A price as the source's exact decimal, checked for the run's currency (see ``_price_is_money``)."""
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


class SourceOption(BaseModel):
    """One option of a product with variants (``Size``) and the values its variants use."""

    model_config = _LENIENT

    title: str = Field(min_length=1, max_length=255)
    values: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _values_once(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))


class SourceVariant(BaseModel):
    """One variant of a product with variants, identified by its source variant id (never by its
    position): its option values, sku, barcode, price, stock, measures and own image."""

    model_config = _LENIENT

    id: SourceId
    title: str = Field(min_length=1, max_length=1000)
    options: dict[str, str]
    sku: str | None = None
    barcode: str | None = None
    price: float
    stock: int | None = None
    stock_problem: str | None = Field(default=None, exclude=True)
    weight: Measure = None
    dimensions: Dimensions | None = None
    image: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _stock_apart(cls, record: Any) -> Any:
        if not isinstance(record, dict) or record.get("stock") is None:
            return record
        quantity, problem = parse_stock(record.get("stock"))
        return {**record, "stock": quantity, "stock_problem": problem}

    @field_validator("sku", "barcode")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_money(cls, value: Any, info: ValidationInfo) -> Any:
        return _money(value, info)

    @field_validator("image")
    @classmethod
    def _image_is_a_web_url(cls, url: str | None) -> str | None:
        return None if url is None else _web_url(url, "image")


class SourceProduct(KeptRecord):
    """One product of the catalog, in the sync's own source-neutral shape (a source adapter turns
    its feed's records into it; a DummyJSON record already is one). Unknown fields are ignored.

    A product either has no ``variants`` (then it is one variant, priced by ``price``, with its
    sku, barcode, stock and measures on the product, as DummyJSON sends it) or has 1..n
    ``variants`` over 1..3 ``options``: each variant names one value of every option, no two the
    same combination, no two the same id or sku.
    """

    id: SourceId
    title: str = Field(min_length=1, max_length=1000)
    description: str = ""
    # Required; None only where the feed's adapter allows a product without one (a Shopify
    # product without ``product_type``, parsed with ``category_optional``): then it has none.
    category: str | None = Field(min_length=1)
    price: float | None = None
    options: list[SourceOption] = Field(default_factory=list, max_length=MAX_OPTIONS)
    variants: list[SourceVariant] = Field(default_factory=list)
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
        if not isinstance(record, dict) or record.get("variants"):
            return record  # a product with variants: each variant has its own stock
        quantity, problem = parse_stock(record.get("stock"))
        return {**record, "stock": quantity, "stock_problem": problem}

    @field_validator("category", mode="before")
    @classmethod
    def _category_only_if_optional(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and not (info.context or {}).get("category_optional"):
            raise PydanticCustomError("string_type", "Input should be a valid string")
        return value

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
        return None if value is None else _money(value, info)

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

    @model_validator(mode="after")
    def _variants_fit_options(self) -> SourceProduct:
        if not self.variants:
            if self.options:
                raise ValueError("options: given without variants")
            if self.price is None:
                raise ValueError("price: missing (a product without variants needs one)")
            return self
        titles = [option.title for option in self.options]
        if not titles:
            raise ValueError("options: missing (a product with variants needs 1 to 3)")
        if len(set(titles)) != len(titles):
            raise ValueError(f"options: a title is used twice in {titles}")
        allowed = {option.title: set(option.values) for option in self.options}
        ids: set[int] = set()
        skus: set[str] = set()
        combinations: set[tuple[str, ...]] = set()
        for n, variant in enumerate(self.variants):
            where = f"variants.{n}"
            if set(variant.options) != set(titles):
                raise ValueError(
                    f"{where}.options: names {sorted(variant.options)}, the product's are {titles}"
                )
            for title, value in variant.options.items():
                if value not in allowed[title]:
                    raise ValueError(f"{where}.options: {value!r} is not a value of option {title!r}")
            combination = tuple(variant.options[t] for t in titles)
            if combination in combinations:
                raise ValueError(f"{where}.options: {combination} is taken by another variant")
            if variant.id in ids:
                raise ValueError(f"{where}.id: {variant.id} appears twice in this product")
            if variant.sku and variant.sku in skus:
                raise ValueError(f"{where}.sku: {variant.sku!r} appears twice in this product")
            combinations.add(combination)
            ids.add(variant.id)
            skus.update([variant.sku] if variant.sku else [])
        return self

    def kept(self) -> dict[str, Any]:
        """As ``KeptRecord.kept``; a product without variants is kept without the (empty) lists, so
        a one-variant record reads exactly as it did before products had variants."""
        record = super().kept()
        if not self.variants:
            del record["options"], record["variants"]
        return record

    @property
    def has_variants(self) -> bool:
        return bool(self.variants)

    @classmethod
    def parse(
        cls, record: Any, *, currency: str = "usd", decimals: int = 2, category_optional: bool = False
    ) -> SourceProduct:
        """Validate a raw record for prices in ``currency``, whose amounts have ``decimals`` digits;
        ``category_optional``: a ``category`` of None is no category (the feed's adapter says so)."""
        context = {"currency": (currency.upper(), decimals), "category_optional": category_optional}
        return cls.model_validate(record, context=context)

    @property
    def barcode(self) -> str | None:
        return self.meta.barcode if self.meta else None


Stocked = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]


class StockVariant(BaseModel):
    """One variant's stock in a stock record: the level of the Medusa variant that carries this
    source variant id (``SOURCE_VARIANT_KEY``)."""

    id: SourceId
    stock: Stocked


class StockRecord(KeptRecord):
    """One product's stock as the stock sync reads it: ``{id, stock}`` for a product without
    variants (one level), ``{id, variants: [{id, stock}]}`` for a product with variants (a level
    per variant; a variant whose stock was set aside is absent, so its level is left as it is).
    ``problems`` are the reasons variants were set aside, for the quarantine (never kept)."""

    id: SourceId
    stock: Stocked | None = None
    variants: list[StockVariant] | None = None
    problems: list[str] = Field(default_factory=list, exclude=True)

    def kept(self) -> dict[str, Any]:
        """Only the shape this record has: a product without variants is kept exactly as before."""
        record = super().kept()
        del record["variants" if self.variants is None else "stock"]
        return record


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
