"""A connection's secrets kept out of every output: checked when the connection is loaded, masked
in the task log, scrubbed from every exception text a hook lets out.

A header value pasted with a trailing newline is the typical case: requests refuses it with an
``InvalidHeader`` whose message quotes the value (``'Bearer tok\\n'``), escaped so that Airflow's
masker, which knows the raw value, does not recognise it; and the task is retried for nothing.
So a value that requests or HTTP would refuse stops the task before any request, naming the
connection and the extra, never the value; and the values that are sent are registered with the
masker and removed, in the forms libraries print them, from hook errors.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, urlsplit

import requests
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import mask_secret
from requests.exceptions import InvalidHeader
from requests.utils import check_header_validity

from medusa_sync.hooks.retries import never_sent

# Values shorter than this are not scrubbed from texts: replacing "abc" everywhere would garble a
# message while hiding next to nothing. Airflow's masker has its own, similar floor.
MIN_SCRUBBED_LENGTH = 4
HIDDEN = "***"

# RFC 9110 field names are tokens: letters, digits and these marks. HTTP servers answer 400 to
# any other character, though requests only refuses colons, line breaks and leading whitespace.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Control characters a field value may not hold (tab is allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n]")
# A value's auth scheme ("Bearer tok"): the token after it is a secret on its own.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,19}\s+(?P<token>\S.*)$", re.DOTALL)
_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+@")


class ConnectionSettingError(AirflowFailException, ValueError):
    """A connection field or extra that cannot be sent: no retry can fix it, so the task fails at
    once. The message names the connection and the field, never the value."""


def redact_userinfo(text: str) -> str:
    """Hide ``user:password@`` in URLs that a library put into an error text."""
    return _USERINFO.sub(f"{HIDDEN}@", text)


def _text_problem(value: str, *, header: bool) -> str | None:
    """Why a value cannot go into an HTTP header as it is; never quotes the value."""
    if _LINE_BREAK.search(value):
        where = "at its end" if not _LINE_BREAK.search(value.rstrip("\r\n")) else "in it"
        return f"has a line break {where} (a newline pasted with the value?)"
    if _CONTROL.search(value):
        return "has a control character"
    if header and value[:1].isspace():
        return "begins with whitespace"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "has a character HTTP headers cannot carry (outside Latin-1, e.g. a typographic quote)"
    return None


def header_problem(name: str, value: str) -> str | None:
    """Why requests or an HTTP server would refuse the header ``name: value`` (None when fine).

    Uses requests' own check, then the stricter rules of HTTP it leaves to the server or to
    ``http.client`` (names are tokens, values Latin-1 without control characters).
    """
    if not _TOKEN.fullmatch(name):
        return "is not a valid HTTP header name (only letters, digits and !#$%&'*+-.^_`|~)"
    problem = _text_problem(value, header=True)
    if problem:
        return f"value {problem}"
    try:
        check_header_validity((name, value))
    except InvalidHeader:
        return "value is refused by requests as a header value"
    return None


def credential_problem(value: str, *, latin1: bool, surrounding_space: bool) -> str | None:
    """Why a login or password would not authenticate as typed (None when fine).

    ``latin1``: it goes into HTTP Basic auth, which requests encodes as Latin-1.
    ``surrounding_space``: leading or trailing whitespace cannot be meant (keys, emails).
    """
    if _LINE_BREAK.search(value):
        return "has a line break (a newline pasted with the value?)"
    if _CONTROL.search(value):
        return "has a control character"
    if surrounding_space and value != value.strip():
        return "begins or ends with whitespace"
    if latin1:
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return "has a character HTTP Basic auth cannot carry (outside Latin-1)"
    return None


def fail_on_problems(conn_id: str, problems: list[str]) -> None:
    """Raise one ``ConnectionSettingError`` listing every problem (each names its field)."""
    if problems:
        raise ConnectionSettingError(
            f"connection {conn_id!r}: " + "; ".join(problems) + ". Edit the connection and enter these "
            "values again (the values are not shown here, as they may be secrets); a retry cannot fix this"
        )


class ConnectionSecrets:
    """The secret values of one connection: registered with Airflow's masker, scrubbed from texts."""

    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        """A secret, in the forms a library may print it: as is, trimmed, escaped as in a repr,
        percent-encoded, and the token after an auth scheme (``Bearer <token>``)."""
        if not value:
            return
        forms = {value, value.strip(), repr(value)[1:-1], quote(value, safe=""), quote(value.strip())}
        scheme = _SCHEME.match(value.strip())
        if scheme:
            token = scheme.group("token")
            forms |= {token, repr(token)[1:-1]}
        new = {form for form in forms if len(form) >= MIN_SCRUBBED_LENGTH} - self._forms
        for form in new:
            mask_secret(form)
        if new:
            self._forms |= new
            longest_first = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(form) for form in longest_first))

    def add_basic(self, login: str, password: str) -> None:
        """HTTP Basic credentials, and the header value they make."""
        self.add(password)
        raw = f"{login}:{password}".encode("latin-1", errors="replace")
        self.add(base64.b64encode(raw).decode("ascii"))

    def add_url(self, url: object) -> None:
        """The password of a ``user:password@`` URL (a proxy's)."""
        if isinstance(url, str) and "@" in url:
            try:
                self.add(urlsplit(url).password)
            except ValueError:
                self.add(url)

    def scrub(self, text: str) -> str:
        """``text`` with every secret form and URL userinfo replaced by ``***``."""
        if self._pattern is not None:
            text = self._pattern.sub(HIDDEN, text)
        return redact_userinfo(text)

    def leaks(self, text: str) -> bool:
        return self.scrub(text) != text

    def scrubbed(self, exc: BaseException) -> BaseException:
        """``exc`` itself when its text holds no secret, else one of the same kind whose text is
        scrubbed (a connect failure stays one that provably never reached the server)."""
        text = str(exc)
        if not self.leaks(text) and not self.leaks(repr(exc)):
            return exc
        clean = self.scrub(text)
        if isinstance(exc, requests.ConnectionError) and never_sent(exc):
            return requests.ConnectTimeout(clean)
        try:
            new = type(exc)(clean)
        except Exception:
            new = ScrubbedError(f"{type(exc).__name__}: {clean}")
        if self.leaks(str(new)) or self.leaks(repr(new)):  # a type that rebuilds its text from elsewhere
            new = ScrubbedError(f"{type(exc).__name__}: {clean}")
        return new


class ScrubbedError(RuntimeError):
    """An error whose original could not be rebuilt without its secret: its type and scrubbed text."""
