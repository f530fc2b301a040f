"""Stage 1: page through the source catalog into the run folder, quarantining bad records."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator, Context

from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.storage import RunFolder, default_storage_url, write_json
from medusa_sync.validation import Validator


class SourceCatalogEmpty(Exception):
    """Nothing usable came from the source: syncing would only risk the store."""


class FetchPagesOperator(BaseOperator):
    """Writes one file of valid records per source page, so memory holds one page at a time.

    Returns only the run folder and counts; the records stay in storage.
    """

    template_fields = ("storage_url", "page_size", "max_products")
    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        source_conn_id: str = CatalogSourceHook.default_conn_name,
        storage_url: str | None = None,
        page_size: int = 100,
        max_products: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_conn_id = source_conn_id
        self.storage_url = storage_url
        self.page_size = page_size
        self.max_products = max_products

    def execute(self, context: Context) -> dict[str, Any]:
        page_size = int(self.page_size)
        max_products = int(self.max_products) if self.max_products not in (None, "") else None
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        folder = RunFolder.for_run(
            self.storage_url or default_storage_url(), context["dag"].dag_id, context["run_id"]
        )
        # Published first, so the report can find the folder even if fetching fails.
        context["ti"].xcom_push(key="run_folder", value=folder.url)
        for stale in folder.pages():  # a retry must not keep pages of an earlier attempt
            stale.unlink()

        hook = CatalogSourceHook(source_conn_id=self.source_conn_id)
        validator = Validator()
        fetched = valid = 0
        quarantine: list[dict[str, Any]] = []
        # Why the fetch may not have seen the whole catalog; then nothing is treated as missing.
        incomplete: list[str] = ["max_products is set"] if max_products is not None else []
        pages = 0
        for pages, page in enumerate(
            hook.iter_pages(page_size=page_size, max_products=max_products), start=1
        ):
            if page.get("error"):
                reason = f"page at skip={page['skip']} (up to {page['limit']} records): {page['error']}"
                quarantine.append({"source_id": None, "reason": reason})
                incomplete.append(reason)
                self.log.warning("page %d could not be used: %s", pages, reason)
            if page.get("total_changed"):
                incomplete.append(page["total_changed"])
                self.log.warning("the source changed during the fetch: %s", page["total_changed"])
            good, bad = validator.validate(page["products"])
            write_json(folder.page(pages), [p.model_dump(mode="json") for p in good])
            fetched += len(page["products"])
            valid += len(good)
            quarantine.extend(q.model_dump() for q in bad)
            self.log.info(
                "page %d: %d records (%d of %s fetched), %d quarantined",
                pages,
                len(page["products"]),
                fetched,
                page.get("total"),
                len(bad),
            )
        for item in quarantine:
            self.log.warning("quarantined source id %s: %s", item["source_id"], item["reason"])
        write_json(folder.quarantine, quarantine)
        if valid == 0:
            raise SourceCatalogEmpty(
                f"the source gave no valid product ({fetched} records, {len(quarantine)} quarantined); "
                "refusing to sync an empty catalog, see quarantine.json in the run folder"
            )
        write_json(folder.source_categories, hook.categories())
        summary = {
            "run_folder": folder.url,
            "pages": pages,
            "fetched": fetched,
            "valid": valid,
            "quarantined": len(quarantine),
            "partial": bool(incomplete),
            "incomplete_because": incomplete,
        }
        write_json(folder.root / "fetch.json", summary)
        self.log.info(
            "fetched %d records in %d pages: %d valid, %d quarantined", fetched, pages, valid, len(quarantine)
        )
        return summary
