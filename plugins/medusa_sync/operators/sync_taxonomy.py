"""Stage 2: make sure every category and tag the products need exists in Medusa."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from medusa_sync.core.mapping import category_handle, display_name, needed_taxonomy
from medusa_sync.hooks._http import create_concurrently
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.run_params import RunParams
from medusa_sync.rundata.run_folder import RunFolder, read_json, read_optional_json, write_json


class SyncTaxonomyOperator(BaseOperator):
    """Creates missing categories (matched by handle) and tags (matched by value).

    All or nothing per attempt: if anything fails, what this attempt created is deleted again
    before the task fails, so a retry starts from the store as it was.
    """

    template_fields = ("run_folder",)
    ui_color = "#fff4e0"

    def __init__(
        self,
        *,
        run_folder: str,
        medusa_conn_id: str = MedusaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_folder = run_folder
        self.medusa_conn_id = medusa_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        dry_run = RunParams.of(context["params"]).dry_run
        folder = RunFolder(self.run_folder)
        categories, tags = self._needed(folder)
        names = {c["slug"]: c["name"] for c in read_json(folder.source_categories)}
        hook = MedusaHook(medusa_conn_id=self.medusa_conn_id)

        category_ids = {c["handle"]: c["id"] for c in hook.list_categories()}
        tag_ids = {t["value"]: t["id"] for t in hook.list_tags()}
        wanted = {} if dry_run else {category_handle(c): names.get(c) or display_name(c) for c in categories}
        new_categories = {h: name for h, name in wanted.items() if h not in category_ids}
        new_tags = [] if dry_run else [t for t in tags if t not in tag_ids]
        created_categories, created_tags = self._create(hook, new_categories, new_tags)
        category_ids.update({c["handle"]: c["id"] for c in created_categories})
        tag_ids.update({t["value"]: t["id"] for t in created_tags})

        taxonomy = taxonomy_file(
            categories,
            tags,
            category_ids,
            tag_ids,
            created_categories=[c["handle"] for c in created_categories],
            created_tags=[t["value"] for t in created_tags],
        )
        write_json(folder.taxonomy, taxonomy)
        self.log.info(
            "categories: %d needed, %d created, %d to create (dry run); tags: %d needed, %d created",
            len(categories),
            len(created_categories),
            len(taxonomy["categories_to_create"]),
            len(tags),
            len(created_tags),
        )
        return {
            "categories_created": len(created_categories),
            "tags_created": len(created_tags),
        }

    def _needed(self, folder: RunFolder) -> tuple[list[str], list[str]]:
        """What the fetch gathered as it wrote the pages; a folder an earlier version's fetch
        wrote has no ``needed_taxonomy.json``, and its pages are read instead."""
        needs = read_optional_json(folder.needed_taxonomy)
        if needs is None:
            return needed_taxonomy(folder.records())
        return needs["categories"], needs["tags"]

    def _create(
        self, hook: MedusaHook, categories: dict[str, str], tags: list[str]
    ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """Create the categories (handle -> name), then the tags; all or nothing per attempt."""
        made, error = create_concurrently(
            lambda handle: hook.create_category(name=categories[handle], handle=handle), list(categories)
        )
        created_categories = [{"handle": h, "id": m["id"]} for h, m in made.items()]
        created_tags: list[dict[str, str]] = []
        if error is None:
            made_tags, error = create_concurrently(hook.create_tag, tags)
            created_tags = [{"value": t, "id": m["id"]} for t, m in made_tags.items()]
        if error is not None:
            self._roll_back(hook, created_categories, created_tags)
            raise error
        for category in created_categories:
            self.log.info("created category %r (%s)", categories[category["handle"]], category["handle"])
        return created_categories, created_tags

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


def taxonomy_file(
    categories: Sequence[str],
    tags: Sequence[str],
    category_ids: Mapping[str, str],
    tag_ids: Mapping[str, str],
    *,
    created_categories: Sequence[str] = (),
    created_tags: Sequence[str] = (),
) -> dict[str, Any]:
    """``taxonomy.json``: the ids ``compute_diff`` maps with (source category -> id, tag -> id) and
    the counts the report shows. ``category_ids`` is by Medusa handle and ``tag_ids`` by value,
    both including what this attempt created (``created_*``, handles and values)."""
    handles = {c: category_handle(c) for c in categories}
    missing = [c for c in categories if handles[c] not in category_ids]
    return {
        "categories": {c: category_ids[h] for c, h in handles.items() if h in category_ids},
        "tags": {t: tag_ids[t] for t in tags if t in tag_ids},
        "categories_created": sorted(created_categories),
        "categories_existing": len(categories) - len(missing) - len(created_categories),
        "categories_to_create": missing,
        "tags_created": list(created_tags),
        "tags_existing": sum(1 for t in tags if t in tag_ids) - len(created_tags),
    }


def existing_taxonomy(
    hook: MedusaHook, categories: Sequence[str], tags: Sequence[str]
) -> dict[str, Any] | None:
    """``taxonomy.json`` when every category and tag the records need is in the store already
    (then there is nothing for ``sync_categories`` to do), else None. Two lists, filtered to what
    is needed: the common day, when the source brought no new category or tag."""
    handles = [category_handle(c) for c in categories]
    category_ids = {
        c["handle"]: c["id"] for c in hook.list_categories(handles=handles, fields=("id", "handle"))
    }
    if any(h not in category_ids for h in handles):
        return None
    tag_ids = {t["value"]: t["id"] for t in hook.list_tags(values=tags)}
    if any(t not in tag_ids for t in tags):
        return None
    return taxonomy_file(categories, tags, category_ids, tag_ids)
