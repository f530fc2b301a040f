"""Stage 4 (mapped): send one batch file to Medusa, safely repeatable."""

from __future__ import annotations

from collections import Counter
from typing import Any

from airflow.sdk import BaseOperator, Context

from medusa_sync.batching import Batch
from medusa_sync.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.errors import MedusaApiError
from medusa_sync.fingerprint import HASH_KEY
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.mapping import as_update, is_draft_update
from medusa_sync.storage import RunFolder, read_json, write_json


def _is_item_error(error: MedusaApiError) -> bool:
    """Errors that come from what is in the batch, not from the server's state: split, don't retry."""
    return error.status == 413 or (error.status == 400 and error.type == "invalid_data")


class UpsertBatchOperator(BaseOperator):
    """Creates and updates the products of one batch file and writes its result file.

    At least once is all Airflow promises, so the batch is made idempotent: creates whose external
    id already exists (an earlier attempt committed, then died) become updates, or nothing at all
    when the stored hash already matches. Items Medusa refuses are isolated by splitting the batch
    and reported; transient errors fail the instance so it is retried or cleared.
    """

    template_fields = ("batch_path", "batch_label")
    ui_color = "#f3e8ff"

    def __init__(
        self,
        *,
        batch_path: str,
        batch_label: str = "",
        medusa_conn_id: str = MedusaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch_path = batch_path
        self.batch_label = batch_label
        self.medusa_conn_id = medusa_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)
        batch = Batch.from_body(read_json(self.batch_path))
        self.log.info(
            "%s: %d to create, %d to update, %d to delete",
            self.batch_label or self.batch_path,
            len(batch.create),
            len(batch.update),
            len(batch.delete),
        )
        counts: Counter[str] = Counter()
        batch = self._resume(hook, batch, counts)
        rejected: list[dict[str, Any]] = []
        if len(batch):
            self._send(hook, batch, counts, rejected)
        result = {
            "batch": self.batch_path,
            "batch_label": self.batch_label,
            **{k: counts[k] for k in ("created", "updated", "unchanged", "drafted", "deleted", "requests")},
            "rejected": rejected,
        }
        write_json(RunFolder.of_file(self.batch_path).result_for(self.batch_path), result)
        self.log.info(
            "%s done: created %d, updated %d, unchanged %d, drafted %d, deleted %d, rejected %d "
            "(%d requests)",
            self.batch_label,
            counts["created"],
            counts["updated"],
            counts["unchanged"],
            counts["drafted"],
            counts["deleted"],
            len(rejected),
            counts["requests"],
        )
        return {k: v for k, v in result.items() if k != "rejected"} | {"rejected": len(rejected)}

    def _resume(self, hook: MedusaHook, batch: Batch, counts: Counter[str]) -> Batch:
        """Turn creates that already exist in the store into updates, or drop them if in step."""
        if not batch.create:
            return batch
        wanted = [item["external_id"] for item in batch.create]
        found = {
            p.external_id: p
            for p in map(
                StoreProduct.from_api, hook.list_products(fields=STORE_PRODUCT_FIELDS, external_ids=wanted)
            )
        }
        if not found:
            return batch
        resumed = Batch()
        for item in batch.create:
            existing = found.get(item["external_id"])
            if existing is None:
                resumed.add("create", item)
            elif existing.sync_hash == item["metadata"][HASH_KEY]:
                counts["unchanged"] += 1
            else:
                resumed.add("update", as_update(item, existing.id, existing.variant_id))
        for kind in ("update", "delete"):
            for item in getattr(batch, kind):
                resumed.add(kind, item)
        self.log.info(
            "%d of %d creates were already in the store (an earlier attempt committed them)",
            len(found),
            len(batch.create),
        )
        return resumed

    def _send(
        self,
        hook: MedusaHook,
        batch: Batch,
        counts: Counter[str],
        rejected: list[dict[str, Any]],
        *,
        resumed: bool = False,
    ) -> None:
        counts["requests"] += 1
        try:
            response = hook.batch_products(**batch.body())
        except MedusaApiError as error:
            if not _is_item_error(error):
                raise
            if batch.create and not resumed:
                # A send whose answer was lost may have committed some creates ("handle already
                # exists"): look at the store again before blaming any item.
                again = self._resume(hook, batch, counts)
                if again.body() != batch.body():
                    self._send(hook, again, counts, rejected, resumed=True)
                    return
            if len(batch) == 1:
                rejected.append(_rejection(batch, error))
                self.log.warning("rejected %s: %s", rejected[-1]["external_id"], error.message)
                return
            self.log.info(
                "Medusa refused a batch of %d (%s): splitting it to isolate the cause",
                len(batch),
                error.status,
            )
            for half in batch.halves():
                self._send(hook, half, counts, rejected, resumed=True)
            return
        counts["created"] += len(response.get("created", []))
        drafted = sum(1 for item in batch.update if is_draft_update(item))
        counts["drafted"] += drafted
        counts["updated"] += len(response.get("updated", [])) - drafted
        counts["deleted"] += len((response.get("deleted") or {}).get("ids", []))


def _rejection(batch: Batch, error: MedusaApiError) -> dict[str, Any]:
    item: Any = (batch.create or batch.update or batch.delete)[0]
    external_id = item.get("external_id") if isinstance(item, dict) else None
    product_id = item.get("id") if isinstance(item, dict) else item
    source_id = external_id.split(":", 1)[-1] if external_id else None
    return {
        "source_id": source_id,
        "external_id": external_id,
        "product_id": product_id,
        "status": error.status,
        "type": error.type,
        "message": error.message,
    }
