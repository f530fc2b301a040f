"""Sending one batch file: settled against the store, merged with what the merchant added, and the
items Medusa refuses isolated by splitting.

The decisions live here: which items are still to send (``store_state``), what each update carries
(``ownership``), which errors come from an item rather than the server, how a refused batch is
split. The store is reached through ``StoreClient``, which ``MedusaHook`` is; the unit tests give
it a store in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from medusa_sync.core.batch_outcome import BatchOutcome, describe
from medusa_sync.core.batching import Batch, Kind, item_id
from medusa_sync.core.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.core.mapping import is_draft_update
from medusa_sync.core.missing import Answer
from medusa_sync.core.ownership import (
    MERGE_FIELDS,
    SYNC_VARIANTS_KEY,
    VARIANT_MERGE_FIELDS,
    VariantDeletes,
    VariantWrites,
    is_shape_change,
    is_variant_payload,
    merge_update,
    merge_variant_update,
    to_one_variant,
    variant_image_links,
)
from medusa_sync.core.store_state import create_verdict, verdict
from medusa_sync.errors import MedusaApiError

log = logging.getLogger(__name__)


class StoreClient(Protocol):
    """What sending needs of the store: its products by id or external id, and the batch endpoint."""

    def list_products(
        self,
        *,
        fields: Sequence[str],
        external_ids: Sequence[str] | None = None,
        ids: Sequence[str] | None = None,
    ) -> Iterable[dict[str, Any]]: ...

    # The batch routes take ``create``, ``update`` and ``delete`` lists (``MedusaHook`` has them).
    def batch_products(self, **lists: Sequence[Any]) -> dict[str, Any]: ...

    def batch_product_options(self, product_id: str, **body: Any) -> dict[str, Any]: ...

    def link_image_variants(self, product_id: str, image_id: str, variant_ids: Sequence[str]) -> Any: ...

    def batch_product_variants(self, product_id: str, **lists: Sequence[Any]) -> dict[str, Any]: ...


# Without a decision of the plan (a batch file written outside the DAG): no variant is deleted.
NO_VARIANT_DELETES = VariantDeletes(False, "no plan decided about variants removed upstream")


def is_item_error(error: MedusaApiError) -> bool:
    """Errors that come from what is in the batch, not from the server's state: split, don't retry.

    413: the body is too large; 400 ``invalid_data``: an item Medusa refuses; 404 ``not_found``:
    an item names a product someone deleted since the plan (Medusa rolls the whole batch back).
    """
    return (
        error.status == 413
        or (error.status == 400 and error.type == "invalid_data")
        or (error.status == 404 and error.type == "not_found")
    )


@dataclass(frozen=True)
class Reproof:
    """Drafts and deletes are proven again at send time: the plan's 404 is too old to act on
    (``because`` says why: the batch is retried or cleared, or was planned too long ago).

    ``confirm`` is ``missing.confirm_absent`` bound to the source: given the products (an id and an
    external id each), the source's fresh answer for each; only ``absent`` (404 twice) is sent.
    """

    because: str
    confirm: Callable[[list[StoreProduct]], Iterable[tuple[StoreProduct, Answer]]]


def _acts_on_missing(kind: Kind, item: Any) -> bool:
    return kind == "delete" or (kind == "update" and is_draft_update(item))


class BatchSender:
    """Sends the batch files of one mapped instance, one at a time.

    Before a file is sent, the store state of its items is read in one request: an item whose
    product moved since the plan is superseded, one whose product is gone is not found, one an
    earlier attempt already wrote is resumed. On a retry, creates are looked up by external id too,
    so a commit followed by a crash never creates a product twice. The same read fetches each
    updated product's lists, and every update is merged with them, so the sync changes only what it
    owns (``ownership``).
    """

    def __init__(
        self,
        store: StoreClient,
        *,
        label: str = "",
        reproof: Reproof | None = None,
        variant_deletes: VariantDeletes = NO_VARIANT_DELETES,
    ) -> None:
        self.store = store
        self.label = label
        self.reproof = reproof
        self.variant_deletes = variant_deletes
        # The product batch's update of each product with variants whose options and variants
        # were written (``merge_variant_update``), by product id.
        self._product_writes: dict[str, dict[str, Any]] = {}
        # The variant counts of a product whose shape changes, counted once the product batch
        # that swaps its variants has written it: (the item, its writes), by product id.
        self._swaps: dict[str, tuple[dict[str, Any], VariantWrites]] = {}
        # The source's fresh answer for each draft or delete asked about (by product id).
        self._reproven: dict[str, Answer] = {}
        # The store's current products (with the merge fields) by id, from the latest read.
        self._held: dict[str, dict[str, Any]] = {}

    def send_file(self, batch: Batch, *, name: str, retry: bool, newer_run: str | None) -> BatchOutcome:
        """What became of each item of one batch file; nothing is sent once ``newer_run`` planned."""
        outcome = BatchOutcome()
        if newer_run is not None:
            outcome.supersede_all(batch, newer_run)
            log.warning(
                "%s (%s): run %s has planned against the store since this run: its %d items are "
                "superseded, none is sent",
                self.label,
                name,
                newer_run,
                len(batch),
            )
            return outcome
        log.info(
            "%s (%s): %d to create, %d to update, %d to delete%s",
            self.label,
            name,
            len(batch.create),
            len(batch.update),
            len(batch.delete),
            " (retry: looking for what an earlier attempt wrote)" if retry else "",
        )
        batch = self._settle(batch, outcome, lookup_creates=retry, retry=retry)
        batch = self._write_variants(batch, outcome)
        if len(batch):
            self._send(batch, outcome, retry=retry)
        _log_outcome(self.label, name, outcome)
        return outcome

    def _settle(self, batch: Batch, outcome: BatchOutcome, *, lookup_creates: bool, retry: bool) -> Batch:
        """Read the store state of the batch's items once; keep only the items still to send."""
        by_id = self._store_by_id(batch)
        by_external = self._store_by_external_id(batch) if lookup_creates else {}
        keep: list[tuple[Kind, Any]] = []
        for kind, item in batch.items():
            planned = batch.planned_for(kind, item)
            if kind == "create":
                current = by_external.get(item["external_id"])
                why = create_verdict(item, current)
            else:
                current = by_id.get(item_id(kind, item) or "")
                why = verdict(kind, item, planned, current)
            if why == "send":
                keep.append((kind, item))
            else:
                outcome.settle(kind, item, why, current, planned, retry=retry)
                log.info("%s %s: %s", kind, describe(kind, item, planned)["external_id"], why)
        return batch.subset(self._reprove(batch, keep, outcome))

    def _reprove(
        self, batch: Batch, items: list[tuple[Kind, Any]], outcome: BatchOutcome
    ) -> list[tuple[Kind, Any]]:
        """With a ``reproof``, the drafts and deletes still to send, each asked for again at the
        source: only those it answers 404 for again are kept; the others are superseded, with why."""
        if self.reproof is None:
            return items
        acting = [(kind, item) for kind, item in items if _acts_on_missing(kind, item)]
        unasked = {
            product_id: (batch.planned_for(kind, item) or {}).get("external_id") or ""
            for kind, item in acting
            if (product_id := item_id(kind, item)) and product_id not in self._reproven
        }
        if unasked:
            log.info(
                "%s: asking the source again for the %d product(s) to draft or delete (%s); only a "
                "fresh 404 lets one through",
                self.label,
                len(unasked),
                self.reproof.because,
            )
            asked = [
                StoreProduct(pid, external_id, None, None, None, None) for pid, external_id in unasked.items()
            ]
            self._reproven.update((p.id, answer) for p, answer in self.reproof.confirm(asked))
        kept = []
        for kind, item in items:
            answer = self._reproven.get(item_id(kind, item) or "") if _acts_on_missing(kind, item) else None
            if answer is None or answer.outcome == "absent":
                kept.append((kind, item))
                continue
            if answer.outcome == "found":
                reason = f"back upstream: the source has source id {answer.source_id} again ({answer.detail})"
            else:
                reason = f"not proven gone again ({self.reproof.because}): {answer.detail}"
            planned = batch.planned_for(kind, item)
            outcome.supersede_unproven(kind, item, planned, reason)
            log.warning("%s %s not sent: %s", kind, describe(kind, item, planned)["external_id"], reason)
        return kept

    def _store_by_id(self, batch: Batch) -> dict[str, StoreProduct]:
        ids = [i for kind, item in batch.items() if (i := item_id(kind, item))]
        if not ids:
            return {}
        # Only a batch with content updates pays for the lists (and the thumbnail, images and
        # variants the merge sorts into the sync's and the merchant's); drafts and deletes need none.
        merging = any("variants" in item for item in batch.update)
        fields = (*STORE_PRODUCT_FIELDS, *MERGE_FIELDS) if merging else STORE_PRODUCT_FIELDS
        if any(
            is_variant_payload(item)
            # A product planned without variants whose store product records the sync's variants
            # (its shape changed upstream: ``ownership.to_one_variant``).
            or SYNC_VARIANTS_KEY in (batch.planned_for("update", item) or {})
            for item in batch.update
        ):
            fields = (*fields, *VARIANT_MERGE_FIELDS)
        found = {p["id"]: p for p in self.store.list_products(fields=fields, ids=ids)}
        self._held.update(found)
        return {product_id: StoreProduct.from_api(p) for product_id, p in found.items()}

    def _store_by_external_id(self, batch: Batch) -> dict[str, StoreProduct]:
        if not batch.create:
            return {}
        wanted = [item["external_id"] for item in batch.create]
        found = self.store.list_products(fields=STORE_PRODUCT_FIELDS, external_ids=wanted)
        return {p.external_id: p for p in map(StoreProduct.from_api, found)}

    def body(self, batch: Batch) -> dict[str, list[Any]]:
        """The request: each update merged with the product as the store held it at the last read."""
        body = batch.body()
        body["update"] = [self._update_body(item) for item in body["update"]]
        return body

    def _update_body(self, item: dict[str, Any]) -> dict[str, Any]:
        """One update as sent: a product with variants as ``_write_variants`` left it (its own fields
        or hash), any other content update merged with the store, a draft as planned."""
        if item["id"] in self._product_writes:
            return self._product_writes[item["id"]]
        held = self._held.get(item["id"])
        return merge_update(item, held) if held is not None and "variants" in item else item

    def _write_variants(self, batch: Batch, outcome: BatchOutcome) -> Batch:
        """Write the options and variants of each product with variants to update, one product at a
        time through its own routes (``merge_variant_update``): first the options batch, then the
        variants batch, each only when it has something to write. The product's own update then
        goes with the product batch, last, so its hash says "in step" only once its variants are.

        A product whose write Medusa refuses (a sku another product's variant holds) is rejected
        with Medusa's reason, and its product update is not sent; the rest go on.
        """
        keep: list[tuple[Kind, Any]] = []
        for kind, item in batch.items():
            held = self._held.get(item["id"]) if kind == "update" else None
            if held is not None and is_shape_change(item, held):
                writes = to_one_variant(item, held, self.variant_deletes)
            elif held is not None and is_variant_payload(item):
                writes = merge_variant_update(item, held, self.variant_deletes)
            else:
                keep.append((kind, item))
                continue
            try:
                answer: dict[str, Any] = {}
                if writes.options:
                    outcome.counts["requests"] += 1
                    answer = self.store.batch_product_options(item["id"], **writes.options) or {}
                if writes.option_titles is not None:
                    # A shape change: its variants are swapped by the product batch, with the ids
                    # of the options the product keeps (known once the options batch answered).
                    assert writes.product is not None
                    writes.product["option_ids"] = _option_ids(writes.option_titles, held, answer)
                    self._swaps[item["id"]] = (item, writes)
                    self._product_writes[item["id"]] = writes.product
                    keep.append((kind, item))
                    continue
                if writes.variants:
                    outcome.counts["requests"] += 1
                    self.store.batch_product_variants(item["id"], **writes.variants)
            except MedusaApiError as error:
                if not is_item_error(error):
                    raise
                rejection = outcome.reject(batch.subset([(kind, item)]), error)
                log.warning("rejected %s: %s", rejection["external_id"] or item["id"], error.message)
                continue
            outcome.count_variants(
                item, writes.counts, writes.kept, writes.because or self.variant_deletes.because
            )
            if writes.product is None:  # the store holds the product's own fields and hash already
                outcome.counts["updated" if writes.options or writes.variants else "unchanged"] += 1
                continue
            self._product_writes[item["id"]] = writes.product
            keep.append((kind, item))
        return batch.subset(keep)

    def _send(self, batch: Batch, outcome: BatchOutcome, *, retry: bool, settled: bool = False) -> None:
        """Send; when Medusa refuses the batch for what is in it, look at the store again, then split."""
        outcome.counts["requests"] += 1
        try:
            response = self.store.batch_products(**self.body(batch))
        except MedusaApiError as error:
            if not is_item_error(error):
                raise
            self._isolate(batch, outcome, error, retry=retry, settled=settled)
            return
        outcome.count_sent(batch, response)
        for product in response.get("updated") or ():
            if swapped := self._swaps.pop(product.get("id"), None):
                item, writes = swapped
                outcome.count_variants(item, writes.counts, writes.kept, writes.because)
        self._link_variant_images(response, outcome)

    def _link_variant_images(self, response: dict[str, Any], outcome: BatchOutcome) -> None:
        """Give each of the sync's variants of the products just created or updated the image its
        source names, one request per image (``variant_image_links``, from the batch's answer:
        Medusa creates images with the product, so their ids are known only now). A link Medusa
        refuses costs that link, logged; the products stay written."""
        for product in [*(response.get("created") or ()), *(response.get("updated") or ())]:
            for image_id, variant_ids in variant_image_links(product):
                outcome.counts["requests"] += 1
                try:
                    self.store.link_image_variants(product["id"], image_id, variant_ids)
                except MedusaApiError as error:
                    if not is_item_error(error):
                        raise
                    log.warning(
                        "%s: image %s not linked to variants %s: %s",
                        product.get("external_id") or product["id"],
                        image_id,
                        ", ".join(variant_ids),
                        error.message,
                    )

    def _isolate(
        self, batch: Batch, outcome: BatchOutcome, error: MedusaApiError, *, retry: bool, settled: bool
    ) -> None:
        if not settled:
            # A product deleted since the plan, or a send whose answer was lost having committed
            # some creates ("handle already exists"): the store tells which, before any item is blamed.
            again = self._settle(batch, outcome, lookup_creates=bool(batch.create), retry=True)
            if again.body() != batch.body():
                if len(again):
                    self._send(again, outcome, retry=retry, settled=True)
                return
        if len(batch) == 1:
            rejection = outcome.reject(batch, error)
            log.warning("rejected %s: %s", rejection["external_id"] or rejection["product_id"], error.message)
            return
        log.info(
            "Medusa refused a batch of %d (%s): splitting it to isolate the cause", len(batch), error.status
        )
        for half in batch.halves():
            self._send(half, outcome, retry=retry, settled=True)


def _option_ids(titles: Sequence[str], held: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    """The ids of the product's options with these titles: as the options batch answered (the
    product with its options), else as the store held them before it."""
    by_title = {o.get("title"): o["id"] for o in held.get("options") or () if o and o.get("id")}
    by_title.update(
        (o.get("title"), o["id"])
        for o in (answer.get("product") or {}).get("options") or ()
        if o and o.get("id")
    )
    missing = [title for title in titles if title not in by_title]
    if missing:
        raise RuntimeError(
            f"product {held.get('id')}: no id for option(s) {', '.join(missing)} after adding them"
        )
    return [by_title[title] for title in titles]


def _log_outcome(label: str, name: str, outcome: BatchOutcome) -> None:
    c = outcome.counts
    log.info(
        "%s (%s) done: created %d, updated %d, unchanged %d, drafted %d, deleted %d (resumed %d), "
        "rejected %d, superseded %d, not found %d (%d requests)",
        label,
        name,
        c["created"],
        c["updated"],
        c["unchanged"],
        c["drafted"],
        c["deleted"],
        c["resumed"],
        len(outcome.rejected),
        len(outcome.superseded),
        len(outcome.not_found),
        c["requests"],
    )
