"""One run's Params, typed: what each operator reads from ``context["params"]``, validated once.

The Params are declared in ``dag_parts`` (with their defaults from ``[medusa_sync]``); this is how a
task reads them back, as values, never through a rendered template. A value the Trigger form's
schema let through but that cannot be used (a conf sent through the API, an unknown currency)
fails the task at once, naming the param: no retry changes a param.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from airflow.sdk.exceptions import AirflowFailException
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from medusa_sync.core.currency import UnknownCurrency, currency_decimals
from medusa_sync.core.planning import OnMissing, PlanSettings, ProductStatus


class ParamError(AirflowFailException):
    """A run's Param that cannot be used: the message names the param and what it must be. The
    task fails at once: no retry changes a param."""


def _empty_as_none(value: Any) -> Any:
    """The Trigger form sends "" (or None) for an id left empty: both mean "the store's default"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else value


OptionalId = Annotated[str | None, BeforeValidator(_empty_as_none)]


class _RunParams(BaseModel):
    """Validated once per task from ``context["params"]``: typed values, no template strings."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Self:
        """The run's params as this model types them; a bad one fails naming it (no retry fixes it)."""
        try:
            return cls.model_validate(dict(params))
        except ValidationError as error:
            problems = []
            for problem in error.errors():
                name = ".".join(str(part) for part in problem["loc"])
                if problem["type"] == "missing":
                    problems.append(f"param {name!r} is missing from the run's params")
                else:
                    problems.append(f"param {name!r} = {problem.get('input')!r}: {problem['msg']}")
            raise ParamError("; ".join(problems)) from None


class RunParams(_RunParams):
    """The Params both DAGs have (the stock DAG has no ``sync_inventory``: it always writes stock)."""

    dry_run: bool
    page_size: int = Field(ge=1, le=1000)
    stock_location_id: OptionalId
    sales_channel_id: OptionalId
    sync_inventory: bool = True


class CatalogRunParams(RunParams):
    """Every Param of ``medusa_product_sync``; their defaults are the Params' (``dag_parts``)."""

    full_refresh: bool
    batch_size: int = Field(ge=1, le=2000)
    max_products: int | None = Field(ge=1)
    on_missing: OnMissing
    max_missing_percent: float = Field(ge=0, le=100)
    product_status: ProductStatus
    currency_code: str
    sync_inventory: bool
    shipping_profile_id: OptionalId

    @field_validator("currency_code")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        code = value.strip().lower()
        try:
            currency_decimals(code)
        except UnknownCurrency:
            raise ValueError("not an ISO 4217 currency code") from None
        return code

    def plan_settings(self) -> PlanSettings:
        return PlanSettings(
            dry_run=self.dry_run,
            full_refresh=self.full_refresh,
            batch_size=self.batch_size,
            on_missing=self.on_missing,
            max_missing_percent=self.max_missing_percent,
            product_status=self.product_status,
            currency_code=self.currency_code,
            sales_channel_id=self.sales_channel_id,
            sync_inventory=self.sync_inventory,
            shipping_profile_id=self.shipping_profile_id,
        )
