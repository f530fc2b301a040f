"""A source adapter for a WooCommerce Store API-style feed: the example of docs/adapters.md.

Choose it with ``[medusa_sync] source_format = woo_store_adapter:WooStoreAdapter`` (this file on the
workers' ``PYTHONPATH``), or the same value in the source connection's "Source format" field.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from medusa_sync.core.source_formats import Paging, RecordError, SourceAdapter


class WooStoreAdapter(SourceAdapter):
    """``GET /wp-json/wc/store/v1/products?page=N&per_page=M``: a bare JSON array of products, with
    a ``Link: rel="next"`` header while more pages follow; prices in minor units, as strings."""

    external_id_prefix = "woo:"
    paging = Paging(style="page", limit_param="per_page", total_field=None, follow_link=True)
    list_path = "/wp-json/wc/store/v1/products"
    product_path_template = "/wp-json/wc/store/v1/products/{id}"
    # Categories are named in the records themselves; a product may have none.
    categories_path = None
    category_optional = True

    def page_records(self, body: Any) -> list[Any] | None:
        # The page is the array itself, not an object holding one.
        return body if isinstance(body, list) else None

    def to_canonical(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise RecordError("record", "not a JSON object")
        categories = raw.get("categories") or []
        return {
            "id": raw.get("id"),
            "title": raw.get("name"),
            "description": raw.get("description") or "",
            "category": categories[0].get("name") if categories else None,
            "tags": [tag.get("name") for tag in raw.get("tags") or []],
            "price": _price(raw.get("prices")),
            "sku": raw.get("sku") or None,
            "images": [image.get("src") for image in raw.get("images") or []],
            "thumbnail": next((image.get("thumbnail") for image in raw.get("images") or []), None),
            "stock": (raw.get("add_to_cart") or {}).get("maximum"),
        }


def _price(prices: Any) -> str:
    """``{"price": "1999", "currency_minor_unit": 2}`` -> ``"19.99"``: exact, as text, so the
    sync's own money rule (decimals of the run's currency) judges it, never a rounded float."""
    if not isinstance(prices, dict):
        raise RecordError("prices", "missing")
    try:
        minor = int(prices.get("currency_minor_unit", 2))
        return str(Decimal(str(prices["price"])).scaleb(-minor))
    except (KeyError, InvalidOperation, TypeError, ValueError):
        raise RecordError(
            "prices.price", f"{prices.get('price')!r} is not an amount in minor units"
        ) from None
