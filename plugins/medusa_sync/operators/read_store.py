"""Stage 1b: read the store once, while the source is fetched, into the run folder."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

from airflow.sdk import BaseOperator, Context

from medusa_sync.core.diff import STORE_PRODUCT_FIELDS, StoreProduct
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.rundata.run_folder import RunFolder, default_storage_url
from medusa_sync.rundata.store_snapshot import StoreSnapshot

# Medusa pays a fixed cost per list request, so fewer, larger pages are what make the read fast.
# Measured on a 10,000-product store, one client: pages of 500 4.1 s, 1,000 3.1 s, 2,000 2.4 s,
# 5,000 2.2 s. 2,000 keeps a page near 1 MB of JSON. More pages in flight did not help against a
# local Medusa and would take more than the one request per pool slot the other tasks keep to;
# raise ``concurrency`` for a Medusa far away on the network.
STORE_PAGE_SIZE = 2000
STORE_READ_CONCURRENCY = 1


class ReadStoreOperator(BaseOperator):
    """Lists every product of the store (the few fields the diff needs) into ``store/``.

    It needs nothing from the source, so it runs alongside ``fetch_pages`` and the store read,
    most of an unchanged run, costs no time of its own. ``compute_diff`` plans from it on its
    first try; a later try reads the store again (see ``store_snapshot``).
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
        snapshot = StoreSnapshot(RunFolder.for_run(storage, context["dag"].dag_id, context["run_id"]))
        ti = context["ti"]
        marker = {"task": ti.task_id, "try_number": ti.try_number, "hostname": socket.gethostname()}
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)
        started = time.monotonic()

        def write(listing: Iterator[dict[str, Any]]) -> dict[str, Any]:
            # Started over on each read, so an earlier attempt's or a moved read's pages never mix in.
            snapshot.start(marker)
            return snapshot.write(map(StoreProduct.from_api, listing), self.page_size, marker)

        summary = hook.read_all_products(
            write, fields=STORE_PRODUCT_FIELDS, page_size=self.page_size, concurrency=self.concurrency
        )
        self.log.info(
            "store read in %.1f s: %d products in %d pages",
            time.monotonic() - started,
            summary["products"],
            summary["pages"],
        )
        return {"products": summary["products"], "pages": summary["pages"]}
