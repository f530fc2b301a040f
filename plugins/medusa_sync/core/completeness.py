"""Did the fetch see the whole catalog? Only a fetch that can prove it may draft or delete.

A source glitch (a CDN answering 200 with empty pages, a page cut short, a catalog that shifted
while it was paged) looks exactly like products vanishing upstream. The audit collects every
reason to doubt the fetch; a fetch with any reason is *partial*, and a partial fetch never treats
a product as missing upstream. Pure: the hook reports pages, the audit judges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

MAX_IDS_NAMED = 5


@dataclass
class FetchAudit:
    """Feed it every page as it is read, then ``finish`` with the ids that came twice."""

    max_products: int | None = None
    first_total: int | None = None
    read: int = 0
    reasons: list[str] = field(default_factory=list)
    _pages: int = 0
    _last_total: int | None = None

    def page(self, *, skip: int, limit: int, count: int, total: int | None, error: str | None = None) -> None:
        """One page: asked for ``limit`` records at ``skip``, got ``count``; ``total`` as it said."""
        self._pages += 1
        self.read += count
        if error:
            self.reasons.append(f"page at skip={skip} (up to {limit} records) failed: {error}")
            return
        if total is None:
            if self.first_total is None and self._pages == 1:
                self.reasons.append("the source did not say how many products it has (no 'total')")
            return
        if self.first_total is None:
            self.first_total = total
        elif total != self._last_total:
            self.reasons.append(f"total changed from {self._last_total} to {total} at skip={skip}")
        self._last_total = total
        before_total = skip + count < min(total, self._cap(total))
        if count == 0 and before_total:
            self.reasons.append(f"page at skip={skip} came back empty before the total of {total}")
        elif count < limit and before_total:
            self.reasons.append(
                f"page at skip={skip} came back with {count} of {limit} records before the total of {total}"
            )

    def finish(self, repeated_ids: Sequence[int] = ()) -> list[str]:
        """Every reason the fetch may have missed products; empty means it provably saw them all."""
        reasons = list(self.reasons)
        if self.max_products is not None:
            reasons.insert(0, f"max_products is set ({self.max_products}): only part of the catalog was read")
        elif self.first_total is not None and self.read != self.first_total:
            reasons.append(f"read {self.read} records but the source's total is {self.first_total}")
        if repeated_ids:
            unique = list(dict.fromkeys(repeated_ids))
            named = ", ".join(str(i) for i in unique[:MAX_IDS_NAMED])
            if len(unique) > MAX_IDS_NAMED:
                named += f" and {len(unique) - MAX_IDS_NAMED} more"
            reasons.append(
                f"{len(unique)} id(s) came more than once ({named}): the catalog moved under the paging"
            )
        return reasons

    def _cap(self, total: int) -> int:
        return total if self.max_products is None else min(total, self.max_products)
