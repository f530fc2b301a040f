"""Provider metadata: the only way Airflow 3 learns about a custom connection type and its form."""

from __future__ import annotations

from typing import Any

from medusa_sync import __version__
from medusa_sync.settings import provider_config

DISTRIBUTION = "medusa-product-sync"

# The transport extras both hooks read (hooks/http_session.py; docs/configure.md), as form fields.
# Each is stored in the connection's extra under its own name. None has a default: a field left
# empty is stored as null or "", which the hooks read as unset, so an untouched form changes
# nothing. The aliases (proxy, verify_ssl) and a [cert, key] pair go into the Extra JSON field.
TRANSPORT_FIELDS: dict[str, dict[str, Any]] = {
    "verify": {
        "label": "Verify TLS certificates",
        "description": "true (the default), false, or the path of a CA bundle file.",
        "schema": {"type": ["string", "null"]},
    },
    "cert": {
        "label": "Client certificate",
        "description": "Path of a client certificate file holding its key too, for mutual TLS.",
        "schema": {"type": ["string", "null"]},
    },
    "proxies": {
        "label": "Proxies",
        "description": 'A proxy per URL scheme, e.g. {"https": "http://proxy.example.com:3128"}. '
        "Empty: the HTTP_PROXY and HTTPS_PROXY of the environment, unless Trust environment is off.",
        "schema": {"type": ["object", "null"]},
    },
    "max_redirects": {
        "label": "Maximum redirects",
        "description": "How many redirects a request may follow (default 30).",
        "schema": {"type": ["integer", "null"], "minimum": 0},
    },
    "trust_env": {
        "label": "Trust environment",
        "description": "Read proxies, .netrc credentials and the CA bundle from the environment "
        "(default on).",
        "schema": {"type": ["boolean", "null"]},
    },
}


def get_provider_info() -> dict[str, Any]:
    """Entry point for ``apache_airflow_provider``; declarative, so the UI needs no hook import."""
    return {
        "package-name": DISTRIBUTION,
        "name": "Medusa product sync",
        "description": "Hooks and operators that sync a product catalog into a Medusa v2 store.",
        "versions": [__version__],
        # The [medusa_sync] section, so ``airflow config list`` shows every key with its default.
        "config": provider_config(),
        "connection-types": [
            {
                "connection-type": "medusa",
                "hook-class-name": "medusa_sync.hooks.medusa.MedusaHook",
                "hook-name": "Medusa",
                "ui-field-behaviour": {
                    # The host holds the scheme and port; the Extra JSON stays for the aliases.
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {
                        "host": "Medusa base URL",
                        "login": "Admin email (leave empty with an API key)",
                        "password": "Secret API key (sk_…) or admin password",
                    },
                    "placeholders": {"host": "http://localhost:9000"},
                },
                "conn-fields": {
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "description": "How long to wait for each HTTP response before retrying.",
                        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 60},
                    },
                    **TRANSPORT_FIELDS,
                },
            },
            {
                # The source's own type, for its form: an ``http`` connection still works as before.
                "connection-type": "product_catalog",
                "hook-class-name": "medusa_sync.hooks.source.CatalogSourceHook",
                "hook-name": "Product catalog API",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema"],
                    "relabeling": {
                        "host": "Catalog base URL",
                        "login": "Login (HTTP Basic auth, optional)",
                        "password": "Password (HTTP Basic auth, optional)",
                    },
                    "placeholders": {"host": "https://dummyjson.com"},
                },
                "conn-fields": {
                    "source_format": {
                        "label": "Source format",
                        "description": "dummyjson, shopify (Shopify's products.json), or your adapter's "
                        "class path package.module:ClassName; empty = [medusa_sync] source_format.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "description": "How long to wait for each HTTP response before retrying.",
                        "schema": {"type": ["integer", "null"], "minimum": 1},
                    },
                    **TRANSPORT_FIELDS,
                },
            },
        ],
    }
