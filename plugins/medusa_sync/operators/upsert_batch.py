"""Stage 4 (mapped): send one batch file to Medusa, safely repeatable and never stale."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pendulum
from airflow.sdk import BaseOperator, Context

from medusa_sync.core.batch_outcome import COUNTED, LISTED
from medusa_sync.core.batch_sending import BatchSender, Reproof
from medusa_sync.core.batching import Batch
from medusa_sync.core.diff import StoreProduct
from medusa_sync.core.newest_plan import superseded_by
from medusa_sync.core.ownership import VariantDeletes
from medusa_sync.core.read_ahead import ReadAhead
from medusa_sync.hooks.medusa import MedusaHook
from medusa_sync.hooks.source import CatalogSourceHook
from medusa_sync.rundata.run_folder import RunFolder, read_json, read_optional_json, write_json
from medusa_sync.settings import load as load_settings

SUMMED = (*COUNTED, *LISTED)


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

    A draft or delete acts on a 404 the source gave when the run planned. Sent by a retried or
    cleared instance, or longer than ``[medusa_sync] missing_proof_max_age_minutes`` after the plan,
    that proof is stale: the product is asked for again (``core.missing.confirm_absent``, two 404s
    a pause apart) and one the source has again is superseded ("back upstream"), not sent.

    Updates carry only the sync's own list members; the same read also fetches each product's
    lists, images and variants (``ownership.MERGE_FIELDS``), and every send merges them in
    (``ownership.merge_update``): the sync replaces only what the product records as its own, so
    what a merchant added by hand survives. The sending itself is ``core.batch_sending``.

    :param batch_path: the first batch file of this instance (from ``compute_diff``). Templated.
    :param batch_count: how many batch files, from that one on, this instance sends. Templated.
    :param batch_label: what the instance is called in the UI (``map_index_template``), e.g.
        ``batches 1-25/50 · 5000 create``. Templated.
    :param medusa_conn_id: connection of the Medusa store.
    :param source_conn_id: connection of the source, asked again before a late draft or delete.
    :param external_id_prefix: prefix of the source id in ``external_id``; None takes the one
        this run's fetch decided.
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
        source_conn_id: str = CatalogSourceHook.default_conn_name,
        external_id_prefix: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch_path = batch_path
        self.batch_count = batch_count
        self.batch_label = batch_label
        self.medusa_conn_id = medusa_conn_id
        self.source_conn_id = source_conn_id
        # None: the prefix this run's fetch decided (``RunFolder.external_id_prefix``).
        self.external_id_prefix = external_id_prefix

    def execute(self, context: Context) -> dict[str, Any]:
        folder = RunFolder.of_file(self.batch_path)
        paths = folder.batch_group(self.batch_path, int(self.batch_count))
        self.external_id_prefix = self.external_id_prefix or folder.external_id_prefix()
        retry = int(context["ti"].try_number or 1) > 1
        sender = BatchSender(
            MedusaHook(medusa_conn_id=self.medusa_conn_id),
            label=self.batch_label,
            reproof=self._reproof(folder, retry),
            variant_deletes=self._variant_deletes(folder),
        )
        # When this run read the source; a batch written outside the DAG has no fetch to date it.
        fetched_at = folder.fetched_at()
        totals: Counter[str] = Counter()
        # The next file is read while this one is sent: Medusa is not kept waiting for the storage.
        with ReadAhead(lambda path: self._read(folder, path), 2, name="batch-file") as files:
            for n, path in enumerate(paths):
                finished, body = files.get(path, paths[n + 1 : n + 2])
                if finished is not None:  # an earlier attempt finished this file: its outcome stands
                    self.log.info("%s: finished by an earlier attempt, not sent again", path.name)
                    result = finished
                else:
                    result = {
                        "batch": str(path),
                        "batch_label": self.batch_label,
                        **sender.send_file(
                            Batch.from_file(body),
                            name=path.name,
                            retry=retry,
                            newer_run=self._newer_run(folder, context, fetched_at),
                        ).to_json(),
                    }
                    write_json(folder.result_for(path), result)
                totals.update(
                    {k: v if isinstance(v, int) else len(v) for k, v in result.items() if k in SUMMED}
                )
        return {"batch_label": self.batch_label, "files": len(paths), **{k: totals[k] for k in SUMMED}}

    @staticmethod
    def _read(folder: RunFolder, path: Any) -> tuple[dict[str, Any] | None, Any]:
        """A batch file's result, when an earlier attempt finished it, else its content."""
        result_path = folder.result_for(path)
        if result_path.exists():
            return read_json(result_path), None
        return None, read_json(path)

    def _newer_run(self, folder: RunFolder, context: Context, fetched_at: str | None) -> str | None:
        """The run whose newer plan supersedes this run's batches (read before each file)."""
        return superseded_by(folder.read_newest_plan(), context["run_id"], fetched_at)

    # -- steps -------------------------------------------------------------------------------------

    def _stale_plan(self, folder: RunFolder, now: datetime | None = None) -> str | None:
        """Why the plan's proofs are too old to act on (planned ``missing_proof_max_age_minutes``
        ago or longer), or None while they are fresh (or the plan time is unknown)."""
        settings = load_settings()
        planned_at = (read_optional_json(folder.plan) or {}).get("planned_at") or folder.fetched_at()
        if planned_at is None:
            self.log.warning("no plan time in the run folder: the age of its 404s is unknown")
            return None
        age = ((now or pendulum.now("UTC")) - datetime.fromisoformat(planned_at)).total_seconds() / 60
        if age < settings.missing_proof_max_age_minutes:
            return None
        limit = settings.missing_proof_max_age_minutes
        return f"planned {age:.0f} min ago, missing_proof_max_age_minutes={limit:g}"

    def _variant_deletes(self, folder: RunFolder, now: datetime | None = None) -> VariantDeletes:
        """Whether this instance deletes the sync's variants the source no longer has: as the plan
        decided (``planning.plan_variants``), and never once the plan is too old (kept, reported)."""
        decision = ((read_optional_json(folder.plan) or {}).get("variants") or {}).get("delete")
        return VariantDeletes.from_plan(decision, stale_because=self._stale_plan(folder, now))

    def _reproof(self, folder: RunFolder, retry: bool, now: datetime | None = None) -> Reproof | None:
        """How this instance proves its drafts and deletes again, or None when the plan's proof is
        fresh: a first try, within ``missing_proof_max_age_minutes`` of the plan."""
        settings = load_settings()
        because = ["a retried or cleared batch"] if retry else []
        if stale := self._stale_plan(folder, now):
            because.append(stale)
        if not because:
            return None
        source = CatalogSourceHook(source_conn_id=self.source_conn_id)

        def confirm(products: list[StoreProduct]) -> Any:
            return source.confirm_absent(
                products,
                prefix=self.external_id_prefix,
                listed_source_id=folder.first_source_id(),
                pause=settings.missing_recheck_pause_seconds,
            )

        return Reproof(because="; ".join(because), confirm=confirm)
