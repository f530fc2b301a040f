"""Stage 5: merge what every stage left in the run folder into the run report."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

import pendulum
from airflow.sdk import Asset, AssetAlias, BaseOperator, Context
from airflow.sdk.observability import stats

from medusa_sync import names
from medusa_sync.core.report import (
    MAX_LISTED,
    METRIC_PREFIX,
    build_report,
    catalog_event_extra,
    run_metrics,
    summary,
)
from medusa_sync.rundata.run_folder import RunFolder, read_optional_json, write_json
from medusa_sync.ui.report_link import SyncReportLink


class SyncReportFailed(Exception):
    """The run did not fully land, or the deletion guard held it; the report says why."""


class SyncReportOperator(BaseOperator):
    """Writes ``report.json``, logs a readable summary, and fails the run when it did not fully land.

    Runs whatever happened upstream (trigger rule ``all_done``). It judges the run by this run's
    own task states (read through the task SDK), so a run cleared from ``fetch_pages`` whose fetch
    then fails ends failed even though an earlier attempt's files say otherwise. Counts come only
    from the result files of batch instances that succeeded in this run.

    :param run_folder: the run folder the fetch wrote (its ``run_folder`` XCom). Templated.
    :param batch_task_id: the mapped upsert task whose result files the report counts.
    :param catalog_asset_name: name of the asset emitted, through the task's ``AssetAlias``
        outlet, when the run changed the catalog; None emits none.
    :param catalog_asset_uri: that asset's URI.
    """

    template_fields = ("run_folder",)
    ui_color = "#f0f0f0"
    operator_extra_links = (SyncReportLink(),)

    def __init__(
        self,
        *,
        run_folder: str | None,
        batch_task_id: str = names.UPSERT_BATCH,
        catalog_asset_name: str | None = None,
        catalog_asset_uri: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.run_folder = run_folder
        self.batch_task_id = batch_task_id
        self.catalog_asset_name = catalog_asset_name
        self.catalog_asset_uri = catalog_asset_uri

    @cached_property
    def catalog_asset(self) -> Asset | None:
        """The asset a run that changed the store emits, built when it is first needed.

        Building an ``Asset`` checks its URI against the URI handlers of every installed provider,
        which loads them all (the Amazon provider brings boto3): a cost every task of the DAG would
        pay when it parses the DAG file, for what only this task uses, and only on a run that changed
        something.
        """
        if self.catalog_asset_name is None or self.catalog_asset_uri is None:
            return None
        return Asset(name=self.catalog_asset_name, uri=self.catalog_asset_uri)

    def execute(self, context: Context) -> dict[str, Any]:
        states = self._task_states(context)
        # In the DAG's order, so the first failed stage (the cause) comes before what it held up.
        stages = {
            task: states.get(task)
            for task in context["dag"].task_ids
            if task in states and task != self.task_id and task != self.batch_task_id
        }
        # The template renders what fetch_pages recorded, or "None" when it never started.
        if str(self.run_folder or "None").strip() in ("", "None"):
            raise SyncReportFailed(
                f"{names.FETCH_PAGES} never started: there is no run folder to report on ({stages})"
            )
        folder = RunFolder(self.run_folder)
        plan = read_optional_json(folder.plan) if stages.get(names.COMPUTE_DIFF) == "success" else None
        start = context["dag_run"].start_date
        report = build_report(
            dag_id=context["dag"].dag_id,
            run_id=context["run_id"],
            params=context["params"],
            fetch=read_optional_json(folder.fetch) if stages.get(names.FETCH_PAGES) == "success" else None,
            quarantine=list(folder.quarantined(limit=MAX_LISTED)),
            taxonomy=read_optional_json(folder.taxonomy)
            # Skipped by the fetch when everything existed: the fetch wrote it then.
            if stages.get(names.SYNC_CATEGORIES) in ("success", "skipped")
            else None,
            plan=plan,
            results=folder.landed_results(
                plan, lambda index: states.get(f"{self.batch_task_id}_{index}") == "success"
            ),
            duration_seconds=(pendulum.now("UTC") - start).total_seconds() if start else None,
            stage_states=stages,
            stock=read_optional_json(folder.stock) if stages.get(names.SYNC_STOCK) == "success" else None,
        )
        write_json(folder.report, report)
        self._emit_metrics(report)
        self.log.info("report written to %s\n%s", folder.report, summary(report))
        self.log.info(
            "report json: %s", json.dumps({k: report[k] for k in ("status", "source", "products", "batches")})
        )
        if report["status"] != "success":
            raise SyncReportFailed("the sync did not fully land: " + "; ".join(report["failed_because"]))
        self._announce(context, report)
        return {
            "report": str(folder.report),
            **{
                k: report["products"][k]
                for k in ("created", "updated", "unchanged", "rejected", "superseded")
            },
        }

    def _emit_metrics(self, report: dict[str, Any]) -> None:
        """The run's counts through Airflow's metrics (StatsD or OpenTelemetry, per ``[metrics]``)."""
        counts, duration_ms = run_metrics(report)
        tags = {"dag_id": report["dag_id"]}
        try:
            for name, count in counts.items():
                stats.incr(name, count, tags=tags)
            if duration_ms is not None:
                stats.timing(f"{METRIC_PREFIX}.run.duration", duration_ms, tags=tags)
        except Exception as error:  # a metrics backend never decides whether a run landed
            self.log.warning("run metrics not sent: %s: %s", type(error).__name__, error)

    def _announce(self, context: Context, report: dict[str, Any]) -> None:
        """Emit the catalog asset, with the counts, through the alias outlet when the store changed."""
        alias = next((o for o in self.outlets if isinstance(o, AssetAlias)), None)
        if alias is None or self.catalog_asset_name is None:
            return
        extra = catalog_event_extra(report)
        if extra is None:
            self.log.info("no asset event: %s", "dry run" if report.get("dry_run") else "nothing changed")
            return
        # Only now: building the asset loads every provider's URI handlers (see ``catalog_asset``).
        if (asset := self.catalog_asset) is None:
            return
        context["outlet_events"][alias].add(asset, extra=extra)
        self.log.info("asset event %s: %s", asset.name, json.dumps(extra))

    def _task_states(self, context: Context) -> dict[str, str | None]:
        """``{task_id or "<task_id>_<map index>": state}`` for every task instance of this run."""
        by_run = context["ti"].get_task_states(dag_id=context["dag"].dag_id, run_ids=[context["run_id"]])
        return dict(by_run.get(context["run_id"], {}))
