"""Stage 1b: read the store once, while the source is fetched, into the run folder."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from airflow.sdk import BaseOperator, Context

from medusa_sync import settings
from medusa_sync.core.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.errors import StoreMovedError
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.rundata.run_folder import RunFolder, default_storage_url, read_optional_json
from medusa_sync.rundata.store_snapshot import (
    STORE_DEFAULTS_KEY,
    STORE_PAGE_SIZE,
    STORE_READ_CONCURRENCY,
    StoreSnapshot,
    at_most,
    base_marker,
    changed_limit,
    changes_since,
    record_base,
)


class ReadStoreOperator(BaseOperator):
    """Writes the store as the diff needs it (a few fields of every product) into ``store/``, with
    the store's default sales channel and shipping profile when the run's params name neither.

    It needs nothing from the source, so it runs alongside ``fetch_pages``. It lists only the
    products updated since the previous run's read and merges them into that read, unless the
    whole store must be read (see ``store_snapshot``: a deletion, many changes, a full refresh,
    ``[medusa_sync] store_full_read_days``). ``compute_diff`` plans from it on its first try; a
    later try reads the store again.

    :param storage_url: where run folders live (``s3://bucket/prefix`` or a local path); empty
        means the default local folder. Templated.
    :param medusa_conn_id: connection of the Medusa store.
    :param page_size: products per page of the store's product list.
    :param concurrency: pages of the store's product list read at once.
    """

    template_fields = ("storage_url",)
    ui_color = "#eef7e8"

    def __init__(
        self,
        *,
        storage_url: str | None = None,
        medusa_conn_id: str = MedusaHook.default_conn_name,
        page_size: int = STORE_PAGE_SIZE,
        concurrency: int = STORE_READ_CONCURRENCY,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.storage_url = storage_url
        self.medusa_conn_id = medusa_conn_id
        self.page_size = page_size
        self.concurrency = concurrency

    def execute(self, context: Context) -> dict[str, Any]:
        storage = (self.storage_url or "").strip() or default_storage_url()
        folder = RunFolder.for_run(storage, context["dag"].dag_id, context["run_id"])
        snapshot = StoreSnapshot(folder)
        ti = context["ti"]
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)
        started = time.monotonic()
        count, now = hook.product_count_at()
        marker = {
            "task": ti.task_id,
            "try_number": ti.try_number,
            "hostname": socket.gethostname(),
            "read_started": now.isoformat() if now else None,
        }
        params = context["params"]
        if not params.get("sales_channel_id") and not params.get("shipping_profile_id"):
            # What compute_diff's first try gives new products without asking Medusa itself. A run
            # whose params name either is left to compute_diff, which asks only for what they leave.
            marker[STORE_DEFAULTS_KEY] = hook.store_defaults().to_json()
        base = read_optional_json(base_marker(folder))
        if base is not None and base.get("folder") == folder.url:
            base = None  # this run's own earlier attempt: its pages are about to be replaced
        since, why = changes_since(
            base,
            now,
            full_read_days=settings.load().store_full_read_days,
            # Params read as given here; the Params themselves are validated by fetch_pages beside it.
            full_refresh=bool(params.get("full_refresh")),
        )
        summary = None
        if since is not None and base is not None:
            self.log.info("reading only what changed: %s", why)
            summary = self._read_changes(hook, snapshot, base, since, count, marker)
        else:
            self.log.info("reading the whole store: %s", why)
        if summary is None:
            summary = self._read_whole(hook, snapshot, {**marker, "full_read_at": marker["read_started"]})
        record_base(folder, summary, context["run_id"])
        self.log.info(
            "store read in %.1f s: %d products in %d pages (%s)",
            time.monotonic() - started,
            summary["products"],
            summary["pages"],
            summary["read"],
        )
        return {"products": summary["products"], "pages": summary["pages"]}

    def _read_whole(
        self, hook: MedusaHook, snapshot: StoreSnapshot, marker: dict[str, Any]
    ) -> dict[str, Any]:
        def write(listing: Iterator[dict[str, Any]]) -> dict[str, Any] | None:
            # Started over on each read, so an earlier attempt's or a moved read's pages never mix in.
            snapshot.start(marker)
            return snapshot.write(
                map(StoreProduct.from_api, listing), self.page_size, {**marker, "read": "whole"}
            )

        summary = hook.read_all_products(
            write, fields=STORE_PRODUCT_FIELDS, page_size=self.page_size, concurrency=self.concurrency
        )
        assert summary is not None  # no expected count: always a summary
        return summary

    def _read_changes(
        self,
        hook: MedusaHook,
        snapshot: StoreSnapshot,
        base: dict[str, Any],
        since: datetime,
        count: int,
        marker: dict[str, Any],
    ) -> dict[str, Any] | None:
        """The base snapshot with the products updated since ``since`` merged in; None (and the
        reason logged) when the whole store must be read instead: too many changes, a store that
        kept moving under every repeat of this read, or a merge that does not add up."""
        limit = changed_limit(base)
        try:
            changed = hook.read_all_products(
                lambda listing: at_most(map(StoreProduct.from_api, listing), limit),
                fields=STORE_PRODUCT_FIELDS,
                page_size=self.page_size,
                concurrency=self.concurrency,
                updated_since=since,
            )
        except StoreMovedError as moved:
            # Edits made during the read add products to an ``updated_since`` listing and shift its
            # pages, so a store a merchant keeps editing moves every repeat of it. A whole read
            # lists every product whatever its updated_at: edits never move it, only deletions do.
            self.log.warning(
                "the store kept moving under the read of what changed (%s): reading the whole store instead",
                moved.message,
            )
            return None
        if changed is None:
            self.log.info("over %d products changed: reading the whole store instead", limit)
            return None
        snapshot.start(marker)
        return snapshot.merge_into(base, changed, since, self.page_size, marker, expect=count)
