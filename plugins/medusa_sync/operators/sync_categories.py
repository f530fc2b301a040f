"""Stage 2: make sure every category and tag the products need exists in Medusa."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator, Context

from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.param_values import as_bool
from medusa_sync.storage import RunFolder, read_json, write_json
from medusa_sync.taxonomy import category_handle, display_name, needed_taxonomy


def _records(folder: RunFolder):
    for page in folder.pages():
        yield from read_json(page)


class SyncCategoriesOperator(BaseOperator):
    """Creates missing categories (matched by handle) and tags (matched by value).

    All or nothing per attempt: if anything fails, what this attempt created is deleted again
    before the task fails, so a retry starts from the store as it was.
    """

    template_fields = ("run_folder", "dry_run")
    ui_color = "#fff4e0"

    def __init__(
        self,
        *,
        run_folder: str,
        medusa_conn_id: str = MedusaHook.default_conn_name,
        dry_run: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_folder = run_folder
        self.medusa_conn_id = medusa_conn_id
        self.dry_run = dry_run

    def execute(self, context: Context) -> dict[str, Any]:
        self.dry_run = as_bool("dry_run", self.dry_run)
        folder = RunFolder(self.run_folder)
        categories, tags = needed_taxonomy(_records(folder))
        names = {c["slug"]: c["name"] for c in read_json(folder.source_categories)}
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)

        category_ids = {c["handle"]: c["id"] for c in hook.list_categories()}
        tag_ids = {t["value"]: t["id"] for t in hook.list_tags()}
        created_categories: list[dict[str, str]] = []
        created_tags: list[dict[str, str]] = []
        try:
            for category in categories:
                handle = category_handle(category)
                if handle in category_ids or self.dry_run:
                    continue
                made = hook.create_category(name=names.get(category) or display_name(category), handle=handle)
                category_ids[handle] = made["id"]
                created_categories.append({"handle": handle, "id": made["id"]})
                self.log.info("created category %r (%s)", made.get("name"), handle)
            for tag in tags:
                if tag in tag_ids or self.dry_run:
                    continue
                made = hook.create_tag(tag)
                tag_ids[tag] = made["id"]
                created_tags.append({"value": tag, "id": made["id"]})
        except Exception:
            self._roll_back(hook, created_categories, created_tags)
            raise

        created_handles = {c["handle"] for c in created_categories}
        handles = {c: category_handle(c) for c in categories}
        missing = [c for c in categories if handles[c] not in category_ids]
        taxonomy = {
            "categories": {c: category_ids[h] for c, h in handles.items() if h in category_ids},
            "tags": {t: tag_ids[t] for t in tags if t in tag_ids},
            "categories_created": sorted(created_handles),
            "categories_existing": len(categories) - len(missing) - len(created_handles),
            "categories_to_create": missing,
            "tags_created": [t["value"] for t in created_tags],
            "tags_existing": sum(1 for t in tags if t in tag_ids) - len(created_tags),
        }
        write_json(folder.taxonomy, taxonomy)
        self.log.info(
            "categories: %d needed, %d created, %d to create (dry run); tags: %d needed, %d created",
            len(categories),
            len(created_categories),
            len(missing),
            len(tags),
            len(created_tags),
        )
        return {
            "categories_created": len(created_categories),
            "tags_created": len(created_tags),
        }

    def _roll_back(
        self, hook: MedusaHook, categories: list[dict[str, str]], tags: list[dict[str, str]]
    ) -> None:
        self.log.error(
            "category sync failed: deleting the %d categories and %d tags this attempt created",
            len(categories),
            len(tags),
        )
        for category in reversed(categories):
            try:
                hook.delete_category(category["id"])
            except Exception:  # keep deleting the rest; the original error is what matters
                self.log.exception("could not delete category %s", category["handle"])
        for tag in reversed(tags):
            try:
                hook.delete_tag(tag["id"])
            except Exception:
                self.log.exception("could not delete tag %r", tag["value"])
