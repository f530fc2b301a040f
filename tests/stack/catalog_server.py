"""A local DummyJSON-compatible catalog, so tests, CI and demos never depend on the public API.

Run it with ``python -m tests.stack.catalog_server [--port 8001] [--file PATH | --generate N]``.
It also answers in Shopify's shape: ``/products.json`` (``page``/``limit``, or ``Link: rel="next"``
headers with ``--link-paging``) and ``/products/{id}.json``; ``--shopify N`` serves N generated
Shopify-shaped products with variants (``catalog_generator.generate_shopify_catalog``).
Faults (errors, 429 bursts, latency, truncated bodies) can be switched on per test, either through
``CatalogServer.set_faults`` or with ``POST /__faults``, to prove that clients retry and fail loudly.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import random
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from tests.stack.catalog_generator import generate_catalog, generate_shopify_catalog

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 30
# Shopify's products.json: 30 a page unless asked, at most 250.
SHOPIFY_DEFAULT_LIMIT = 30
SHOPIFY_MAX_LIMIT = 250
_SHOPIFY_PRODUCT = re.compile(r"/products/(\d+)\.json")
FAULT_KINDS = ("error", "burst_429", "latency", "truncate", "empty_page", "short_page", "shifted_page")
FAULTS_PATH = "/__faults"
HEALTH_PATH = "/health"
JSON_TYPE = "application/json"
_DIGITS = re.compile(r"\d+")


class ApiError(Exception):
    """Carries a status and message to the handler, which answers in DummyJSON's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RequestRecord(NamedTuple):
    """One request as the client sent it, so tests can assert on what a client really asked for."""

    method: str
    path: str
    query: dict[str, str]  # last value wins for a repeated parameter, as the routes read them
    at: float = 0.0  # time.monotonic() when it arrived


def _require_rate(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")


def _require_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


@dataclass(frozen=True)
class Faults:
    """Misbehaviour to inject; frozen so a running server never sees a half-applied change.

    Faults apply only to paths starting with one of ``only_paths`` and never to ``/health`` or
    ``/__faults``. Per eligible request: ``latency_ms`` delay first, then the ``burst_429`` burst
    (the next K requests answer 429 with ``Retry-After``), then ``error_rate`` (answers
    ``error_status``), then ``truncate_rate`` (a 200 whose JSON body is cut in half).
    ``seed`` makes the random draws repeatable.

    Page glitches (``/products`` only) answer 200 with a page that is wrong but looks fine, as a
    misbehaving CDN or a catalog that moves during paging does: ``empty_from_skip`` serves every
    page from that skip on with no products (``total`` unchanged); ``short_page_at_skip`` serves
    only ``short_page_keep`` records of the page at that skip; ``shift_page_at_skip`` serves the
    page at that skip as if it started one record earlier, so one id comes twice.
    ``throttle_at_skip`` answers the first request for the ``/products`` page at that skip with
    429 and ``Retry-After`` (a rate limit that hits one page among several in flight).
    """

    error_rate: float = 0.0
    error_status: int = 503
    burst_429: int = 0
    retry_after: int = 1
    latency_ms: float = 0
    truncate_rate: float = 0.0
    seed: int | None = None
    only_paths: tuple[str, ...] = ("/products",)
    empty_from_skip: int | None = None
    short_page_at_skip: int | None = None
    short_page_keep: int = 0
    shift_page_at_skip: int | None = None
    throttle_at_skip: int | None = None

    def __post_init__(self) -> None:
        for name in ("empty_from_skip", "short_page_at_skip", "shift_page_at_skip", "throttle_at_skip"):
            if getattr(self, name) is not None:
                _require_count(name, getattr(self, name))
        _require_count("short_page_keep", self.short_page_keep)
        _require_rate("error_rate", self.error_rate)
        _require_rate("truncate_rate", self.truncate_rate)
        _require_count("burst_429", self.burst_429)
        _require_count("retry_after", self.retry_after)
        if isinstance(self.error_status, bool) or self.error_status not in range(400, 600):
            raise ValueError(
                f"error_status must be an HTTP error status (400-599), got {self.error_status!r}"
            )
        latency = self.latency_ms
        if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
            raise ValueError(f"latency_ms must be a non-negative number, got {latency!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ValueError(f"seed must be an integer or null, got {self.seed!r}")
        paths = (self.only_paths,) if isinstance(self.only_paths, str) else self.only_paths
        if not isinstance(paths, list | tuple) or not all(
            isinstance(path, str) and path.startswith("/") for path in paths
        ):
            raise ValueError(f"only_paths must be a list of path prefixes starting with '/', got {paths!r}")
        object.__setattr__(self, "only_paths", tuple(paths))

    @classmethod
    def from_dict(cls, data: object) -> Faults:
        """Build from a JSON body, rejecting unknown keys so a typo never silently disables a fault."""
        if not isinstance(data, dict):
            raise ValueError("fault settings must be a JSON object")
        unknown = sorted(set(data) - {field.name for field in fields(cls)})
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["only_paths"] = list(self.only_paths)
        return data

    def applies_to(self, path: str) -> bool:
        if path == HEALTH_PATH or path.startswith(FAULTS_PATH):
            return False
        return any(path.startswith(prefix) for prefix in self.only_paths)


class _Plan(NamedTuple):
    delay: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    truncate: bool = False


_NO_FAULT = _Plan()


class _Catalog:
    """One immutable product list with its indexes, swapped whole so no response mixes two catalogs."""

    def __init__(self, products: list[Any]) -> None:
        # Records are served as given, in id order when every id is an integer: tests feed the sync
        # deliberately broken records (no id, a string id, not even an object) and must get them back.
        well_formed = all(isinstance(p, dict) and type(p.get("id")) is int for p in products)
        self.products = sorted(products, key=lambda product: product["id"]) if well_formed else list(products)
        self.by_id = {p["id"]: p for p in self.products if isinstance(p, dict) and type(p.get("id")) is int}
        self.by_category: dict[str, list[dict[str, Any]]] = {}
        for product in self.products:
            category = product.get("category") if isinstance(product, dict) else None
            if isinstance(category, str):
                self.by_category.setdefault(category, []).append(product)
        self.categories = sorted(self.by_category)


def category_name(slug: str) -> str:
    """DummyJSON's display name: each dash-separated word capitalised, ``mens-shirts`` -> ``Mens Shirts``."""
    return " ".join(word[:1].upper() + word[1:] for word in slug.split("-"))


def _non_negative_int(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw):
        raise ApiError(400, f"Invalid '{name}' parameter: expected a non-negative integer, got '{raw}'")
    return int(raw)


def _sorted(products: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
    order = params.get("order", "asc").lower()
    if order not in ("asc", "desc"):
        raise ApiError(400, f"Invalid 'order' parameter: expected 'asc' or 'desc', got '{params['order']}'")
    key = params.get("sortBy")
    if not key:
        return products
    present = [p for p in products if isinstance(p, dict) and p.get(key) is not None]
    missing = [p for p in products if not isinstance(p, dict) or p.get(key) is None]
    try:
        present.sort(key=lambda product: product[key], reverse=order == "desc")
    except TypeError:  # mixed value types: fall back to comparing their text
        present.sort(key=lambda product: str(product[key]), reverse=order == "desc")
    return present + missing


def _project(product: dict[str, Any], keys: list[str] | None) -> dict[str, Any]:
    if keys is None or not isinstance(product, dict):
        return product
    return {"id": product.get("id"), **{key: product[key] for key in keys if key in product and key != "id"}}


def _selected_keys(params: dict[str, str]) -> list[str] | None:
    keys = [key.strip() for key in params.get("select", "").split(",") if key.strip()]
    return keys or None


def _page(products: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    limit = _non_negative_int(params, "limit", DEFAULT_LIMIT)
    skip = _non_negative_int(params, "skip", 0)
    ordered = _sorted(products, params)
    window = ordered[skip : skip + limit] if limit else ordered[skip:]
    keys = _selected_keys(params)
    page = [_project(product, keys) for product in window]
    # DummyJSON reports how many products it returned as "limit", not the limit that was asked for.
    return {"products": page, "total": len(products), "skip": skip, "limit": len(page)}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive clients would otherwise make server_close() wait for them to hang up.
    block_on_close = False
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], owner: CatalogServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def drop_connections(self) -> None:
        """Hang up idle keep-alive connections so a stopped server really stops answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("connection from %s ended: %s", client_address, error)
        else:
            log.exception("unexpected error serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "DevstackCatalog/1"
    timeout = 60  # idle keep-alive connections are closed after this many seconds

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - " + format, self.address_string(), *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, unsupported method) answer in JSON like the rest."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self._send(code, {"message": message or phrase}, extra_headers={"Connection": "close"})

    def _send(
        self,
        status: int,
        payload: Any,
        *,
        extra_headers: dict[str, str] | None = None,
        truncate: bool = False,
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        if truncate:
            body = body[: len(body) // 2]
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        if not length.isdigit():
            raise ApiError(400, "Invalid Content-Length header")
        return self.rfile.read(int(length))

    def _handle(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        path = unquote(parts.path).rstrip("/") or "/"
        params = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        if path.startswith(FAULTS_PATH):
            self._answer(owner, path, params)
            return
        owner._record(RequestRecord(self.command, parts.path, params, time.monotonic()))
        owner._arrive()
        try:
            self._answer(owner, path, params)
        finally:
            owner._leave()

    def _answer(self, owner: CatalogServer, path: str, params: dict[str, str]) -> None:
        try:
            body = self._read_body()
            if path == FAULTS_PATH:
                self._send(200, owner._control_faults(self.command, body))
                return
            if path == HEALTH_PATH:
                self._require_get()
                self._send(200, {"status": "ok"})
                return
            plan = owner._plan_faults(path, params)
            if plan.delay:
                time.sleep(plan.delay)
            if plan.retry_after is not None:
                headers = {"Retry-After": str(plan.retry_after)}
                self._send(429, {"message": "Too many requests, retry later"}, extra_headers=headers)
                return
            if plan.status is not None:
                self._send(plan.status, {"message": f"Injected fault: HTTP {plan.status}"})
                return
            self._require_get()
            payload = owner._route(path, params, self._base_url())
            owner._apply_edit_after(path, params)
            if plan.truncate:
                owner._count_fault("truncate")
            headers = None
            if isinstance(payload, _Linked):
                payload, headers = payload.body, {"Link": f'<{payload.next_url}>; rel="next"'}
            self._send(200, payload, truncate=plan.truncate, extra_headers=headers)
        except ApiError as error:
            self._send(error.status, {"message": error.message})
        except Exception:
            log.exception("error answering %s %s", self.command, self.path)
            self._send(500, {"message": "Internal server error"})

    def _require_get(self) -> None:
        if self.command not in ("GET", "HEAD"):
            raise ApiError(405, f"Method {self.command} not allowed")

    def _base_url(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.server.owner.url


class CatalogServer:
    """Serves ``products`` with DummyJSON's query semantics on a background thread.

    Products are served as given (not copied); use ``replace_products`` to change the catalog.
    Every request except ``/__faults`` control calls is logged in ``requests``.
    """

    def __init__(
        self,
        products: list[dict[str, Any]],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        link_paging: bool = False,
    ) -> None:
        # ``/products.json`` pages by ``page`` number; with ``link_paging`` each page also links the
        # next one (``Link: <...page_info=...>; rel="next"``), as Shopify's cursor paging does.
        self.link_paging = link_paging
        self._lock = threading.Lock()
        self._catalog = _Catalog(list(products))
        self._requests: list[RequestRecord] = []
        self._in_flight = self._max_in_flight = 0
        self._faults = Faults()
        self._rng = random.Random()
        self._burst_remaining = 0
        self._throttled = False
        self._edit_after_first_page: tuple[int, dict[str, Any]] | None = None
        self._fault_counts = dict.fromkeys(FAULT_KINDS, 0)
        self._httpd = _HTTPServer((host, port), self)
        self._thread: threading.Thread | None = None
        self._stopped = False

    # lifecycle

    def start(self) -> CatalogServer:
        if self._stopped:
            raise RuntimeError("a stopped CatalogServer cannot be restarted; create a new one")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},  # stop() waits up to one poll interval
                name=f"catalog-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()
        self._httpd.drop_connections()

    def __enter__(self) -> CatalogServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # catalog

    def replace_products(self, products: list[dict[str, Any]]) -> None:
        """Swap the whole catalog at once; requests already running finish with the old one."""
        catalog = _Catalog(list(products))
        with self._lock:
            self._catalog = catalog

    @contextlib.contextmanager
    def serving(self, products: list[dict[str, Any]]) -> Iterator[CatalogServer]:
        """Serve ``products`` for the ``with`` block, then the catalog served before it again."""
        before = self.products
        self.replace_products(products)
        try:
            yield self
        finally:
            self.replace_products(before)

    def edit_after_first_page(self, remove_id: int, append: dict[str, Any]) -> None:
        """Once, right after the next ``/products`` page at skip 0 is answered, remove the product
        ``remove_id`` and append ``append``: a catalog edited while a run pages through it.

        With the removed product before a later page boundary, every later offset shifts by one,
        so the product on that boundary is never served though the total stays the same.
        """
        with self._lock:
            self._edit_after_first_page = (remove_id, append)

    def _apply_edit_after(self, path: str, params: dict[str, str]) -> None:
        first = (
            _non_negative_int(params, "skip", 0) == 0
            if path == "/products"
            else path == "/products.json" and _shopify_offset(params) == 0
        )
        if not first:
            return
        with self._lock:
            edit, self._edit_after_first_page = self._edit_after_first_page, None
            if edit is not None:
                remove_id, append = edit
                kept = [
                    p
                    for p in self._catalog.products
                    if not (isinstance(p, dict) and p.get("id") == remove_id)
                ]
                self._catalog = _Catalog([*kept, append])

    @property
    def products(self) -> list[dict[str, Any]]:
        return list(self._catalog.products)

    # request log

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def max_in_flight(self) -> int:
        """The most requests that were being answered at once since the last ``reset_log``."""
        with self._lock:
            return self._max_in_flight

    def reset_log(self) -> None:
        with self._lock:
            self._requests.clear()
            self._max_in_flight = self._in_flight

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    def _arrive(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    # faults

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults | None = None, /, **settings: Any) -> Faults:
        """Replace the fault settings, restarting the burst, the random sequence and the counts."""
        if faults is not None and settings:
            raise TypeError("pass either a Faults instance or keyword settings, not both")
        faults = faults if faults is not None else Faults(**settings)
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._burst_remaining = faults.burst_429
            self._throttled = False
            self._fault_counts = dict.fromkeys(FAULT_KINDS, 0)
        return faults

    def reset_faults(self) -> None:
        self.set_faults(Faults())

    @property
    def fault_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._fault_counts)

    def fault_state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "faults": self._faults.to_dict(),
                "counts": dict(self._fault_counts),
                "burst_remaining": self._burst_remaining,
            }

    def _control_faults(self, method: str, body: bytes) -> dict[str, Any]:
        if method == "POST":
            try:
                self.set_faults(Faults.from_dict(json.loads(body or b"{}")))
            except (ValueError, TypeError) as error:
                raise ApiError(400, f"Invalid fault settings: {error}") from error
        elif method == "DELETE":
            self.reset_faults()
        elif method != "GET":
            raise ApiError(405, f"Method {method} not allowed")
        return self.fault_state()

    def _plan_faults(self, path: str, params: dict[str, str]) -> _Plan:
        with self._lock:
            faults = self._faults
            if not faults.applies_to(path):
                return _NO_FAULT
            delay = faults.latency_ms / 1000
            if delay:
                self._fault_counts["latency"] += 1
            throttle = faults.throttle_at_skip
            skip = (
                _shopify_offset(params) if path == "/products.json" else _non_negative_int(params, "skip", 0)
            )
            at_skip = throttle is not None and skip == throttle
            if at_skip and not self._throttled and path in ("/products", "/products.json"):
                self._throttled = True
                self._fault_counts["burst_429"] += 1
                return _Plan(delay, 429, faults.retry_after)
            if self._burst_remaining > 0:
                self._burst_remaining -= 1
                self._fault_counts["burst_429"] += 1
                return _Plan(delay, 429, faults.retry_after)
            if faults.error_rate and self._rng.random() < faults.error_rate:
                self._fault_counts["error"] += 1
                return _Plan(delay, faults.error_status)
            truncate = bool(faults.truncate_rate) and self._rng.random() < faults.truncate_rate
            return _Plan(delay, truncate=truncate)

    def _count_fault(self, kind: str) -> None:
        with self._lock:
            self._fault_counts[kind] += 1

    # routes

    def _glitched_page(self, products: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
        """A ``/products`` page, with the page glitches of the current faults applied."""
        faults = self._faults
        skip = _non_negative_int(params, "skip", 0)
        if faults.shift_page_at_skip is not None and skip == faults.shift_page_at_skip and skip > 0:
            self._count_fault("shifted_page")
            return {**_page(products, {**params, "skip": str(skip - 1)}), "skip": skip}
        page = _page(products, params)
        if faults.empty_from_skip is not None and skip >= faults.empty_from_skip:
            self._count_fault("empty_page")
            return {**page, "products": [], "limit": 0}
        if faults.short_page_at_skip is not None and skip == faults.short_page_at_skip:
            self._count_fault("short_page")
            kept = page["products"][: faults.short_page_keep]
            return {**page, "products": kept, "limit": len(kept)}
        return page

    def _shopify_page(self, products: list[dict[str, Any]], params: dict[str, str], base_url: str) -> Any:
        """A ``/products.json`` page: the offset page it stands for, with the same glitches, in
        Shopify's body; with ``link_paging``, linked to the next page while records remain."""
        # Shopify serves at most 250 a page, whatever is asked: a client must notice the cap.
        limit = min(_non_negative_int(params, "limit", SHOPIFY_DEFAULT_LIMIT), SHOPIFY_MAX_LIMIT)
        if limit < 1:
            raise ApiError(400, "Invalid 'limit' parameter: expected at least 1")
        offset = _shopify_offset(params)
        page = self._glitched_page(products, {"limit": str(limit), "skip": str(offset)})
        body = {"products": page["products"]}
        if not self.link_paging or offset + limit >= len(products):
            return body
        cursor = base64.urlsafe_b64encode(f"{offset + limit}:{limit}".encode()).decode()
        return _Linked(body, f"{base_url}/products.json?limit={limit}&page_info={cursor}")

    def _route(self, path: str, params: dict[str, str], base_url: str) -> Any:
        catalog = self._catalog
        if path == "/products":
            return self._glitched_page(catalog.products, params)
        if path == "/products.json":
            return self._shopify_page(catalog.products, params, base_url)
        if shopify := _SHOPIFY_PRODUCT.fullmatch(path):
            product = catalog.by_id.get(int(shopify.group(1)))
            if product is None:
                raise ApiError(404, "Not Found")
            return {"product": product}
        if path == "/products/search":
            needle = params.get("q", "").strip().lower()
            found = [
                product
                for product in catalog.products
                if isinstance(product, dict)
                and (
                    needle in str(product.get("title", "")).lower()
                    or needle in str(product.get("description", "")).lower()
                )
            ]
            return _page(found, params)
        if path == "/products/categories":
            return [
                {"slug": slug, "name": category_name(slug), "url": f"{base_url}/products/category/{slug}"}
                for slug in catalog.categories
            ]
        if path == "/products/category-list":
            return list(catalog.categories)
        if path.startswith("/products/category/"):
            slug = path.removeprefix("/products/category/")
            if "/" not in slug:
                return _page(catalog.by_category.get(slug, []), params)
        elif path.startswith("/products/") and path.count("/") == 2:
            raw_id = path.removeprefix("/products/")
            product = catalog.by_id.get(int(raw_id)) if _DIGITS.fullmatch(raw_id) else None
            if product is None:
                raise ApiError(404, f"Product with id '{raw_id}' not found")
            return _project(product, _selected_keys(params))
        raise ApiError(404, "Not found")


class _Linked(NamedTuple):
    """A body answered with a ``Link`` header to the next page."""

    body: Any
    next_url: str


def _shopify_offset(params: dict[str, str]) -> int:
    """The offset a ``/products.json`` request stands for: its ``page_info`` cursor (a link this
    server made), else ``page`` (1-based) times ``limit``."""
    limit = min(_non_negative_int(params, "limit", SHOPIFY_DEFAULT_LIMIT), SHOPIFY_MAX_LIMIT)
    cursor = params.get("page_info")
    if cursor:
        try:
            offset, _, _ = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
            return int(offset)
        except ValueError:
            raise ApiError(400, "Invalid 'page_info' parameter") from None
    page = _non_negative_int(params, "page", 1)
    return max(page - 1, 0) * limit


class CatalogFileError(ValueError):
    """A catalog file that cannot serve as a product list; the message names the file."""


def load_catalog(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON array of product objects, failing with a message a person can act on."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogFileError(f"cannot read catalog file {path}: {error.strerror or error}") from error
    except ValueError as error:
        raise CatalogFileError(f"catalog file {path} is not valid JSON: {error}") from error
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise CatalogFileError(f"catalog file {path} must contain a JSON array of product objects")
    if not all(isinstance(item.get("id"), int) for item in data):
        raise CatalogFileError(f"catalog file {path}: every product object needs an integer 'id'")
    return data


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.stack.catalog_server",
        description="Serve a DummyJSON-compatible product catalog.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--file", type=Path, help="JSON array of DummyJSON product objects to serve")
    source.add_argument("--generate", type=int, metavar="N", help="serve N generated products (default 1000)")
    source.add_argument(
        "--shopify", type=int, metavar="N", help="serve N generated Shopify-shaped products with variants"
    )
    parser.add_argument(
        "--link-paging", action="store_true", help='link each /products.json page to the next (rel="next")'
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --generate")
    args = parser.parse_args(argv)
    for name in ("generate", "shopify"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            parser.error(f"--{name} must be a non-negative number of products")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        if args.file:
            products = load_catalog(args.file)
        elif args.shopify is not None:
            products = generate_shopify_catalog(args.shopify, args.seed)
        else:
            products = generate_catalog(1000 if args.generate is None else args.generate, args.seed)
    except CatalogFileError as error:
        print(f"catalog server: {error}", file=sys.stderr)
        return 2
    try:
        server = CatalogServer(products, host=args.host, port=args.port, link_paging=args.link_paging)
    except OSError as error:
        print(f"catalog server: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with server:
        print(f"catalog server on {server.url} serving {len(products)} products", flush=True)
        while not stop.wait(0.5):
            pass
    print("catalog server stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
