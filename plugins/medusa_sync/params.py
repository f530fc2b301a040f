"""The runs' Params, each declared once: its type, bounds, description and default.

From these models come

- the Trigger form's ``Param`` of each DAG (``dag_parts.form_params``; the JSON schema is the
  model's),
- the typed values every operator reads back from ``context["params"]`` (``run_params.read``),
  validated once per task, never through a rendered template,
- the ``[medusa_sync]`` keys that set the defaults of scheduled runs: a field marked
  ``setting("key")`` becomes a field of ``settings.MedusaSyncSettings`` with the same type, bounds,
  default and description, so ``AIRFLOW__MEDUSA_SYNC__CURRENCY_CODE=eur`` prices every scheduled
  run in EUR and the Trigger form still overrides it,
- and the reference tables of ``docs/configure.md`` (``./dev docs``; a test fails when they drift).

Nothing here imports Airflow: ``settings`` builds on it, and Airflow imports ``settings`` while
it starts (the provider's configuration section).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import fields
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.fields import FieldInfo

from medusa_sync.core.currency import UnknownCurrency, currency_decimals
from medusa_sync.core.missing import DEFAULT_MAX_MISSING_PERCENT
from medusa_sync.core.planning import OnMissing, PlanSettings, ProductStatus

# The ``json_schema_extra`` key that names a Param's ``[medusa_sync]`` default.
SETTING_KEY = "medusa_sync_setting"
# The ``json_schema_extra`` of a value a DAG's form does not offer (it is fixed for that DAG).
NOT_IN_FORM = {"medusa_sync_form": False}


def setting(key: str) -> dict[str, str]:
    """A field's ``json_schema_extra``: its default is the ``[medusa_sync]`` key ``key``."""
    return {SETTING_KEY: key}


def _empty_as_none(value: Any) -> Any:
    """The Trigger form sends "" (or None) for an id left empty: both mean "the store's default"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else value


def _known_currency(value: str) -> str:
    code = value.strip().lower()
    try:
        currency_decimals(code)
    except UnknownCurrency:
        raise ValueError("not an ISO 4217 currency code") from None
    return code


OptionalId = Annotated[str | None, BeforeValidator(_empty_as_none)]
CurrencyCode = Annotated[str, AfterValidator(_known_currency)]
# Records per source API page, in either DAG.
PageSize = Annotated[int, Field(ge=1, le=1000)]


class _Declared(BaseModel):
    """A Param's description is the docstring under it, one line however the source wraps it."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for field in cls.model_fields.values():
            if field.description:
                field.description = " ".join(field.description.split())
        cls.model_rebuild(force=True)


class RunParams(_Declared):
    """The Params both DAGs have, with the same meaning in both."""

    dry_run: bool = False
    """Plan and report, write nothing to Medusa."""
    stock_location_id: OptionalId = Field(None, json_schema_extra=setting("stock_location_id"))
    """Stock location of the levels; empty = a location named 'Catalog sync', created by the first
    run that needs it, linked to the sales channel in use, and found again by name later (the same
    in both DAGs). A given id that Medusa does not know fails sync_stock, naming it."""
    sales_channel_id: OptionalId = Field(None, json_schema_extra=setting("sales_channel_id"))
    """Sales channel of synced products, and the one the stock location is linked to; empty = the
    store's default."""
    # The stock DAG always writes stock; the catalog DAG's Param decides there.
    sync_inventory: bool = Field(True, json_schema_extra=NOT_IN_FORM)


class StockRunParams(RunParams):
    """Every Param of ``medusa_stock_sync``."""

    page_size: PageSize = Field(500, json_schema_extra=setting("stock_page_size"))
    """Records per source API page (the stock sync asks only for ids and stock)."""


class CatalogRunParams(RunParams):
    """Every Param of ``medusa_product_sync``."""

    full_refresh: bool = False
    """Rewrite every product, even those whose content hash is unchanged."""
    batch_size: int = Field(200, ge=1, le=2000, json_schema_extra=setting("batch_size"))
    """Products per batch request; batches are also capped at 1.5 MB of JSON. Larger batches are much
    faster on Medusa."""
    page_size: PageSize = Field(100, json_schema_extra=setting("page_size"))
    """Products per source API page. Memory holds one page at a time."""
    max_products: int | None = Field(None, ge=1)
    """Sync only the first N source products (smoke runs); empty = all. Products beyond N are never
    treated as missing upstream."""
    on_missing: OnMissing = Field("ignore", json_schema_extra=setting("on_missing"))
    """What to do with synced products proven gone upstream: ignore, draft (status draft) or delete;
    acted on only after a complete fetch, each confirmed absent by the source, within
    max_missing_percent."""
    max_missing_percent: float = Field(
        DEFAULT_MAX_MISSING_PERCENT, ge=0, le=100, json_schema_extra=setting("max_missing_percent")
    )
    """Deletion guard: if on_missing would draft or delete more than this share (%) of the synced
    products, it acts on none and the run fails so someone looks. Raise it for one triggered run
    to let a real mass removal through."""
    product_status: ProductStatus = Field("published", json_schema_extra=setting("product_status"))
    """Status of synced products."""
    currency_code: CurrencyCode = Field(
        "usd", pattern="^[a-zA-Z]{3}$", json_schema_extra=setting("currency_code")
    )
    """ISO 4217 currency of the variant prices. Prices follow the currency's decimals (JPY 0, USD 2,
    KWD 3): a source price with more decimals than the currency has (12.5 in jpy), or with more
    than 15 significant digits, is quarantined with its reason. The sync owns only its price in
    this currency; add it to the store's currencies for it to show in regions."""
    sync_inventory: bool = Field(False, json_schema_extra=setting("sync_inventory"))
    """Manage variants by inventory and keep each one's stock level at the stock location equal to
    the source's stock. Turning it off later leaves levels as they are."""
    shipping_profile_id: OptionalId = Field(None, json_schema_extra=setting("shipping_profile_id"))
    """Shipping profile given to new products, and to synced products that have none on their next
    write (one a merchant set is kept); empty = the store's default profile. Without one, Medusa
    cannot ship a product (with sync_inventory on, it cannot even be ordered)."""

    def plan_settings(self) -> PlanSettings:
        """What these params decide about the plan (``core.planning``)."""
        return PlanSettings(**self.model_dump(include={f.name for f in fields(PlanSettings)}))


RUN_MODELS: tuple[type[RunParams], ...] = (CatalogRunParams, StockRunParams)


def setting_of(field: FieldInfo) -> str | None:
    """The ``[medusa_sync]`` key giving this field's default, if any."""
    extra = field.json_schema_extra
    return extra.get(SETTING_KEY) if isinstance(extra, dict) else None  # type: ignore[return-value]


def run_defaults() -> Iterator[tuple[str, Any, FieldInfo]]:
    """Each ``[medusa_sync]`` key that sets a Param's default: (key, type, the Param's field), once
    each, for ``settings.MedusaSyncSettings``."""
    seen: set[str] = set()
    for model in RUN_MODELS:
        for field in model.model_fields.values():
            key = setting_of(field)
            if key is not None and key not in seen:
                seen.add(key)
                yield key, field.annotation, field


def form_order(model: type[RunParams]) -> list[str]:
    """The Params as the Trigger form lists them: ``dry_run`` first, then the DAG's own in the
    order declared, then those both DAGs share."""
    offered = [name for name, field in model.model_fields.items() if field.json_schema_extra != NOT_IN_FORM]
    own = [name for name in model.__annotations__ if name in offered]
    return ["dry_run", *own, *(name for name in offered if name not in own and name != "dry_run")]


@functools.cache
def _properties(model: type[RunParams]) -> dict[str, Any]:
    """The model's JSON schema, by field: built once per model (every DAG parse asks for it)."""
    return model.model_json_schema()["properties"]


def form_schema(model: type[RunParams], name: str) -> dict[str, Any]:
    """The JSON schema of one Param for the Trigger form: the model's, with an optional value
    written as a type list (``["null", "string"]``), which the form renders as a plain field."""
    schema = dict(_properties(model)[name])
    for key in ("title", "default", SETTING_KEY):
        schema.pop(key, None)
    options = schema.pop("anyOf", None)
    if options:
        types = ["null"]
        for option in options:
            if option.get("type") != "null":
                types.append(option["type"])
                schema.update({k: v for k, v in option.items() if k != "type"})
        schema["type"] = types
    return schema
