"""Stage 4 (mapped): send one batch file to Medusa, safely repeatable and never stale."""

from __future__ import annotations

from collections import Counter
from typing import Any

from airflow.sdk import BaseOperator, Context

from medusa_sync.core.batch_outcome import COUNTED, LISTED, BatchOutcome, describe
from medusa_sync.core.batching import Batch, Kind, item_id
from medusa_sync.core.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.core.newest_plan import superseded_by
from medusa_sync.core.ownership import MERGE_FIELDS, merge_update
from medusa_sync.core.param_values import as_int
from medusa_sync.core.store_state import create_verdict, verdict
from medusa_sync.errors import MedusaApiError
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.rundata.run_folder import RunFolder, read_json, write_json

SUMMED = (*COUNTED, *LISTED)


def _is_item_error(error: MedusaApiError) -> bool:
    """Errors that come from what is in the batch, not from the server's state: split, don't retry.

    413: the body is too large; 400 ``invalid_data``: an item Medusa refuses; 404 ``not_found``:
    an item names a product someone deleted since the plan (Medusa rolls the whole batch back).
    """
    return (
        error.status == 413
        or (error.status == 400 and error.type == "invalid_data")
        or (error.status == 404 and error.type == "not_found")
    )


class UpsertBatchOperator(BaseOperator):
    """Creates, updates, drafts and deletes the products of its batch files, in order; writes a
    result file per batch file.

    Before sending a file, it reads the DAG's newest-plan marker: once a newer run has planned,
    every item of the file is *superseded* by it and nothing is sent (``newest_plan``). Otherwise
    it reads the store state of its items in one request: an item whose
    product moved since the plan is *superseded* (not written), one whose product is gone is *not
    found*, one already written by an earlier attempt is *resumed*. On a retry it also looks up its
    creates by external id, so a commit followed by a crash never creates a product twice, and it
    skips the files an earlier attempt finished (their result file is there). Items Medusa refuses
    are isolated by splitting the batch and reported; transient errors fail the instance so it is
    retried or cleared.

    Updates carry only the sync's own list members; the same read also fetches each product's
    lists (``ownership.MERGE_FIELDS``), and every send merges them in (``ownership.merge_update``),
    so what a merchant added by hand survives.
    """

    template_fields = ("batch_path", "batch_count", "batch_label")
    ui_color = "#f3e8ff"

    def __init__(
        self,
        *,
        batch_path: str,
        batch_count: int | str = 1,
        batch_label: str = "",
        medusa_conn_id: str = MedusaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch_path = batch_path
        self.batch_count = batch_count
        self.batch_label = batch_label
        self.medusa_conn_id = medusa_conn_id
        # The store's current products (with the merge fields) by id, from the latest read.
        self._held: dict[str, dict[str, Any]] = {}
        self._owned: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())

    def execute(self, context: Context) -> dict[str, Any]:
        folder = RunFolder.of_file(self.batch_path)
        self._owned = self._owned_taxonomy(folder)
        paths = folder.batch_group(self.batch_path, as_int("batch_count", self.batch_count, minimum=1))
        retry = int(context["ti"].try_number or 1) > 1
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)
        # When this run read the source; a batch written outside the DAG has no fetch to date it.
        fetched_at = read_json(folder.fetch).get("started_at") if folder.fetch.exists() else None
        totals: Counter[str] = Counter()
        for path in paths:
            result_path = folder.result_for(path)
            if result_path.exists():  # an earlier attempt finished this file: its outcome stands
                self.log.info("%s: finished by an earlier attempt, not sent again", path.name)
                result = read_json(result_path)
            else:
                result = {
                    "batch": str(path),
                    "batch_label": self.batch_label,
                    **self._send_file(hook, path, retry, self._newer_run(folder, context, fetched_at)),
                }
                write_json(result_path, result)
            totals.update({k: v if isinstance(v, int) else len(v) for k, v in result.items() if k in SUMMED})
        return {"batch_label": self.batch_label, "files": len(paths), **{k: totals[k] for k in SUMMED}}

    def _newer_run(self, folder: RunFolder, context: Context, fetched_at: str | None) -> str | None:
        """The run whose newer plan supersedes this run's batches (read before each file)."""
        return superseded_by(folder.read_newest_plan(), context["run_id"], fetched_at)

    def _send_file(self, hook: MedusaHook, path: Any, retry: bool, newer_run: str | None) -> dict[str, Any]:
        batch = Batch.from_file(read_json(path))
        if newer_run is not None:
            outcome = BatchOutcome()
            outcome.supersede_all(batch, newer_run)
            self.log.warning(
                "%s (%s): run %s has planned against the store since this run: its %d items are "
                "superseded, none is sent",
                self.batch_label,
                path.name,
                newer_run,
                len(batch),
            )
            return outcome.to_json()
        self.log.info(
            "%s (%s): %d to create, %d to update, %d to delete%s",
            self.batch_label,
            path.name,
            len(batch.create),
            len(batch.update),
            len(batch.delete),
            " (retry: looking for what an earlier attempt wrote)" if retry else "",
        )
        outcome = BatchOutcome()
        batch = self._settle(hook, batch, outcome, lookup_creates=retry, retry=retry)
        if len(batch):
            self._send(hook, batch, outcome, retry=retry)
        self._log_outcome(path.name, outcome)
        return outcome.to_json()

    # -- steps -------------------------------------------------------------------------------------

    def _settle(
        self, hook: MedusaHook, batch: Batch, outcome: BatchOutcome, *, lookup_creates: bool, retry: bool
    ) -> Batch:
        """Read the store state of the batch's items once; keep only the items still to send."""
        by_id = self._store_by_id(hook, batch)
        by_external = self._store_by_external_id(hook, batch) if lookup_creates else {}
        keep: list[tuple[Kind, Any]] = []
        for kind, item in batch.items():
            if kind == "create":
                current = by_external.get(item["external_id"])
                why = create_verdict(item, current)
            else:
                current = by_id.get(item_id(kind, item) or "")
                why = verdict(kind, item, batch.planned_for(kind, item), current)
            if why == "send":
                keep.append((kind, item))
            else:
                outcome.settle(kind, item, why, current, batch.planned_for(kind, item), retry=retry)
                self.log.info(
                    "%s %s: %s",
                    kind,
                    describe(kind, item, batch.planned_for(kind, item))["external_id"],
                    why,
                )
        return batch.subset(keep)

    def _owned_taxonomy(self, folder: RunFolder) -> tuple[frozenset[str], frozenset[str]]:
        """The ids of the categories and tags the sync owns: those of the source, this run.

        Without ``taxonomy.json`` (a batch written by something other than this DAG), only the ids
        each product records in its metadata count as the sync's.
        """
        if not folder.taxonomy.exists():
            self.log.warning("no taxonomy.json: only the categories and tags products record are owned")
            return frozenset(), frozenset()
        taxonomy = read_json(folder.taxonomy)
        return frozenset(taxonomy["categories"].values()), frozenset(taxonomy["tags"].values())

    def _store_by_id(self, hook: MedusaHook, batch: Batch) -> dict[str, StoreProduct]:
        ids = [i for kind, item in batch.items() if (i := item_id(kind, item))]
        if not ids:
            return {}
        # Only a batch with content updates pays for the lists; drafts and deletes need none.
        merging = any("variants" in item for item in batch.update)
        fields = (*STORE_PRODUCT_FIELDS, *MERGE_FIELDS) if merging else STORE_PRODUCT_FIELDS
        found = {p["id"]: p for p in hook.list_products(fields=fields, ids=ids)}
        self._held.update(found)
        return {product_id: StoreProduct.from_api(p) for product_id, p in found.items()}

    def _body(self, batch: Batch) -> dict[str, list[Any]]:
        """The request: each update merged with the product as the store held it at the last read."""
        categories, tags = self._owned
        body = batch.body()
        body["update"] = [
            merge_update(item, held, owned_categories=categories, owned_tags=tags)
            if (held := self._held.get(item["id"])) is not None and "variants" in item
            else item
            for item in body["update"]
        ]
        return body

    def _store_by_external_id(self, hook: MedusaHook, batch: Batch) -> dict[str, StoreProduct]:
        if not batch.create:
            return {}
        wanted = [item["external_id"] for item in batch.create]
        found = map(
            StoreProduct.from_api, hook.list_products(fields=STORE_PRODUCT_FIELDS, external_ids=wanted)
        )
        return {p.external_id: p for p in found}

    def _send(
        self, hook: MedusaHook, batch: Batch, outcome: BatchOutcome, *, retry: bool, settled: bool = False
    ) -> None:
        """Send; when Medusa refuses the batch for what is in it, look at the store again, then split."""
        outcome.counts["requests"] += 1
        try:
            response = hook.batch_products(**self._body(batch))
        except MedusaApiError as error:
            if not _is_item_error(error):
                raise
            self._isolate(hook, batch, outcome, error, retry=retry, settled=settled)
            return
        outcome.count_sent(batch, response)

    def _isolate(
        self,
        hook: MedusaHook,
        batch: Batch,
        outcome: BatchOutcome,
        error: MedusaApiError,
        *,
        retry: bool,
        settled: bool,
    ) -> None:
        if not settled:
            # A product deleted since the plan, or a send whose answer was lost having committed
            # some creates ("handle already exists"): the store tells which, before any item is blamed.
            again = self._settle(hook, batch, outcome, lookup_creates=bool(batch.create), retry=True)
            if again.body() != batch.body():
                if len(again):
                    self._send(hook, again, outcome, retry=retry, settled=True)
                return
        if len(batch) == 1:
            rejection = outcome.reject(batch, error)
            self.log.warning(
                "rejected %s: %s", rejection["external_id"] or rejection["product_id"], error.message
            )
            return
        self.log.info(
            "Medusa refused a batch of %d (%s): splitting it to isolate the cause", len(batch), error.status
        )
        for half in batch.halves():
            self._send(hook, half, outcome, retry=retry, settled=True)

    def _log_outcome(self, name: str, outcome: BatchOutcome) -> None:
        c = outcome.counts
        self.log.info(
            "%s (%s) done: created %d, updated %d, unchanged %d, drafted %d, deleted %d (resumed %d), "
            "rejected %d, superseded %d, not found %d (%d requests)",
            self.batch_label,
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
