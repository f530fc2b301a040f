"""Real Medusa stores, each on its own database cloned from a migrated template.

Migrating takes about half a minute, cloning a database a fraction of a second, so the schema and
the admin user are prepared once (``migrate_template``) and every store starts from a copy
(``open_store``). The test fixtures (``tests/fixtures/medusa.py``) and the chaos soak
(``tests.stack.soak``) both open their stores here.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.stack import medusa_server as ms


class AdminSession(requests.Session):
    """A session whose request paths are relative to the store's URL."""

    def __init__(self, base_url: str, api_key: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.auth = (api_key, "")  # a secret key is sent as HTTP Basic with an empty password

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class MedusaTemplate:
    """A migrated database with an admin user, never served, only copied."""

    database: str
    email: str
    password: str


@dataclass(frozen=True)
class MedusaStore:
    """A running store and the credentials to use it."""

    url: str
    database: str
    email: str
    password: str
    api_key: str
    admin: AdminSession
    # The process itself, for tests that stop Medusa mid-run and start it again on the same port.
    server: ms.MedusaServer


def _unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


def _timed(what: str, started: float) -> None:
    print(f"\n[medusa] {what}: {time.monotonic() - started:.1f} s", flush=True)


def migrate_template() -> MedusaTemplate:
    """Install and build Medusa if needed, then migrate a uniquely named database and add the admin
    user. The caller drops ``template.database`` when done."""
    ms.ensure_installed()
    ms.ensure_built()
    template = MedusaTemplate(_unique("medusa_sync_tpl"), "admin@medusa-sync.test", ms.admin_password())
    started = time.monotonic()
    ms.create_database(template.database)
    try:
        ms.migrate(ms.database_url(template.database))
        ms.create_admin_user(ms.database_url(template.database), template.email, template.password)
    except BaseException:
        ms.drop_database(template.database)
        raise
    _timed("template database migrated", started)
    return template


@contextmanager
def open_store(template: MedusaTemplate, log_dir: Path) -> Iterator[MedusaStore]:
    """Clone the template, start a server on a free port, and give it a secret key and usd."""
    started = time.monotonic()
    database = _unique("medusa_sync_t")
    ms.create_database(database, template=template.database)
    server = ms.MedusaServer(ms.database_url(database), log_path=log_dir / f"{database}.log")
    try:
        server.start().wait_healthy(timeout=180)
        token = ms.admin_token(server.url, template.email, template.password)
        api_key = ms.create_secret_api_key(server.url, token, "pytest")
        ms.add_store_currency(server.url, token, "usd")
        _timed("store cloned and started", started)
        with AdminSession(server.url, api_key) as admin:
            yield MedusaStore(server.url, database, template.email, template.password, api_key, admin, server)
    finally:
        server.stop()
        ms.drop_database(database)
