"""Content hash of a product's desired state, kept in Medusa metadata to skip unchanged products."""

from __future__ import annotations

import hashlib
import json
from typing import Any

HASH_KEY = "sync_hash"
# Bump when the mapping changes meaning, so every product is rewritten once with the new mapping.
# 2: products carry a shipping profile and record the categories and tags the sync wrote; the one
# rewrite after an upgrade gives every product synced by version 1 both, so it can be shipped.
MAPPING_VERSION = "2"


def content_hash(payload: dict[str, Any]) -> str:
    """Stable across key order and runs; the handle is excluded because it is set once and kept."""
    material = {k: v for k, v in payload.items() if k != "handle"}
    metadata = {k: v for k, v in (material.get("metadata") or {}).items() if k != HASH_KEY}
    material["metadata"] = metadata
    text = json.dumps([MAPPING_VERSION, material], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
