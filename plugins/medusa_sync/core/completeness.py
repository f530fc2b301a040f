"""Did the fetch see the whole catalog? Only a fetch that can prove it may draft or delete.

A source glitch (a CDN answering 200 with empty pages, a page cut short, a catalog that shifted
while it was paged) looks exactly like products vanishing upstream. Offset pages (``page``) are
judged against the total the source states; numbered pages and next links (``numbered_page``),
which state none, against the end they show: an empty page, or a page without a next link.
The audit collects every reason to doubt the fetch; a fetch with any reason is *partial*, and a
partial fetch never treats a product as missing upstream. Pure: the hook reports pages, the audit judges them.
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
    # Numbered pages and next links: the source's page size (the first page's, when it serves
    # fewer than asked), the first empty or short page, whether the last page showed the end.
    _paged_by: str | None = None
    _size: int | None = None
    _gap: str | None = None
    _ended: bool = False
    _last_page: int = 0

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

    def numbered_page(
        self, *, number: int, limit: int, count: int, has_next: bool | None = None, error: str | None = None
    ) -> None:
        """Page ``number`` (1-based) of a feed that states no total: asked for ``limit`` records, got
        ``count``. ``has_next``: None for pages by number (the end is an empty page), else whether
        the page linked a next one (the end is a page without).

        By number, a page with records after an empty or short one means records may have been
        skipped (a glitch, or the catalog moving); along links, a page short of the page size that
        still links a next one does. The page size is the first page's when it has fewer than
        ``limit`` records (the source's own cap, as Shopify's 250): a later page with more shows
        the first one was cut short.
        """
        self._pages += 1
        self.read += count
        self._last_page = number
        self._paged_by = "page" if has_next is None else "link"
        if error:
            self.reasons.append(f"page {number} (up to {limit} records) failed: {error}")
            self._ended = False
            return
        if self._size is None:
            self._size = count if 0 < count < limit else limit
        size = self._size
        if count > size:
            self.reasons.append(
                f"page {number} came back with {count} records, the first page with {size}: "
                "the first page was cut short"
            )
        shown = "empty" if count == 0 else f"with {count} of {size} records"
        if has_next is None:
            if count and self._gap is not None:
                self.reasons.append(
                    f"page {number} has records after {self._gap}: records may have been skipped"
                )
                self._gap = None
            if count < size and self._gap is None:
                self._gap = f"page {number} came back {shown}"
            self._ended = count == 0
        else:
            if has_next and count < size:
                self.reasons.append(f"page {number} came back {shown} but links a next page")
            self._ended = not has_next

    def finish(self, repeated_ids: Sequence[int] = ()) -> list[str]:
        """Every reason the fetch may have missed products; empty means it provably saw them all."""
        reasons = list(self.reasons)
        if self.max_products is not None:
            reasons.insert(0, f"max_products is set ({self.max_products}): only part of the catalog was read")
        elif self._paged_by is not None and not self._ended:
            reasons.append(
                f"paging stopped at page {self._last_page} before the end of the catalog showed "
                + ("(an empty page)" if self._paged_by == "page" else "(a page without a next link)")
            )
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
