"""Stage 3: compare the desired catalog with the store and write the batches to send."""

from __future__ import annotations

from collections import Counter
from typing import Any

from airflow.sdk import BaseOperator, Context

from medusa_sync.batching import DEFAULT_MAX_BYTES, Batch, BatchBuilder
from medusa_sync.diff import STORE_PRODUCT_FIELDS, StoreIndex, classify
from medusa_sync.handles import HandleAllocator
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.mapping import (
    DEFAULT_EXTERNAL_ID_PREFIX,
    MappingContext,
    as_create,
    as_update,
    desired_product,
    draft_update,
)
from medusa_sync.models import BatchDescriptor, SourceProduct
from medusa_sync.storage import RunFolder, read_json, write_json

ON_MISSING = ("ignore", "draft", "delete")


class ComputeDiffOperator(BaseOperator):
    """Lists the store once, then streams the pages: map, hash, classify, batch.

    Returns the batch descriptors that ``upsert_batch`` is mapped over (none on a dry run).
    """

    template_fields = (
        "run_folder",
        "dry_run",
        "full_refresh",
        "batch_size",
        "on_missing",
        "product_status",
        "currency_code",
        "sales_channel_id",
    )
    ui_color = "#eef7e8"

    def __init__(
        self,
        *,
        run_folder: str,
        medusa_conn_id: str = MedusaHook.default_conn_name,
        dry_run: bool = False,
        full_refresh: bool = False,
        batch_size: int = 200,
        max_batch_bytes: int = DEFAULT_MAX_BYTES,
        on_missing: str = "ignore",
        product_status: str = "published",
        currency_code: str = "usd",
        sales_channel_id: str | None = None,
        external_id_prefix: str = DEFAULT_EXTERNAL_ID_PREFIX,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_folder = run_folder
        self.medusa_conn_id = medusa_conn_id
        self.dry_run = dry_run
        self.full_refresh = full_refresh
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self.on_missing = on_missing
        self.product_status = product_status
        self.currency_code = currency_code
        self.sales_channel_id = sales_channel_id
        self.external_id_prefix = external_id_prefix

    def execute(self, context: Context) -> list[dict[str, str]]:
        if self.on_missing not in ON_MISSING:
            raise ValueError(f"on_missing must be one of {', '.join(ON_MISSING)}, got {self.on_missing!r}")
        folder = RunFolder(self.run_folder)
        for stale in [*folder.batches(), *folder.results()]:  # a rerun replans from scratch
            stale.unlink()
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)
        taxonomy = read_json(folder.taxonomy)
        ctx = MappingContext(
            currency_code=str(self.currency_code).lower(),
            status=self.product_status,
            sales_channel_id=self.sales_channel_id or hook.default_sales_channel_id(),
            category_ids=taxonomy["categories"],
            tag_ids=taxonomy["tags"],
            external_id_prefix=self.external_id_prefix,
        )
        index = StoreIndex.build(
            hook.list_products(fields=STORE_PRODUCT_FIELDS), prefix=ctx.external_id_prefix
        )
        self.log.info(
            "store holds %d products of this sync and %d handles in all", len(index.ours), len(index.handles)
        )
        for external_id, ids in index.duplicated.items():
            self.log.error(
                "external id %s is on %d products (%s): only %s is kept in step",
                external_id,
                len(ids),
                ", ".join(ids),
                ids[0],
            )

        allocator = HandleAllocator(index.handles)
        builder = BatchBuilder(max_items=int(self.batch_size), max_bytes=self.max_batch_bytes)
        written: list[tuple[str, Counter[str]]] = []
        counts: Counter[str] = Counter()

        def emit(batch: Batch | None) -> None:
            if batch is None:
                return
            path = folder.batch(len(written) + 1)
            write_json(path, batch.body())
            kinds = Counter(create=len(batch.create), update=len(batch.update), delete=len(batch.delete))
            written.append((str(path), kinds))

        seen = {ctx.external_id(q["source_id"]) for q in read_json(folder.quarantine) if q["source_id"]}
        for page in folder.pages():
            for record in read_json(page):
                product = SourceProduct.model_validate(record)
                desired = desired_product(product, ctx)
                existing = index.ours.get(desired["external_id"])
                seen.add(desired["external_id"])
                action = classify(desired, existing, full_refresh=bool(self.full_refresh))
                counts[action] += 1
                if action == "create":
                    handle = allocator.allocate(product.title, fallback=f"product-{product.id}")
                    emit(builder.add("create", as_create(desired, handle)))
                elif action == "update":
                    emit(builder.add("update", as_update(desired, existing.id, existing.variant_id)))

        fetch = read_json(folder.root / "fetch.json")
        missing = [] if fetch.get("partial") else index.missing_upstream(seen)
        if fetch.get("partial"):
            self.log.warning(
                "the fetch did not see the whole catalog (%s): no product is treated as missing upstream",
                "; ".join(fetch.get("incomplete_because", [])),
            )
        for product in missing:
            if self.on_missing == "draft" and product.status != "draft":
                emit(builder.add("update", draft_update(product.id)))
            elif self.on_missing == "delete":
                emit(builder.add("delete", product.id))
        emit(builder.flush())

        total = len(written)
        descriptors = [
            BatchDescriptor(batch_path=path, batch_label=_label(n, total, kinds)).model_dump()
            for n, (path, kinds) in enumerate(written, start=1)
        ]
        plan = {
            "create": counts["create"],
            "update": counts["update"],
            "unchanged": counts["unchanged"],
            "missing_upstream": len(missing),
            "missing": [{"external_id": p.external_id, "id": p.id} for p in missing],
            "on_missing": self.on_missing,
            "dry_run": bool(self.dry_run),
            "batches": [] if self.dry_run else descriptors,
            "batches_planned": total,
            "duplicated_external_ids": index.duplicated,
        }
        write_json(folder.plan, plan)
        self.log.info(
            "plan: %d to create, %d to update, %d unchanged, %d missing upstream (%s) in %d batches",
            plan["create"],
            plan["update"],
            plan["unchanged"],
            len(missing),
            self.on_missing,
            total,
        )
        if self.dry_run:
            self.log.info("dry run: no batch will be sent")
            return []
        return descriptors


def _label(number: int, total: int, kinds: Counter[str]) -> str:
    parts = [f"{n} {kind}" for kind, n in kinds.items() if n]
    return f"batch {number}/{total} · {' · '.join(parts)}"
