"""Stage 2: make sure every category and tag the products need exists in Medusa."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from medusa_sync.core.mapping import category_namer, needed_taxonomy
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.hooks.taxonomy import TaxonomyMaker
from medusa_sync.operators.run_folder_operator import RunFolderOperator
from medusa_sync.params import RunParams
from medusa_sync.run_params import read as read_params
from medusa_sync.rundata.run_folder import RunFolder, read_json, read_optional_json, write_json


class SyncCategoriesOperator(RunFolderOperator):
    """Creates missing categories (matched by handle) and tags (matched by value).

    All or nothing per attempt: if anything fails, what this attempt created is deleted again
    before the task fails, so a retry starts from the store as it was. On most runs ``fetch_pages``
    has done this already, as it read the pages, and this task is skipped.

    :param run_folder: the run folder the fetch wrote (its ``run_folder`` XCom). Templated.
    :param medusa_conn_id: connection of the Medusa store.
    """

    ui_color = "#fff4e0"

    def execute(self, context: Context) -> dict[str, Any]:
        dry_run = read_params(RunParams, context["params"]).dry_run
        folder = RunFolder(str(self.run_folder))
        categories, tags = self._needed(folder)
        name_of = category_namer(read_json(folder.source_categories))
        maker = TaxonomyMaker(MedusaHook(medusa_conn_id=self.medusa_conn_id), create=not dry_run)
        maker.need({c: name_of(c) for c in categories}, tags)
        taxonomy = maker.finish()
        write_json(folder.taxonomy, taxonomy)
        self.log.info(
            "categories: %d needed, %d created, %d to create (dry run); tags: %d needed, %d created, "
            "%d to create (dry run)",
            len(categories),
            len(taxonomy["categories_created"]),
            len(taxonomy["categories_to_create"]),
            len(tags),
            len(taxonomy["tags_created"]),
            len(taxonomy["tags_to_create"]),
        )
        return {
            "categories_created": len(taxonomy["categories_created"]),
            "tags_created": len(taxonomy["tags_created"]),
        }

    def _needed(self, folder: RunFolder) -> tuple[list[str], list[str]]:
        """What the fetch gathered as it wrote the pages; a folder an earlier version's fetch
        wrote has no ``needed_taxonomy.json``, and its pages are read instead."""
        needs = read_optional_json(folder.needed_taxonomy)
        if needs is None:
            return needed_taxonomy(folder.records())
        return needs["categories"], needs["tags"]
