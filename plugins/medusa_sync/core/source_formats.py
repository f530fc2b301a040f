"""Source adapters: how a feed is paged, and how its records become the sync's canonical product.

The rest of the sync knows one product shape (``models.SourceProduct``); a feed in another shape
needs only an adapter. An adapter *declares* its paging (``Paging``) rather than looping itself, so
the paging loop, its retries and its completeness proof live once, in the source hook; here are
only what is pure: paths, parameters, how a page body gives its records, and how one raw record
becomes a canonical dict. A record an adapter cannot convert raises ``RecordError`` naming the
field: the fetch quarantines that record, never the run.

Built in: ``dummyjson`` (the default, DummyJSON's own records, as the sync always read them) and
``shopify`` (Shopify's public ``products.json``). A user's adapter is a class path
``package.module:ClassName`` (see docs/adapters.md), loaded by ``resolve_adapter``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from medusa_sync.core.models import QuarantinedRecord
from medusa_sync.core.validation import _raw_id

DEFAULT_SOURCE_FORMAT = "dummyjson"


class RecordError(ValueError):
    """A raw record the adapter cannot turn into a canonical product; ``field`` names where."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class SourceFormatError(ValueError):
    """A ``source_format`` that names no adapter; the message names the value and the choices."""


@dataclass(frozen=True)
class Paging:
    """How a feed pages, as the source hook reads it.

    ``offset``: ``limit_param``/``skip_param``, the body's ``total_field`` tells the size (DummyJSON).
    ``page``: ``limit_param``/``page_param`` from ``first_page`` on, until an empty page; with
    ``follow_link`` a ``Link: <url>; rel="next"`` header, when the server sends one, is followed
    instead (then the last page is the one without a next link).
    """

    style: Literal["offset", "page"]
    limit_param: str = "limit"
    skip_param: str = "skip"
    page_param: str = "page"
    first_page: int = 1
    total_field: str | None = "total"
    follow_link: bool = False


class SourceAdapter:
    """One feed format. Subclass it, set the class attributes, override ``to_canonical`` (and,
    when the body is not ``{records_field: [...]}``, ``page_records``)."""

    # The name ``source_format`` gives for a built-in adapter (a class path names the others).
    name: ClassVar[str] = ""
    # Prefixed to the source id in Medusa's ``external_id`` unless the deployment sets its own.
    external_id_prefix: ClassVar[str] = ""
    paging: ClassVar[Paging] = Paging(style="page")
    # The path of the product list, and of one product by id (``{id}`` is replaced, quoted).
    list_path: ClassVar[str] = "/products"
    product_path_template: ClassVar[str] = "/products/{id}"
    # The body key holding a page's records.
    records_field: ClassVar[str] = "products"
    # The query parameter asking for some fields only (DummyJSON's ``select``); None: whole records.
    select_param: ClassVar[str | None] = None
    # Where category names come from: a path answering ``[{slug, name}]`` or bare slugs, or None
    # for the records' own ``category`` values, each its own name.
    categories_path: ClassVar[str | None] = None
    # Whether a product of this feed may have no category (``category`` None): it then syncs
    # without one; otherwise such a record is quarantined.
    category_optional: ClassVar[bool] = False

    def product_path(self, source_id: str) -> str:
        """The path that answers 404 once the product is gone (``core.missing``'s proof)."""
        from urllib.parse import quote

        return self.product_path_template.replace("{id}", quote(source_id, safe=""))

    def lookup_params(self) -> dict[str, Any]:
        """Query parameters of a lookup by id: as little of the record as the feed allows."""
        return {}

    def page_records(self, body: Any) -> list[Any] | None:
        """The page's raw records, or None when the body has no list of them (a bad page)."""
        records = body.get(self.records_field) if isinstance(body, dict) else None
        return records if isinstance(records, list) else None

    def page_total(self, body: Any) -> int | None:
        """How many records the whole catalog has, when the body says (offset paging)."""
        field = self.paging.total_field
        total = body.get(field) if field and isinstance(body, dict) else None
        return total if isinstance(total, int) and not isinstance(total, bool) else None

    def to_canonical(self, raw: Any) -> Any:
        """The raw record as a ``SourceProduct``-shaped dict; ``RecordError`` when it cannot be."""
        raise NotImplementedError

    def category_names(self, categories: Sequence[str]) -> list[dict[str, str]]:
        """``[{slug, name}]`` of the categories the records use, when ``categories_path`` is None:
        the record's value is the key, and its name as given (Medusa's handle is its slug)."""
        return [{"slug": category, "name": category} for category in categories]


class DummyJsonAdapter(SourceAdapter):
    """DummyJSON's ``/products``: a record already is a canonical product (without variants)."""

    name = "dummyjson"
    external_id_prefix = "dummyjson:"
    paging = Paging(style="offset")
    select_param = "select"
    categories_path = "/products/categories"

    def lookup_params(self) -> dict[str, Any]:
        return {"select": "id"}

    def to_canonical(self, raw: Any) -> Any:
        # As is: the model's own reasons (a missing category, a bad price, not an object) are the
        # quarantine's, word for word as before there were adapters.
        return raw


# Shopify names a product without options this way: one option "Title", one value "Default Title".
SHOPIFY_DEFAULT_OPTION = "Title"
SHOPIFY_DEFAULT_VALUE = "Default Title"


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _tags(raw: Any) -> list[str]:
    """A list of tags, or the comma-separated string the Admin API sends."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [tag for part in raw.split(",") if (tag := part.strip())]
    if isinstance(raw, list) and all(isinstance(tag, str) for tag in raw):
        return [tag for part in raw if (tag := part.strip())]
    raise RecordError("tags", "neither a list of strings nor a comma-separated string")


class ShopifyAdapter(SourceAdapter):
    """Shopify's ``products.json`` (the storefront's public one, or the Admin API's): paged by
    ``page``/``limit`` until an empty page, or along ``Link: rel="next"`` when the server sends it.

    ``vendor`` is the brand, ``product_type`` the category (none when empty), ``body_html`` the
    description, ``grams`` a variant's weight, ``inventory_quantity`` its stock (absent on the
    public feed: no stock then). A product whose only option is Shopify's ``Title``/``Default
    Title`` is a product without variants, priced by its one variant. ``available`` is not synced:
    Medusa tells availability from the stock levels.
    """

    name = "shopify"
    external_id_prefix = "shopify:"
    paging = Paging(style="page", total_field=None, follow_link=True)
    list_path = "/products.json"
    category_optional = True
    product_path_template = "/products/{id}.json"
    records_field = "products"

    def to_canonical(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise RecordError("record", "not a JSON object")
        variants = raw.get("variants")
        if not isinstance(variants, list) or not variants:
            raise RecordError("variants", "missing (a Shopify product has at least one variant)")
        if not all(isinstance(v, dict) for v in variants):
            raise RecordError("variants", "a variant is not a JSON object")
        images = raw.get("images") or []
        if not isinstance(images, list) or not all(isinstance(i, dict) for i in images):
            raise RecordError("images", "not a list of image objects")
        urls = [image.get("src") for image in images]
        if any(not isinstance(url, str) for url in urls):
            raise RecordError("images", "an image has no 'src'")
        product: dict[str, Any] = {
            "id": raw.get("id"),
            "title": raw.get("title"),
            "description": raw.get("body_html") or "",
            "category": _text(raw.get("product_type")),
            "tags": _tags(raw.get("tags")),
            "brand": _text(raw.get("vendor")),
            "images": urls,
            "thumbnail": urls[0] if urls else None,
            # Not a SourceProduct field (Medusa's handle is allocated from the title): kept for
            # an adapter-aware mapping to use.
            "handle": raw.get("handle"),
        }
        options = self._options(raw.get("options"))
        if self._without_variants(options, variants):
            only = variants[0]
            return {
                **product,
                "price": only.get("price"),
                "sku": _text(only.get("sku")),
                "meta": {"barcode": _text(only.get("barcode"))},
                "stock": only.get("inventory_quantity"),
                "weight": only.get("grams"),
            }
        image_of = self._variant_images(images)
        return {
            **product,
            "options": [{"title": title, "values": values} for title, values in options],
            "variants": [self._variant(n, variant, options, image_of) for n, variant in enumerate(variants)],
        }

    @staticmethod
    def _options(raw: Any) -> list[tuple[str, list[Any]]]:
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(o, dict) for o in raw):
            raise RecordError("options", "not a list of option objects")
        ordered = sorted(enumerate(raw), key=lambda pair: (pair[1].get("position") or pair[0] + 1, pair[0]))
        options = []
        for n, option in ordered:
            title = _text(option.get("name"))
            if title is None:
                raise RecordError(f"options.{n}.name", "missing")
            values = option.get("values")
            if not isinstance(values, list):
                raise RecordError(f"options.{n}.values", "not a list")
            options.append((title, values))
        return options

    @staticmethod
    def _without_variants(options: list[tuple[str, list[Any]]], variants: list[dict[str, Any]]) -> bool:
        if len(variants) != 1:
            return False
        return not options or (
            len(options) == 1
            and options[0][0] == SHOPIFY_DEFAULT_OPTION
            and variants[0].get("option1") in (SHOPIFY_DEFAULT_VALUE, None)
        )

    @staticmethod
    def _variant_images(images: list[dict[str, Any]]) -> dict[str, Any]:
        """Variant id -> image URL from ``images[].variant_ids``, and image id -> URL."""
        urls: dict[str, Any] = {}
        for image in images:
            if image.get("id") is not None:
                urls[f"image:{image['id']}"] = image["src"]
            for variant_id in image.get("variant_ids") or ():
                urls.setdefault(f"variant:{variant_id}", image["src"])
        return urls

    @staticmethod
    def _variant(
        n: int, raw: dict[str, Any], options: list[tuple[str, list[Any]]], image_of: dict[str, Any]
    ) -> dict[str, Any]:
        values = {}
        for k, (title, _) in enumerate(options, start=1):
            value = raw.get(f"option{k}")
            if value is None or (isinstance(value, str) and not value.strip()):
                raise RecordError(f"variants.{n}.option{k}", f"missing (the product has option {title!r})")
            values[title] = str(value)
        featured = raw.get("featured_image")
        image = (
            (featured.get("src") if isinstance(featured, dict) else None)
            or image_of.get(f"image:{raw.get('image_id')}")
            or image_of.get(f"variant:{raw.get('id')}")
        )
        return {
            "id": raw.get("id"),
            "title": raw.get("title") or " / ".join(values.values()),
            "options": values,
            "sku": _text(raw.get("sku")),
            "barcode": _text(raw.get("barcode")),
            "price": raw.get("price"),
            "stock": raw.get("inventory_quantity"),
            "weight": raw.get("grams"),
            "image": image,
        }


BUILT_IN: dict[str, type[SourceAdapter]] = {
    DummyJsonAdapter.name: DummyJsonAdapter,
    ShopifyAdapter.name: ShopifyAdapter,
}


def resolve_adapter(value: str | None) -> SourceAdapter:
    """The adapter ``value`` names: a built-in name, or a class path ``package.module:ClassName``
    (a dotted ``package.module.ClassName`` too); empty means ``dummyjson``. ``SourceFormatError``
    names the value and the choices when it names none."""
    chosen = (value or "").strip() or DEFAULT_SOURCE_FORMAT
    choices = f"one of {', '.join(sorted(BUILT_IN))}, or a class path package.module:ClassName"
    if chosen.lower() in BUILT_IN:
        return BUILT_IN[chosen.lower()]()
    if ":" not in chosen and "." not in chosen:
        raise SourceFormatError(f"source_format {chosen!r} is not a known source format: use {choices}")
    module_name, _, class_name = chosen.partition(":") if ":" in chosen else chosen.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except Exception as error:  # ImportError, AttributeError, or the module failing as it loads
        raise SourceFormatError(
            f"source_format {chosen!r} cannot be loaded ({type(error).__name__}: {error}): use {choices}"
        ) from None
    if not (isinstance(found, type) and issubclass(found, SourceAdapter)):
        raise SourceFormatError(
            f"source_format {chosen!r} is not a SourceAdapter subclass "
            "(medusa_sync.core.source_formats.SourceAdapter)"
        )
    return found()


def convert_records(
    adapter: SourceAdapter, records: Iterable[Any]
) -> tuple[list[Any], list[QuarantinedRecord]]:
    """Each raw record as the adapter's canonical dict, in order; the ones it cannot convert as
    quarantine entries naming the field (the rest of the page syncs)."""
    converted: list[Any] = []
    rejected: list[QuarantinedRecord] = []
    for raw in records:
        try:
            converted.append(adapter.to_canonical(raw))
        except RecordError as error:
            rejected.append(QuarantinedRecord(source_id=_raw_id(raw), reason=str(error)))
    return converted, rejected
