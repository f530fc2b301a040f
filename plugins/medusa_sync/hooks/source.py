"""Product catalog (DummyJSON-style) hook: paged reads that survive flaky networks and cut-off bodies."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from airflow.providers.common.compat.sdk import AirflowNotFoundException
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import Connection
from requests import Response, Session

from medusa_sync.errors import SourceApiError
from medusa_sync.hooks.medusa import no_response_reason
from medusa_sync.retry import RETRYABLE_EXCEPTIONS, RetryPolicy, call_with_retry

_LOG = logging.getLogger(__name__)

DEFAULT_HOST = "https://dummyjson.com"


def _json_problem(response: Response) -> str | None:
    """Why a 2xx body cannot be used (a proxy or server cut it off); such a body is worth re-fetching."""
    try:
        json.loads(response.content)
    except json.JSONDecodeError as exc:
        return f"the body is not valid JSON ({len(response.content)} bytes; {exc.msg} at byte {exc.pos})"
    except ValueError:  # undecodable bytes
        return f"the body is not valid JSON ({len(response.content)} bytes)"
    return None


def _display_name(slug: str) -> str:
    return " ".join(word.capitalize() for word in slug.split("-") if word)


class CatalogSourceHook(HttpHook):
    """Reads the product catalog over plain HTTP; a connection without a host means DummyJSON itself.

    A connection's ``timeout`` extra, when set, overrides the ``timeout`` argument. Other string
    extras are HTTP headers, as with any ``http`` connection (e.g. an API token the catalog needs);
    non-string ones are dropped, since requests refuses them as header values.
    """

    conn_name_attr = "source_conn_id"
    default_conn_name = "dummyjson_default"
    conn_type = "http"
    hook_name = "Product catalog API"
    default_host = DEFAULT_HOST

    def __init__(
        self,
        source_conn_id: str = "dummyjson_default",
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(method="GET", http_conn_id=source_conn_id)
        self.source_conn_id = source_conn_id
        self.retry_policy = retry or RetryPolicy()
        self.timeout = timeout
        self._session: Session | None = None
        self._sleep: Callable[[float], Any] = time.sleep  # tests swap it for a recorder

    @property
    def log(self) -> logging.Logger:  # type: ignore[override]
        """A stdlib logger: Airflow routes it into the task log and tests can capture it."""
        return _LOG

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source_conn_id={self.source_conn_id!r})"

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        """The connection; the default id may be left undefined, meaning the public DummyJSON API."""
        try:
            return super().get_connection(conn_id)
        except AirflowNotFoundException:
            if conn_id != cls.default_conn_name:
                raise
            _LOG.info("Connection %r is not defined: using %s", conn_id, DEFAULT_HOST)
            return Connection(conn_id=conn_id, conn_type="http")

    def _ensure_session(self) -> Session:
        if self._session is None:
            session = self.get_conn({"Accept": "application/json"})
            for name, value in list(session.headers.items()):
                if not isinstance(value, str | bytes):
                    self.log.warning(
                        "Connection %r: extra %r is not a header value; ignored", self.source_conn_id, name
                    )
                    del session.headers[name]
            timeout = self.merged_extra.get("timeout")
            if timeout not in (None, ""):
                self.timeout = float(timeout)
            self._session = session
        return self._session

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a path and return its decoded JSON, retrying outages and unusable bodies."""
        session = self._ensure_session()
        path = "/" + path.lstrip("/")
        url = self.base_url.rstrip("/") + path
        started = time.monotonic()

        def send() -> Response:
            return session.get(url, params=params, timeout=self.timeout)

        try:
            response = call_with_retry(
                send,
                self.retry_policy,
                describe=f"Catalog GET {path}",
                log=self.log,
                sleep=self._sleep,
                unusable=_json_problem,
            )
        except RETRYABLE_EXCEPTIONS as exc:
            raise SourceApiError(None, no_response_reason(exc), "GET", path) from None
        self.log.debug(
            "Catalog GET %s -> %d (%.0f ms)", path, response.status_code, (time.monotonic() - started) * 1000
        )
        if not response.ok:
            text = (response.text or "").strip()[:300] or response.reason or "error"
            raise SourceApiError(response.status_code, text, "GET", path)
        try:
            return json.loads(response.content)
        except ValueError:
            problem = _json_problem(response) or "the body is not valid JSON"
            raise SourceApiError(response.status_code, problem, "GET", path, transient=True) from None

    def iter_pages(
        self, *, page_size: int = 100, max_products: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield raw ``/products`` pages until ``total``, ``max_products`` or an empty page.

        A page the source answers with 200 but that cannot be used (not JSON even after retries,
        no ``products`` list) is yielded as ``{"skip", "limit", "products": [], "error"}`` and paging
        goes on past it: one bad page must not cost the whole catalog. Outages (no answer, 5xx,
        429 after retries) still raise. ``total_changed`` on a page says the source's ``total``
        moved during the fetch.
        """
        if page_size < 1:
            raise ValueError("page_size must be positive")
        if max_products is not None and max_products <= 0:
            return
        skip, first_total = 0, None
        while True:
            limit = page_size if max_products is None else min(page_size, max_products - skip)
            try:
                page = self.get_json("/products", params={"limit": limit, "skip": skip})
                products = page.get("products") if isinstance(page, dict) else None
                if not isinstance(products, list):
                    raise SourceApiError(
                        200, f"page at skip={skip} has no 'products' list", "GET", "/products"
                    )
            except SourceApiError as error:
                if error.status != 200:
                    raise
                yield {
                    "skip": skip,
                    "limit": limit,
                    "products": [],
                    "total": first_total,
                    "error": error.message,
                }
                skip += limit
                if first_total is None and skip >= page_size * 1000:
                    return  # never learned the total: stop rather than page forever
                if first_total is not None and skip >= first_total:
                    return
                continue
            if max_products is not None and skip + len(products) > max_products:
                products = products[: max_products - skip]
                page = {**page, "products": products}
            if not products:
                return
            total = page.get("total")
            if isinstance(total, int):
                if first_total is not None and total != first_total:
                    page = {
                        **page,
                        "total_changed": f"total changed from {first_total} to {total} at skip={skip}",
                    }
                first_total = total
            yield page
            skip += len(products)
            if (isinstance(total, int) and skip >= total) or (
                max_products is not None and skip >= max_products
            ):
                return

    def categories(self) -> list[dict[str, str]]:
        """The catalog's categories as ``{"slug", "name"}``; older APIs return bare slugs."""
        body = self.get_json("/products/categories")
        if not isinstance(body, list):
            raise SourceApiError(200, "categories response is not a list", "GET", "/products/categories")
        result: list[dict[str, str]] = []
        for item in body:
            if isinstance(item, str):
                result.append({"slug": item, "name": _display_name(item)})
            elif isinstance(item, dict) and item.get("slug"):
                slug = str(item["slug"])
                result.append({"slug": slug, "name": str(item.get("name") or _display_name(slug))})
            else:
                raise SourceApiError(
                    200, f"unexpected category entry {item!r:.80}", "GET", "/products/categories"
                )
        return result
