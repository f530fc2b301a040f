"""Medusa v2 Admin API hook: authentication, retries and typed errors in one place."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, TypedDict, TypeVar, Unpack

from airflow.sdk.exceptions import AirflowFailException
from requests import PreparedRequest, Response, Session
from requests.auth import AuthBase

from medusa_sync.core.read_ahead import ReadAhead
from medusa_sync.core.shipping import NO_PROFILE, pick_default
from medusa_sync.errors import MedusaApiError, StoreMovedError
from medusa_sync.hooks.connection_secrets import credential_problem, redact_userinfo
from medusa_sync.hooks.http_api import HttpApiHook
from medusa_sync.hooks.http_session import open_session
from medusa_sync.hooks.retries import RetryPolicy

LOGIN_PATH = "/auth/user/emailpass"
# Sending these twice leaves the server as sending them once; a POST may create a second record.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Medusa's query parser (qs, arrayLimit 1000) turns repeated keys into an array; stay well below it
# and keep URLs short.
EXTERNAL_ID_CHUNK = 100
STORES_PATH = "/admin/stores"
# The Test button's whole budget: the api-server answers within it whatever the host does.
TEST_CONNECTION_SECONDS = 4.0
NOT_MEDUSA = "not a Medusa v2 server (check the host URL)"
# Product ids are short and indexed: one lookup covers a whole default batch (~7 KB of URL).
PRODUCT_ID_CHUNK = 200
# Whole-store reads repeated from scratch when the store moved under them, before giving up.
STORE_READ_TRIES = 3

T = TypeVar("T")


class CallOptions(TypedDict, total=False):
    """What a call to the Admin API may carry besides its method and path."""

    params: dict[str, Any] | Sequence[tuple[str, Any]] | None
    json: Any
    # Whether a request that may have reached the server is sent again after a timeout; None: by
    # method (a POST is not).
    idempotent: bool | None


class MedusaSetupError(MedusaApiError, AirflowFailException):
    """Medusa refused the connection itself (401, 403) or the host is not Medusa: no retry can
    fix that, so the task fails at once, naming the connection and what to check."""


class StoreDefaults(NamedTuple):
    """What new products get when a run's params name neither: the store's default sales channel
    and shipping profile, None where the store has none. ``read_store`` records them beside its
    read of the store (``to_json``), so ``compute_diff``'s first try asks Medusa for neither."""

    sales_channel_id: str | None
    shipping_profile_id: str | None

    def to_json(self) -> dict[str, str | None]:
        return self._asdict()

    @classmethod
    def from_json(cls, data: Any) -> StoreDefaults | None:
        """As ``to_json`` wrote them; None for anything else (a snapshot an earlier version wrote)."""
        if not isinstance(data, dict) or set(data) != set(cls._fields):
            return None
        values = [data[name] for name in cls._fields]
        return cls(*values) if all(v is None or isinstance(v, str) for v in values) else None


class StockLocationNotFound(AirflowFailException):
    """The ``stock_location_id`` param names no stock location (Medusa would write levels there
    anyway, where no storefront looks)."""


class ShippingProfileNotFound(AirflowFailException):
    """The ``shipping_profile_id`` param names no shipping profile: the merchant asked for one
    that is not there, and no retry changes that."""


class _HeaderAuth(AuthBase):
    """Adds the Authorization header at send time, so it never sits in session headers or reprs."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"


def _error_details(response: Response) -> tuple[str | None, str]:
    """Medusa's ``{"type", "message"}`` when the body has it, else a short text fallback."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("message") or body.get("type")):
        kind = body.get("type")
        return (str(kind) if kind else None), str(body.get("message") or response.reason or "")
    text = (response.text or "").strip()
    return None, (text[:300] if text else (response.reason or "error"))


LOCATION_FIELDS = "id,name,sales_channels.id"


# What the sync reads of the products a batch created or updated: their ids and external ids, and
# for linking each variant to its image (``ownership.variant_image_links``) the images and the
# variants' metadata and images.
BATCH_ANSWER_FIELDS = "id,external_id,images.id,images.url,variants.id,variants.metadata,variants.images.id"


class MedusaHook(HttpApiHook):
    """Talks to Medusa's Admin API with an API key or an admin login.

    The connection gives the URL (``host``, or ``schema``, ``host`` and ``port``), the secret key
    or the admin login and password, and transport extras as an ``http`` connection has them
    (``proxies``, ``verify``, ``cert``, ...); other extras are never sent as headers. Status
    handling and retries are done here, typed by what a retry can fix.

    A connection's ``timeout`` extra (the form's "Timeout" field), when set, overrides the
    ``timeout`` argument.

    :param medusa_conn_id: the Medusa connection (type ``medusa``).
    :param retry: how a call is sent again after an outage, a 429 or a 5xx (``RetryPolicy``).
    :param timeout: seconds a request may take; the connection's ``timeout`` extra wins.
    """

    conn_name_attr = "medusa_conn_id"
    default_conn_name = "medusa_default"
    conn_type = "medusa"
    hook_name = "Medusa"
    service = "Medusa"

    def __init__(
        self,
        medusa_conn_id: str = "medusa_default",
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(medusa_conn_id, retry=retry, timeout=timeout)
        self.medusa_conn_id = medusa_conn_id
        self._email: str | None = None
        self._secret: str | None = None
        self._auth: AuthBase | None = None

    # -- session and auth ------------------------------------------------------------------------

    def get_conn(self) -> Session:
        """A session for this connection; its extras configure transport only, never headers."""
        connection = self.get_connection(self.medusa_conn_id)
        opened = open_session(
            connection,
            timeout_keys=("timeout", f"extra__{self.conn_type}__timeout"),
            credential_problems=_credential_problems(connection),
        )
        self._secrets = opened.secrets
        self.base_url = opened.base_url
        if opened.timeout is not None:
            self.timeout = opened.timeout
        self._email = connection.login or None
        self._secret = connection.password or None
        self._secrets.add(self._secret)
        return opened.session

    def _ensure_auth(self) -> AuthBase:
        self.session()
        if self._auth is None:
            if not self._secret:
                raise ValueError(
                    f"Connection {self.medusa_conn_id!r} needs a password: a secret API key, "
                    "or the admin password when login is set"
                )
            if self._email:
                token = self._login()
                self._secrets.add(token)
                self._auth = _HeaderAuth(f"Bearer {token}")
            else:
                encoded = base64.b64encode(f"{self._secret}:".encode()).decode("ascii")
                self._secrets.add(encoded)
                self._auth = _HeaderAuth(f"Basic {encoded}")
        return self._auth

    def _login(self) -> str:
        """Trade the admin email and password for a JWT."""
        # Logging in twice only issues a second token: safe to repeat after a timeout.
        body = {"email": self._email, "password": self._secret}
        response = self._send("POST", LOGIN_PATH, json=body, idempotent=True)
        if not response.ok:
            raise self._error(response, "POST", LOGIN_PATH)
        try:
            token = response.json().get("token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise MedusaApiError(
                response.status_code, None, "login response has no token", "POST", LOGIN_PATH
            )
        return token

    # -- HTTP ------------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        auth: AuthBase | None = None,
        idempotent: bool,
    ) -> Response:
        """One logical call, retried per the policy; no response at all becomes MedusaApiError."""
        session = self.session()
        url = self.url_for(path)
        return self.send_with_retries(
            method,
            path,
            lambda: session.request(method, url, params=params, json=json, auth=auth, timeout=self.timeout),
            idempotent=idempotent,
        )

    def no_response_error(self, reason: str, method: str, path: str) -> MedusaApiError:
        return MedusaApiError(None, None, reason, method, path)

    def url_for(self, path: str) -> str:
        """Join the connection's base URL and an API path."""
        self.session()
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def request(self, method: str, path: str, **options: Unpack[CallOptions]) -> dict[str, Any]:
        """Call the Admin API and return its JSON; a 401 with a login renews the token once.

        ``idempotent`` (default: by method, so POST is not) decides whether a request that may
        have reached the server is sent again after a timeout.
        """
        response = self._call(method, path, **options)
        return self._json(response, method.upper(), "/" + path.lstrip("/"))

    def _call(self, method: str, path: str, **options: Unpack[CallOptions]) -> Response:
        """``request``'s call: the response of a call that succeeded, its body not read yet."""
        method = method.upper()
        path = "/" + path.lstrip("/")
        params, json, idempotent = options.get("params"), options.get("json"), options.get("idempotent")
        repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        call = {"params": params, "json": json, "idempotent": repeatable}
        response = self._send(method, path, auth=self._ensure_auth(), **call)
        if response.status_code == 401 and self._email:
            self.log.info("Medusa %s %s: token rejected, logging in again", method, path)
            self._auth = None
            response = self._send(method, path, auth=self._ensure_auth(), **call)
        if not response.ok:
            raise self._error(response, method, path)
        return response

    def _json(self, response: Response, method: str, path: str) -> dict[str, Any]:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise MedusaApiError(
                response.status_code, None, "response body is not JSON", method, path
            ) from None
        if not isinstance(body, dict):
            raise MedusaApiError(
                response.status_code, None, "response body is not a JSON object", method, path
            )
        return body

    def _error(self, response: Response, method: str, path: str) -> MedusaApiError:
        """The error of a failed call: ``MedusaSetupError`` when only a change of the connection
        (its key, its host) can fix it, naming the connection and what to check; never a secret."""
        kind, message = _error_details(response)
        message = self._secrets.scrub(message)  # a server may echo the credentials it refused
        status = response.status_code
        if status == 401:
            hint = "check its secret API key (or its admin email and password)"
        elif status == 403:
            hint = "its key may not use the Admin API: use a secret API key of an admin user"
        elif status == 404 and kind is None:  # Medusa's own 404s carry {"type": "not_found"}
            hint = f"{NOT_MEDUSA}, including any path prefix"
        else:
            return MedusaApiError(status, kind, message, method, path)
        where = f"connection {self.medusa_conn_id!r} ({redact_userinfo(self.base_url.rstrip('/'))})"
        return MedusaSetupError(status, kind, f"{message}; {where}: {hint}", method, path)

    def paginate(
        self,
        path: str,
        key: str,
        *,
        params: dict[str, Any] | Sequence[tuple[str, Any]] | None = None,
        page_size: int = 500,
        concurrency: int = 1,
        overlap: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of a list endpoint, walking ``offset``/``limit`` until ``count``.

        Once the first page has told ``count``, up to ``concurrency`` pages are on the wire at
        once; items come out in order either way. Offsets shift when an item is deleted during
        the read, hiding the item on the next page boundary with every count still right. With
        ``overlap`` (for a list in a stable order where new items sort last, e.g. ``order=id``)
        each page asks for one item more than the stride, so every page must begin with the
        previous page's last item; if it does not, the list moved and ``StoreMovedError`` is
        raised (no extra request: the same pages, one row longer). The caller restarts the read.
        """
        if page_size < 1:
            raise ValueError("page_size must be positive")
        base = list(params.items()) if isinstance(params, dict) else list(params or ())
        base = [(k, v) for k, v in base if k not in ("offset", "limit")]
        extra = 1 if overlap else 0

        def page_at(offset: int) -> dict[str, Any]:
            page = self.request("GET", path, params=[*base, ("limit", page_size + extra), ("offset", offset)])
            if not isinstance(page.get(key), list):
                raise MedusaApiError(200, None, f"response has no {key!r} list", "GET", path)
            return page

        with ReadAhead[int](page_at, concurrency, name="medusa-page") as ahead:
            offset, stride, count, last = 0, page_size, None, None
            while True:
                upcoming = range(offset + stride, count - extra, stride) if count is not None else ()
                page = ahead.get(offset, upcoming)
                items = page[key]
                if overlap and offset > 0:
                    if not items or items[0].get("id") != last:
                        raise StoreMovedError(
                            f"the list moved while it was read (the page at offset {offset} does not "
                            "begin where the previous one ended): read again",
                            path,
                        )
                    items = items[1:]
                yield from items
                last = items[-1].get("id") if items else last
                count = page["count"] if isinstance(page.get("count"), int) else None
                served = len(page[key])
                if (
                    offset == 0
                    and extra < served < page_size + extra
                    and count is not None
                    and served < count
                ):
                    stride = served - extra  # the server caps the page size: page by what it serves
                if not items or (count is None and served < page_size + extra):
                    return
                offset += stride if count is not None else served - extra
                if count is not None and offset + extra >= count:
                    return

    def product_count_at(self) -> tuple[int, datetime | None]:
        """How many products the store holds, and the time by the Medusa server's clock (its
        ``Date`` header; None without one): where a later ``updated_since`` read starts from."""
        path = "/admin/products"
        response = self._call("GET", path, params=[("fields", "id"), ("limit", 1)])
        count = self._json(response, "GET", path).get("count")
        if not isinstance(count, int):
            raise MedusaApiError(200, None, "response has no product count", "GET", path)
        try:
            at = parsedate_to_datetime(response.headers["Date"])
        except (KeyError, TypeError, ValueError):
            return count, None
        # An HTTP date is always GMT; one written "-0000" parses without a zone.
        return count, at if at.tzinfo else at.replace(tzinfo=UTC)

    def read_all_products(
        self,
        consume: Callable[[Iterator[dict[str, Any]]], T],
        *,
        fields: Sequence[str],
        page_size: int = 500,
        concurrency: int = 1,
        tries: int = STORE_READ_TRIES,
        updated_since: datetime | None = None,
    ) -> T:
        """``consume`` every product of the store, in id order, none skipped and none twice.

        A read during which a product is deleted is detected (see ``paginate``'s ``overlap``)
        and ``consume`` is called again from scratch with a new listing, so it must start clean
        each time (a new index, a snapshot started over). A product created meanwhile sorts last
        and moves nothing. After ``tries`` moved reads, ``StoreMovedError`` (transient) is raised.
        With ``updated_since``, only the products updated (or created) at or after that time.
        """
        params = [("fields", ",".join(fields)), ("order", "id")]
        if updated_since is not None:
            params.append(("updated_at[$gte]", updated_since.isoformat()))
        for attempt in range(1, tries + 1):
            listing = self.paginate(
                "/admin/products",
                "products",
                params=params,
                page_size=page_size,
                concurrency=concurrency,
                overlap=True,
            )
            try:
                return consume(listing)
            except StoreMovedError as moved:
                if attempt == tries:
                    raise
                self.log.warning("store read %d of %d: %s", attempt, tries, moved.message)
            finally:
                listing.close()
        raise AssertionError("unreachable")

    # -- products --------------------------------------------------------------------------------

    def list_products(
        self,
        *,
        fields: Sequence[str],
        external_ids: Sequence[str] | None = None,
        ids: Sequence[str] | None = None,
        page_size: int = 500,
        concurrency: int = 1,
    ) -> Iterator[dict[str, Any]]:
        """Yield products with the given fields; with ``ids`` or ``external_ids``, only those.

        Lookups go in chunks of repeated query keys (Medusa's parser makes them an array; one key
        alone stays a string, which its validator also accepts). Prefer ``ids``: ``external_id``
        is not indexed, so each external-id lookup scans every product.
        """
        base: list[tuple[str, Any]] = [("fields", ",".join(fields))]
        if external_ids is None and ids is None:
            yield from self.paginate(
                "/admin/products", "products", params=base, page_size=page_size, concurrency=concurrency
            )
            return
        key, values, chunk_size = (
            ("id", ids, PRODUCT_ID_CHUNK)
            if ids is not None
            else ("external_id", external_ids, EXTERNAL_ID_CHUNK)
        )
        unique = list(dict.fromkeys(values or ()))
        for start in range(0, len(unique), chunk_size):
            params = base + [(key, value) for value in unique[start : start + chunk_size]]
            yield from self.paginate("/admin/products", "products", params=params, page_size=page_size)

    def batch_products(
        self,
        *,
        create: Sequence[dict[str, Any]] = (),
        update: Sequence[dict[str, Any]] = (),
        delete: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Create, update and delete products in one all-or-nothing workflow.

        A batch without creates is sent again after a timeout: updates set the same state twice and
        Medusa answers a repeated delete with 200. A repeated create would clash with (or
        duplicate) what the first attempt may have committed, so that is left to the caller.

        The products created and updated are answered with ``BATCH_ANSWER_FIELDS`` only: Medusa
        reads back what it answers, and a whole product (prices, options, categories, tags, sales
        channels) is most of what it would otherwise read and send.
        """
        body = {"create": list(create), "update": list(update), "delete": list(delete)}
        return self.request(
            "POST",
            "/admin/products/batch",
            params={"fields": BATCH_ANSWER_FIELDS},
            json=body,
            idempotent=not body["create"],
        )

    # -- a product's options and variants ----------------------------------------------------------
    # Their own routes, for a product with variants: a product update's ``variants`` list deletes
    # every variant it leaves out, these touch only the variants they name. The answers are asked
    # for with ids alone (the routes answer with whole records otherwise): the product's, and for
    # the options batch its options' ids and titles.

    def batch_product_options(
        self,
        product_id: str,
        *,
        add: Sequence[dict[str, Any]] = (),
        update: Sequence[dict[str, Any]] = (),
        remove: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Add options (``{title, values}``) to a product, and values to its options
        (``{"product_option_id", "add": [{"value"}]}``), in one workflow. Options are shared
        entities in Medusa 2.21, changed only through this route; a new option value must exist
        before a variant can name it. Not sent again after a timeout: adding a value twice fails."""
        body = {"add": list(add), "update": list(update), "remove": list(remove)}
        path = f"/admin/products/{product_id}/options/batch"
        fields = "id,options.id,options.title"  # the ids of options just added, by title
        return self.request("POST", path, params={"fields": fields}, json=body, idempotent=False)

    def batch_product_variants(
        self,
        product_id: str,
        *,
        create: Sequence[dict[str, Any]] = (),
        update: Sequence[dict[str, Any]] = (),
        delete: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Create, update and delete variants of one product in one all-or-nothing workflow,
        leaving every variant it does not name as it is. Without creates it is sent again after a
        timeout (the same state twice; a repeated delete is answered 200); a repeated create would
        make a second variant, so that is left to the caller, as for ``batch_products``."""
        body = {"create": list(create), "update": list(update), "delete": list(delete)}
        path = f"/admin/products/{product_id}/variants/batch"
        return self.request("POST", path, params={"fields": "id"}, json=body, idempotent=not body["create"])

    def link_image_variants(
        self, product_id: str, image_id: str, variant_ids: Sequence[str]
    ) -> dict[str, Any]:
        """Link one of a product's images to some of its variants (Medusa 2.11.2 and later: variant
        images); an image is made with its product, so this follows the product's write. Linking
        an image a variant has already is harmless, so it is sent again after a timeout."""
        path = f"/admin/products/{product_id}/images/{image_id}/variants/batch"
        return self.request("POST", path, json={"add": list(variant_ids)}, idempotent=True)

    # -- categories and tags ---------------------------------------------------------------------

    def list_categories(
        self,
        *,
        handles: Sequence[str] | None = None,
        fields: Sequence[str] = ("id", "handle", "name"),
    ) -> Iterator[dict[str, Any]]:
        """Yield product categories, optionally only those with the given handles."""
        params: list[tuple[str, Any]] = [("fields", ",".join(fields))]
        if handles is None:
            yield from self.paginate("/admin/product-categories", "product_categories", params=params)
            return
        values = list(dict.fromkeys(handles))
        for start in range(0, len(values), EXTERNAL_ID_CHUNK):
            chunk = [("handle", value) for value in values[start : start + EXTERNAL_ID_CHUNK]]
            yield from self.paginate("/admin/product-categories", "product_categories", params=params + chunk)

    def create_category(
        self, *, name: str, handle: str, metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Create an active top-level category and return its id (``{"id"}``: Medusa reads back
        what it answers, and the sync needs only the id)."""
        body: dict[str, Any] = {"name": name, "handle": handle, "is_active": True}
        if metadata is not None:
            body["metadata"] = metadata
        answer = self.request("POST", "/admin/product-categories", params={"fields": "id"}, json=body)
        return answer["product_category"]

    def delete_category(self, category_id: str) -> None:
        """Delete a category (used to roll back ones this run created)."""
        self.request("DELETE", f"/admin/product-categories/{category_id}")

    def list_tags(self, *, values: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """Yield product tags, optionally only those with the given values."""
        if values is None:
            yield from self.paginate("/admin/product-tags", "product_tags")
            return
        unique = list(dict.fromkeys(values))
        for start in range(0, len(unique), EXTERNAL_ID_CHUNK):
            chunk = [("value", value) for value in unique[start : start + EXTERNAL_ID_CHUNK]]
            yield from self.paginate("/admin/product-tags", "product_tags", params=chunk)

    def create_tag(self, value: str) -> dict[str, Any]:
        """Create a product tag and return its id (``{"id"}``, as ``create_category``)."""
        answer = self.request("POST", "/admin/product-tags", params={"fields": "id"}, json={"value": value})
        return answer["product_tag"]

    def delete_tag(self, tag_id: str) -> None:
        """Delete a product tag (used to roll back ones this run created)."""
        self.request("DELETE", f"/admin/product-tags/{tag_id}")

    # -- inventory -------------------------------------------------------------------------------
    # Stock locations come with their sales channels' ids (``sales_channels: [{"id"}]``).

    def find_stock_location(self, name: str) -> dict[str, Any] | None:
        """The oldest stock location named exactly ``name``: Medusa does not keep names unique."""
        params = {"name": name, "fields": LOCATION_FIELDS, "order": "created_at", "limit": 1}
        found = self.request("GET", "/admin/stock-locations", params=params).get("stock_locations") or []
        return found[0] if found else None

    def get_stock_location(self, location_id: str) -> dict[str, Any] | None:
        """The stock location, or None when there is none with that id (Medusa writes levels at
        any location id without checking, so the sync checks first)."""
        try:
            path = f"/admin/stock-locations/{location_id}"
            return self.request("GET", path, params={"fields": LOCATION_FIELDS})["stock_location"]
        except MedusaApiError as error:
            if _no_such_record(error):
                return None
            raise

    def create_stock_location(self, name: str) -> dict[str, Any]:
        return self.request("POST", "/admin/stock-locations", json={"name": name})["stock_location"]

    def link_stock_location(self, location_id: str, sales_channel_id: str) -> None:
        """Link a location to a sales channel (a storefront sees stock only at linked locations);
        linking twice is harmless."""
        path = f"/admin/stock-locations/{location_id}/sales-channels"
        self.request("POST", path, json={"add": [sales_channel_id]}, idempotent=True)

    def stock_location_for(
        self, given: str | None, *, name: str, sales_channel_id: str, dry_run: bool
    ) -> str | None:
        """The id of the given location (checked), or of the one called ``name``, created the first
        time; linked to the sales channel either way, so storefronts on it see the stock. A dry run
        creates and links nothing: None when the location would be created."""
        if given:
            location = self.get_stock_location(given)
            if location is None:
                raise StockLocationNotFound(f"stock_location_id {given!r}: Medusa has no such stock location")
        else:
            location = self.find_stock_location(name)
            if location is None and dry_run:
                self.log.info("dry run: stock location %r would be created", name)
                return None
            if location is None:
                location = self.create_stock_location(name)
                self.log.info("created stock location %r (%s)", name, location["id"])
        if sales_channel_id not in {c["id"] for c in location.get("sales_channels") or []} and not dry_run:
            self.link_stock_location(location["id"], sales_channel_id)
            self.log.info("linked stock location %s to sales channel %s", location["id"], sales_channel_id)
        self.log.info(
            "stock location %s (%s), sales channel %s", location["id"], location.get("name"), sales_channel_id
        )
        return str(location["id"])

    def batch_inventory_levels(
        self, *, create: Sequence[dict[str, Any]] = (), update: Sequence[dict[str, Any]] = ()
    ) -> dict[str, Any]:
        """Create and update levels in one all-or-nothing workflow.

        Medusa has no upsert: a create of an existing level and an update of a missing one both
        fail the whole request. Updates alone are sent again after a timeout (same state twice);
        a repeated create would fail, so that is left to the caller (a retry re-reads the levels).
        """
        body = {"create": list(create), "update": list(update)}
        path = "/admin/inventory-items/location-levels/batch"
        return self.request("POST", path, json=body, idempotent=not body["create"])

    # -- store -----------------------------------------------------------------------------------

    def store_defaults(self) -> StoreDefaults:
        """The store's default sales channel and shipping profile, each None when it has none."""
        return StoreDefaults(self._stores_default_channel(), self.default_shipping_profile_id())

    def default_sales_channel_id(self, recorded: StoreDefaults | None = None) -> str:
        """The store's default sales channel (``recorded``'s, when given: no request): products
        need one to show in a storefront."""
        channel = self._stores_default_channel() if recorded is None else recorded.sales_channel_id
        if not channel:
            raise MedusaApiError(200, None, "the store has no default sales channel", "GET", STORES_PATH)
        return channel

    def _stores_default_channel(self) -> str | None:
        stores = self.request("GET", STORES_PATH).get("stores") or []
        channel = stores[0].get("default_sales_channel_id") if stores else None
        return str(channel) if channel else None

    def default_shipping_profile_id(self) -> str | None:
        """The store's default shipping profile (type ``default``), None when it has none: without
        a profile a product cannot be shipped, and, managed by inventory, not even ordered. Of
        several, the oldest (``core.shipping.pick_default``), with a warning."""
        params = {"type": "default", "fields": "id,created_at", "limit": 100}
        found = self.request("GET", "/admin/shipping-profiles", params=params).get("shipping_profiles") or []
        chosen, warning = pick_default(found)
        if warning:
            self.log.warning("%s", warning)
        return chosen

    def shipping_profile_for(self, given: str | None, recorded: StoreDefaults | None = None) -> str | None:
        """The given profile (checked once per run), or the store's default one (``recorded``'s,
        when given: no request); None when the param is empty and the store has no default profile
        (the plan then holds creates back)."""
        if given:
            if self.get_shipping_profile(given) is None:
                raise ShippingProfileNotFound(
                    f"shipping_profile_id {given!r}: Medusa has no such shipping profile"
                )
            return given
        chosen = self.default_shipping_profile_id() if recorded is None else recorded.shipping_profile_id
        if chosen is None:
            self.log.warning("%s", NO_PROFILE)
        return chosen

    def get_shipping_profile(self, profile_id: str) -> dict[str, Any] | None:
        """The shipping profile, or None when Medusa has none with that id."""
        try:
            path = f"/admin/shipping-profiles/{profile_id}"
            found = self.request("GET", path, params={"fields": "id,name,type"}).get("shipping_profile")
        except MedusaApiError as error:
            if _no_such_record(error):
                return None
            raise
        return found or None

    def test_connection(self) -> tuple[bool, str]:
        """Back the UI's Test button: one attempt, answered within seconds, naming what is wrong.

        The api-server runs this while the user waits, so there are no retries and every request
        gets what is left of ``TEST_CONNECTION_SECONDS``.
        """
        try:
            self.session()
            where = redact_userinfo(self.base_url.rstrip("/")) or "(no host)"
        except Exception as exc:  # the UI shows the message; never let it crash the form
            return False, redact_userinfo(f"Connection settings unusable: {type(exc).__name__}: {exc}")[:300]
        self.retry_policy = RetryPolicy(max_attempts=1)
        self.timeout = TEST_CONNECTION_SECONDS
        try:
            response = self._send(
                "GET", STORES_PATH, params={"fields": "id,name"}, auth=self._ensure_auth(), idempotent=True
            )
        except MedusaApiError as exc:
            return False, _test_verdict(exc, where)
        except ValueError as exc:  # no secret configured
            return False, str(exc)
        except Exception as exc:
            return False, self._secrets.scrub(f"{where}: {type(exc).__name__}: {exc}")[:300]
        if not response.ok:
            kind, message = _error_details(response)
            message = self._secrets.scrub(message)
            return False, _test_verdict(
                MedusaApiError(response.status_code, kind, message, "GET", STORES_PATH), where
            )
        try:
            stores = response.json().get("stores")
        except (ValueError, AttributeError):
            stores = None
        if not isinstance(stores, list):
            return False, f"{where} answered {STORES_PATH} without Medusa's JSON: {NOT_MEDUSA}"
        name = stores[0].get("name") if stores and isinstance(stores[0], dict) else None
        return (
            True,
            f"Connected to Medusa store {name!r} at {where}" if name else f"Connected to Medusa at {where}",
        )


def _credential_problems(connection: Any) -> list[str]:
    """What in the login (an admin email) or password (a secret API key, or the admin's password)
    cannot be meant as typed: a pasted line break, a control character, spaces around a key or an
    email. Names the field, never its value."""
    problems = []
    login, password = connection.login or "", connection.password or ""
    problem = credential_problem(login, latin1=False, surrounding_space=True)
    if problem:
        problems.append(f"login (the admin email) {problem}")
    what = "password (the admin password)" if login else "password (the secret API key)"
    problem = credential_problem(password, latin1=False, surrounding_space=not login)
    if problem:
        problems.append(f"{what} {problem}")
    return problems


def _no_such_record(error: MedusaApiError) -> bool:
    """Medusa's answer for an id it has no record of (404), or refuses to look up (400)."""
    if isinstance(error, MedusaSetupError):
        return False
    return error.status == 404 or (error.status == 400 and error.type == "invalid_data")


def _test_verdict(exc: MedusaApiError, where: str) -> str:
    """A plain sentence for the Test button: what is wrong and what to check (never a secret)."""
    if exc.status is None:
        reason = exc.message.lower()
        if "refused" in reason:
            return f"Cannot reach Medusa at {where}: connection refused (check the host and port)"
        if "timed out" in reason or "timeout" in reason:
            return f"Cannot reach Medusa at {where}: no answer within {TEST_CONNECTION_SECONDS:g} s"
        if "resolve" in reason or "name or service" in reason or "errno -" in reason:
            return f"Cannot reach Medusa at {where}: unknown host (DNS lookup failed)"
        return f"Cannot reach Medusa at {where}: unreachable ({exc.message})"
    if exc.status in (401, 403):
        return (
            f"Medusa at {where} refused the credentials ({exc.status}): check the secret API key, "
            "or the admin email and password"
        )
    if exc.status == 404 or (exc.status == 200 and exc.path == LOGIN_PATH):
        return f"{where} answered {exc.status} on {exc.path}: {NOT_MEDUSA}"
    return f"Medusa at {where} answered {exc.status} on {exc.path}: {exc.message}"[:300]
