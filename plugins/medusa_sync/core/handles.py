"""Handle allocation: a URL-safe, unique handle per new product, chosen once and then kept.

Medusa accepts lowercase ASCII words joined by single dashes; titles can hold anything, including
only emoji, so every title must still yield a valid handle.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

MAX_HANDLE_LENGTH = 120
# How many colliding bases remember their next free suffix. Forgetting one costs only speed (its
# next allocation probes from -1 again), never a wrong handle, so memory stays bounded.
MAX_REMEMBERED_BASES = 100_000
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, max_length: int = MAX_HANDLE_LENGTH) -> str:
    """Lowercase ASCII words joined by dashes; empty when the text has no Latin letters or digits."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rstrip("-")
    return slug


class TakenHandles(Protocol):
    def __contains__(self, handle: object) -> bool: ...
    def add(self, handle: str) -> None: ...


class ClaimableHandles(TakenHandles, Protocol):
    """Taken handles that can take a free one in the same step they check it (the store index's
    ``HandleSet``: one statement instead of a lookup and an insert)."""

    def claim(self, handle: str) -> bool: ...


class HandleAllocator:
    """Hands out handles that are free in the store and among the products allocated so far.

    ``taken`` holds every handle already in the store (ours and everyone else's), so a handle a
    hand-made product holds is never taken from it. Allocated handles are added to it: for a large
    store it is the store index's on-disk ``HandleSet``, not a copy in memory.
    """

    def __init__(self, taken: TakenHandles | ClaimableHandles | None = None) -> None:
        self._taken: TakenHandles = taken if taken is not None else set()
        self._claim: Callable[[str], bool] = getattr(self._taken, "claim", self._claim_if_free)
        self._next_suffix: OrderedDict[str, int] = OrderedDict()

    def _claim_if_free(self, handle: str) -> bool:
        if handle in self._taken:
            return False
        self._taken.add(handle)
        return True

    def reserve(self, handle: str) -> None:
        self._taken.add(handle)

    def allocate(self, title: str, *, fallback: str) -> str:
        """The title's slug, or the first free ``<slug>-<n>``.

        Each colliding base remembers where its search stopped, so a title shared by many products
        (a marketplace's thousands of "Phone Case") costs a probe or two per product instead of one
        per earlier namesake, which made a first sync quadratic in the number of namesakes.
        """
        base = slugify(title) or slugify(fallback)
        if self._claim(base):
            return base
        n = self._next_suffix.pop(base, 1)
        while not self._claim(candidate := f"{base}-{n}"):  # held by the store or another base's product
            n += 1
        self._next_suffix[base] = n + 1
        if len(self._next_suffix) > MAX_REMEMBERED_BASES:
            self._next_suffix.popitem(last=False)  # the least recently colliding base
        return candidate
