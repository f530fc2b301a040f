"""Provider metadata: the only way Airflow 3 learns about a custom connection type and its form."""

from __future__ import annotations

from typing import Any

from medusa_sync import __version__
from medusa_sync.settings import provider_config

DISTRIBUTION = "medusa-product-sync"


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
                    "hidden-fields": ["schema", "port", "extra"],
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
                },
            },
        ],
    }
