"""Sending one batch file: settled against the store, merged with what the merchant added, and the
items Medusa refuses isolated by splitting.

The decisions live here: which items are still to send (``store_state``), what each update carries
(``ownership``), which errors come from an item rather than the server, how a refused batch is
split. The store is reached through ``StoreClient``, which ``MedusaHook`` is; the unit tests give
it a store in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from medusa_sync.core.batch_outcome import BatchOutcome, describe
from medusa_sync.core.batching import Batch, Kind, item_id
from medusa_sync.core.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.core.ownership import MERGE_FIELDS, merge_update
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

    def batch_products(
        self,
        *,
        create: Sequence[dict[str, Any]] = (),
        update: Sequence[dict[str, Any]] = (),
        delete: Sequence[str] = (),
    ) -> dict[str, Any]: ...


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


class BatchSender:
    """Sends the batch files of one mapped instance, one at a time.

    Before a file is sent, the store state of its items is read in one request: an item whose
    product moved since the plan is superseded, one whose product is gone is not found, one an
    earlier attempt already wrote is resumed. On a retry, creates are looked up by external id too,
    so a commit followed by a crash never creates a product twice. The same read fetches each
    updated product's lists, and every update is merged with them, so the sync changes only what it
    owns (``ownership``).
    """

    def __init__(self, store: StoreClient, *, label: str = "") -> None:
        self.store = store
        self.label = label
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
        return batch.subset(keep)

    def _store_by_id(self, batch: Batch) -> dict[str, StoreProduct]:
        ids = [i for kind, item in batch.items() if (i := item_id(kind, item))]
        if not ids:
            return {}
        # Only a batch with content updates pays for the lists (and the thumbnail, images and
        # variants the merge sorts into the sync's and the merchant's); drafts and deletes need none.
        merging = any("variants" in item for item in batch.update)
        fields = (*STORE_PRODUCT_FIELDS, *MERGE_FIELDS) if merging else STORE_PRODUCT_FIELDS
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
        body["update"] = [
            merge_update(item, held)
            if (held := self._held.get(item["id"])) is not None and "variants" in item
            else item
            for item in body["update"]
        ]
        return body

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
