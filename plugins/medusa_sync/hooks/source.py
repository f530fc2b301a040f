"""Product catalog hook: paged reads that survive flaky networks and cut-off bodies, in the feed's
own format (``core.source_formats``: DummyJSON, Shopify's products.json, or a user's adapter).

The paging loops live here, once, and read the adapter's declaration (``Paging``): offset pages up
to a total, numbered pages until empty ones, or ``Link: rel="next"`` headers. Whether the pages add
up to the whole catalog is ``core.completeness.FetchAudit``'s call; the pages carry what it needs.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException
from requests import Response, Session

from medusa_sync.core import missing
from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.number_rules import load_source_json
from medusa_sync.core.read_ahead import ReadAhead
from medusa_sync.core.source_formats import SourceAdapter, SourceFormatError, convert_records, resolve_adapter
from medusa_sync.errors import SourceApiError
from medusa_sync.hooks.connection_secrets import credential_problem
from medusa_sync.hooks.http_api import HttpApiHook
from medusa_sync.hooks.http_session import open_session
from medusa_sync.hooks.retries import RetryPolicy, retry_after

_LOG = logging.getLogger(__name__)
# Lookups by id in flight at once while proving products gone upstream.
LOOKUP_CONCURRENCY = 4

DEFAULT_HOST = "https://dummyjson.com"
# Paging stops after this many empty pages in a row, and, without a total, after this many pages.
MAX_EMPTY_IN_A_ROW = 3
MAX_PAGES_WITHOUT_TOTAL = 1000
# Numbered pages end at an empty page: this many in a row (the first, and one more to confirm it).
EMPTY_PAGES_TO_END = 2
# The connection extra naming the feed's format (the form field of a ``product_catalog`` connection).
SOURCE_FORMAT_EXTRA = "source_format"
CONN_TYPE = "product_catalog"


class SourceFormatSettingError(AirflowFailException, ValueError):
    """A ``source_format`` that names no adapter: no retry can fix it, so the task fails at once."""


def source_format_of(connection: Connection) -> tuple[str, str]:
    """The configured format and where it is set: the connection's extra wins over ``[medusa_sync]``."""
    extra = connection.extra_dejson or {}
    for key in (SOURCE_FORMAT_EXTRA, f"extra__{CONN_TYPE}__{SOURCE_FORMAT_EXTRA}"):
        value = extra.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip(), f"connection {connection.conn_id!r} extra {key!r}"
    from medusa_sync import settings

    return settings.load().source_format, "[medusa_sync] source_format"


def _json_problem(response: Response) -> str | None:
    """Why a 2xx body cannot be used (a proxy or server cut it off); such a body is worth re-fetching."""
    try:
        load_source_json(response.content)
    except json.JSONDecodeError as exc:
        return f"the body is not valid JSON ({len(response.content)} bytes; {exc.msg} at byte {exc.pos})"
    except ValueError:  # undecodable bytes
        return f"the body is not valid JSON ({len(response.content)} bytes)"
    return None


class _Backoff:
    """One pause shared by the threads of a hook: a 429 to one request holds back the others too.

    The request that got the 429 waits in its own retry (``call_with_retry`` honours
    ``Retry-After``); this keeps the other pages in flight from hammering a server that just
    asked for a pause.
    """

    def __init__(self, sleep: Callable[[float], Any]) -> None:
        self._lock = threading.Lock()
        self._until = 0.0
        self._holder: int | None = None
        self.sleep = sleep

    def wait(self) -> None:
        with self._lock:
            pause = self._until - time.monotonic()
            mine = self._holder == threading.get_ident()
        if pause > 0 and not mine:
            self.sleep(pause)

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)
            self._holder = threading.get_ident()


def _upcoming(
    skip: int, stride: int, total: int | None, max_products: int | None, count: int
) -> list[tuple[int, int]]:
    """``(skip, limit)`` of the next ``count`` pages as ``_paged`` will ask for them (total known)."""
    if total is None:
        return []
    end = total if max_products is None else min(total, max_products)
    return [
        (s, stride if max_products is None else min(stride, max_products - s))
        for s in range(skip + stride, end, stride)[:count]
    ]


def _basic_auth_problems(connection: Connection) -> list[str]:
    """What in the login and password HTTP Basic auth cannot send as typed (names, not values)."""
    problems = []
    for field, value in (("login", connection.login), ("password", connection.password)):
        problem = credential_problem(value or "", latin1=True, surrounding_space=False)
        if field == "login" and not problem and ":" in (value or ""):
            problem = "has a colon, which HTTP Basic auth cannot carry in a login"
        if problem and (field == "login" or connection.login):
            problems.append(f"{field} {problem}")
    return problems


def _display_name(slug: str) -> str:
    return " ".join(word.capitalize() for word in slug.split("-") if word)


class CatalogSourceHook(HttpApiHook):
    """Reads the product catalog over plain HTTP; a connection without a host means DummyJSON itself.

    The connection (a ``product_catalog`` one, or an ``http`` one as before) means what an ``http``
    connection means: a login and password are sent as HTTP Basic auth, transport extras
    (``proxies``, ``verify``, ``cert``, ...) configure the session, and other string extras are
    HTTP headers (e.g. an API token the catalog needs); non-string ones are dropped, since requests
    refuses them as header values. A ``timeout`` extra, when set, overrides the ``timeout``
    argument. The ``source_format`` extra (else ``[medusa_sync] source_format``) picks the adapter;
    ``adapter`` given to the constructor overrides both.

    :param source_conn_id: the source's connection (type ``product_catalog``, or ``http``).
    :param retry: how a page is asked for again after an outage, a 429, a 5xx or a cut-off body.
    :param timeout: seconds a request may take; the connection's ``timeout`` extra wins.
    :param adapter: the feed's adapter; None resolves it from the connection's ``source_format``
        extra, else ``[medusa_sync] source_format``.
    """

    conn_name_attr = "source_conn_id"
    default_conn_name = "dummyjson_default"
    conn_type = CONN_TYPE
    hook_name = "Product catalog API"
    default_host = DEFAULT_HOST
    service = "Catalog"

    def __init__(
        self,
        source_conn_id: str = "dummyjson_default",
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        adapter: SourceAdapter | None = None,
    ) -> None:
        super().__init__(source_conn_id, retry=retry, timeout=timeout)
        self.source_conn_id = source_conn_id
        self._adapter = adapter
        self._backoff = _Backoff(lambda seconds: self._sleep(seconds))

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

    def get_conn(self) -> Session:
        """A session for this connection, its base URL in ``base_url``."""
        connection = self.get_connection(self.source_conn_id)
        opened = open_session(
            connection,
            default_host=self.default_host,
            extras_as_headers=True,
            credential_problems=_basic_auth_problems(connection),
            hook_extras=(SOURCE_FORMAT_EXTRA, f"extra__{CONN_TYPE}__{SOURCE_FORMAT_EXTRA}"),
        )
        if self._adapter is None:
            self._adapter = self._resolve_adapter(connection)
        self._secrets = opened.secrets
        for name in opened.ignored_extras:
            self.log.warning(
                "Connection %r: extra %r is not a header value; ignored", self.source_conn_id, name
            )
        if connection.login:
            opened.session.auth = (connection.login, connection.password or "")
            self._secrets.add_basic(connection.login, connection.password or "")
        if opened.timeout is not None:
            self.timeout = opened.timeout
        self.base_url = opened.base_url
        return opened.session

    def no_response_error(self, reason: str, method: str, path: str) -> SourceApiError:
        return SourceApiError(None, reason, method, path)

    def _resolve_adapter(self, connection: Connection) -> SourceAdapter:
        value, where = source_format_of(connection)
        try:
            adapter = resolve_adapter(value)
        except SourceFormatError as error:
            raise SourceFormatSettingError(f"{where}: {error}; a retry cannot fix this") from None
        self.log.info("source format %r (%s): %s", value, where, type(adapter).__name__)
        return adapter

    @property
    def adapter(self) -> SourceAdapter:
        """The feed's adapter (resolved from the connection and the settings on first use)."""
        if self._adapter is None:
            self.session()
        assert self._adapter is not None
        return self._adapter

    @property
    def external_id_prefix(self) -> str:
        """``[medusa_sync] external_id_prefix`` when set, else the adapter's own."""
        from medusa_sync import settings

        return settings.load().external_id_prefix or self.adapter.external_id_prefix

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a path and return its decoded JSON, retrying outages and unusable bodies."""
        return self._get(path, params)[0]

    def _get(
        self, path: str, params: dict[str, Any] | None = None, *, url: str | None = None
    ) -> tuple[Any, Response]:
        """``get_json``, with the response (its headers); ``url``: a whole URL to GET instead (a
        next link), ``path`` then only names it in logs and errors."""
        session = self.session()
        path = "/" + path.lstrip("/")
        url = url or self.base_url.rstrip("/") + path

        def send() -> Response:
            self._backoff.wait()
            response = session.get(url, params=params, timeout=self.timeout)
            if response.status_code == 429:
                hinted = retry_after(response)
                self._backoff.hold(
                    min(
                        hinted if hinted is not None else self.retry_policy.delay(1),
                        self.retry_policy.max_delay,
                    )
                )
            return response

        response = self.send_with_retries("GET", path, send, unusable=_json_problem)
        if not response.ok:
            text = (response.text or "").strip()[:300] or response.reason or "error"
            # A server may echo the credentials it refused.
            raise SourceApiError(response.status_code, self._secrets.scrub(text), "GET", path)
        try:
            return load_source_json(response.content), response
        except ValueError:
            problem = _json_problem(response) or "the body is not valid JSON"
            raise SourceApiError(response.status_code, problem, "GET", path, transient=True) from None

    def iter_pages(
        self,
        *,
        page_size: int = 100,
        max_products: int | None = None,
        concurrency: int,
        select: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield ``{"skip", "limit", "products", "total"[, "error"]}`` for each page up to ``total``.

        ``products`` are the adapter's canonical dicts; records it could not convert are in
        ``rejected`` (quarantine entries) and ``count`` is how many the page had. This docstring
        tells offset paging (DummyJSON's); a feed paged by number or by next links is read by
        ``_numbered``, whose pages also carry ``paging`` and ``page`` (see there).

        ``select`` (e.g. ``"id,stock"``) asks the source for only those fields of each record,
        when the adapter has a ``select_param``; otherwise whole records are read.

        Pages are read at a fixed stride (``skip`` = n * page size), so a page that comes back
        empty or short leaves a visible gap instead of silently shifting the rest; paging goes on
        past it (up to ``MAX_EMPTY_IN_A_ROW`` empty pages), so what can be read is read. A source
        that serves fewer records per page than asked (its own cap) is detected on the first page
        and paged at its size. Once the first page gave the total, up to ``concurrency`` pages
        are in flight at once; they are still yielded in order. A page answered with 200 but
        unusable (not JSON after retries, no ``products`` list) is yielded with ``error``. Outages
        (no answer, 5xx, 429 after retries) raise. Judging whether the pages add up to the whole
        catalog is ``FetchAudit``'s job.
        """
        if page_size < 1:
            raise ValueError("page_size must be positive")
        if max_products is not None and max_products <= 0:
            return
        if self.adapter.paging.style == "page":
            numbered: ReadAhead[tuple[int, int]] = ReadAhead(self._numbered_page, concurrency)
            try:
                yield from self._numbered(numbered, page_size, max_products)
            finally:
                numbered.close()
            return
        ahead: ReadAhead[tuple[int, int]] = ReadAhead(
            functools.partial(self._page, select=select), concurrency
        )
        try:
            yield from self._paged(ahead, page_size, max_products)
        finally:
            ahead.close()

    def _paged(
        self, ahead: ReadAhead[tuple[int, int]], page_size: int, max_products: int | None
    ) -> Iterator[dict[str, Any]]:
        skip, stride, total, empty_in_a_row = 0, page_size, None, 0
        while True:
            limit = stride if max_products is None else min(stride, max_products - skip)
            page = ahead.get((skip, limit), _upcoming(skip, stride, total, max_products, ahead.depth))
            products = page["products"]
            if page.get("error") is None:
                if (
                    skip == 0
                    and isinstance(page["total"], int)
                    and 0 < len(products) < min(limit, page["total"])
                ):
                    self.log.info(
                        "the source serves %d products per page: paging by %d", len(products), len(products)
                    )
                    stride = limit = page["limit"] = len(products)
                total = page["total"] if isinstance(page["total"], int) else total
            yield page
            empty_in_a_row = empty_in_a_row + 1 if not products else 0
            skip += limit
            if total is None:
                if page.get("error") is None and len(products) < limit:
                    return  # a source without totals: a short page is its last
                if skip >= page_size * MAX_PAGES_WITHOUT_TOTAL:
                    return  # never learned the total: stop rather than page forever
            elif skip >= total:
                return
            if max_products is not None and skip >= max_products:
                return
            if empty_in_a_row >= MAX_EMPTY_IN_A_ROW:
                self.log.warning(
                    "%d empty pages in a row before the total: stopping at skip=%d", empty_in_a_row, skip
                )
                return

    def _page(self, skip: int, limit: int, select: str | None = None) -> dict[str, Any]:
        """One page as ``iter_pages`` yields it; a 200 that cannot be used carries ``error``."""
        adapter, paging = self.adapter, self.adapter.paging
        params: dict[str, Any] = {paging.limit_param: limit, paging.skip_param: skip}
        if select and adapter.select_param:
            params[adapter.select_param] = select
        path = adapter.list_path
        try:
            body = self.get_json(path, params=params)
            products = adapter.page_records(body)
            if products is None:
                raise SourceApiError(
                    200, f"page at skip={skip} has no {adapter.records_field!r} list", "GET", path
                )
        except SourceApiError as error:
            if error.status != 200:
                raise
            return {"skip": skip, "limit": limit, "products": [], "total": None, "error": error.message}
        if len(products) > limit:
            products = products[:limit]  # a source that ignores limit must not overlap the next page
        return {"skip": skip, "limit": limit, **self._converted(products), "total": adapter.page_total(body)}

    def _converted(self, records: list[Any]) -> dict[str, Any]:
        """``products`` (canonical), ``count`` (records read) and, when any, ``rejected``."""
        products, rejected = convert_records(self.adapter, records)
        page: dict[str, Any] = {"products": products, "count": len(records)}
        if rejected:
            page["rejected"] = [entry.model_dump() for entry in rejected]
        return page

    # -- numbered pages and next links -------------------------------------------------------------

    def _numbered(
        self, ahead: ReadAhead[tuple[int, int]], page_size: int, max_products: int | None
    ) -> Iterator[dict[str, Any]]:
        """Pages by number from the adapter's first one, until ``EMPTY_PAGES_TO_END`` empty pages in
        a row; or, when the first answer has a ``Link: rel="next"`` header and the adapter follows
        links, along the next links until a page has none.

        Every page is asked for at ``page_size`` (its number means ``page_size`` records each, so
        the size never changes mid-way; ``max_products`` cuts the records instead). Each page
        carries ``paging`` (``page`` or ``link``), ``page`` (its number, 1-based by reading
        order for links) and, for links, ``has_next``. Numbered pages after the first are read
        ``concurrency`` at a time; links one after the other.
        """
        first = self.adapter.paging.first_page
        page = self._numbered_page(first, page_size)
        link_mode = bool(self.adapter.paging.follow_link and page.get("next_url"))
        read = empty_in_a_row = 0
        number = first
        while True:
            page = self._cut(page, max_products, read)
            read += page["count"]
            next_url = page.pop("next_url", None)
            if link_mode:
                page |= {"paging": "link", "has_next": bool(next_url or page.get("error"))}
            else:
                page["paging"] = "page"
            yield page
            done = max_products is not None and read >= max_products
            if link_mode:
                if done or page.get("error") or not next_url:
                    return
            else:
                empty_in_a_row = 0 if page["count"] or page.get("error") else empty_in_a_row + 1
                if done or empty_in_a_row >= EMPTY_PAGES_TO_END:
                    return
            if number - first + 1 >= MAX_PAGES_WITHOUT_TOTAL:
                self.log.warning("stopped after %d pages without reaching the end", number - first + 1)
                return
            number += 1
            if link_mode:
                page = self._link_page(str(next_url), number - first + 1, page_size)
            else:
                upcoming = [(n, page_size) for n in range(number + 1, number + ahead.depth)]
                page = ahead.get((number, page_size), upcoming)

    @staticmethod
    def _cut(page: dict[str, Any], max_products: int | None, read: int) -> dict[str, Any]:
        if max_products is None or page["count"] <= max_products - read:
            return page
        keep = max(max_products - read, 0)
        products = page["products"][:keep]
        return {**page, "products": products, "count": len(products), "rejected": []}

    def _numbered_page(self, number: int, limit: int) -> dict[str, Any]:
        """Page ``number`` at ``limit`` records a page; ``next_url`` when the answer links a next one."""
        paging = self.adapter.paging
        params = {paging.limit_param: limit, paging.page_param: number}
        page = self._records_page(self.adapter.list_path, params, f"page {number}", limit, url=None)
        return {**page, "page": number - paging.first_page + 1, "skip": (number - paging.first_page) * limit}

    def _link_page(self, url: str, number: int, limit: int) -> dict[str, Any]:
        """The page a next link points to (only on the source's own host: the connection's
        headers and credentials never go elsewhere)."""
        base, target = urlsplit(self.base_url), urlsplit(url)
        page_info = {"page": number, "skip": (number - 1) * limit, "limit": limit}
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            error = f"page {number}: the next link leads to another host ({target.netloc}): not followed"
            return {**page_info, "products": [], "count": 0, "total": None, "error": error}
        page = self._records_page(target.path or "/", None, f"page {number}", limit, url=url)
        return {**page, **page_info}

    def _records_page(
        self, path: str, params: dict[str, Any] | None, name: str, limit: int, *, url: str | None
    ) -> dict[str, Any]:
        adapter = self.adapter
        try:
            body, response = self._get(path, params, url=url)
            records = adapter.page_records(body)
            if records is None:
                raise SourceApiError(200, f"{name} has no {adapter.records_field!r} list", "GET", path)
        except SourceApiError as error:
            if error.status != 200:
                raise
            return {"limit": limit, "products": [], "count": 0, "total": None, "error": error.message}
        if len(records) > limit:
            records = records[:limit]  # a source that ignores limit must not overlap the next page
        page = {"limit": limit, **self._converted(records), "total": None}
        following = (response.links or {}).get("next", {}).get("url")
        if following:
            page["next_url"] = urljoin(response.url or self.base_url, following)
        return page

    def lookup_product(self, source_id: str) -> tuple[int | None, Any, str]:
        """``GET /products/{id}`` as ``(status, body, error)``; never raises for an HTTP answer.

        A read by id cannot shift the way offset pages can, so its 404 proves a product gone (see
        ``core.missing``). Outages are retried like any call; what is left after the retries is
        returned with ``status`` None or the last status, for the caller to treat as unproven.
        """
        path = self.adapter.product_path(source_id)
        try:
            return 200, self.get_json(path, params=self.adapter.lookup_params() or None), ""
        except SourceApiError as error:
            return error.status, None, f"GET {path}: {error.message[:120]}"

    def lookup_products(
        self, source_ids: list[str], *, concurrency: int
    ) -> Iterator[tuple[str, tuple[int | None, Any, str]]]:
        """``lookup_product`` for each id, up to ``concurrency`` on the wire, in the given order."""
        with ReadAhead[str](self.lookup_product, concurrency, name="source-lookup") as ahead:
            for index, source_id in enumerate(source_ids):
                yield source_id, ahead.get(source_id, source_ids[index + 1 : index + ahead.depth])

    def confirm_absent(
        self, products: Iterable[StoreProduct], *, prefix: str, listed_source_id: str | None, pause: float
    ) -> Iterator[tuple[StoreProduct, missing.Answer]]:
        """``core.missing.confirm_absent`` asked of this source, ``LOOKUP_CONCURRENCY`` lookups on
        the wire: each product by id, proven gone only by two 404s ``pause`` seconds apart, and
        only when the source answers for ``listed_source_id``, a product the fetch listed (a source
        answering 404 for everything, a wrong route or a gateway, proves nothing)."""
        return missing.confirm_absent(
            products,
            prefix=prefix,
            listed_source_id=listed_source_id,
            lookup=lambda ids: self.lookup_products(ids, concurrency=LOOKUP_CONCURRENCY),
            pause=pause,
        )

    def categories(self, used: Iterable[str] = ()) -> list[dict[str, str]]:
        """The catalog's categories as ``{"slug", "name"}``: from the adapter's categories path
        (older APIs return bare slugs), or, for a feed without one, the categories the records
        ``used``, named as given."""
        path = self.adapter.categories_path
        if path is None:
            return self.adapter.category_names(list(used))
        body = self.get_json(path)
        if not isinstance(body, list):
            raise SourceApiError(200, "categories response is not a list", "GET", path)
        result: list[dict[str, str]] = []
        for item in body:
            if isinstance(item, str):
                result.append({"slug": item, "name": _display_name(item)})
            elif isinstance(item, dict) and item.get("slug"):
                slug = str(item["slug"])
                result.append({"slug": slug, "name": str(item.get("name") or _display_name(slug))})
            else:
                raise SourceApiError(200, f"unexpected category entry {item!r:.80}", "GET", path)
        return result
