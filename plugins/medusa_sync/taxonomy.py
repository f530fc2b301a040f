"""What the products need to exist before they are written: categories and tags, from the pages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from medusa_sync.handles import slugify


def display_name(slug: str) -> str:
    """The source's own rule for category names: each dash-separated word capitalised."""
    return " ".join(word.capitalize() for word in slug.split("-") if word)


def needed_taxonomy(records: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """Categories and tags the records use, each once, in first-seen order."""
    categories: dict[str, None] = {}
    tags: dict[str, None] = {}
    for record in records:
        categories.setdefault(record["category"], None)
        for tag in record.get("tags") or ():
            tags.setdefault(tag, None)
    return list(categories), list(tags)


def category_handle(source_category: str) -> str:
    return slugify(source_category) or "uncategorized"
