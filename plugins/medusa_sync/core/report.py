"""The run report: what the run fetched, planned and changed, in one JSON document and a summary.

The verdict comes from this run's own task states, never from files alone: files an earlier
attempt left may describe another attempt, while a task state is what Airflow ran this time.
Counts come from the result files of the batches that succeeded in this run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from medusa_sync.core.batch_outcome import ACTIONS, LISTED
from medusa_sync.core.batch_outcome import COUNTED as BATCH_COUNTED
from medusa_sync.core.ownership import VARIANT_COUNTS

# What a batch result counts, less its request count (a cost, not a product outcome).
COUNTED = tuple(key for key in BATCH_COUNTED if key != "requests")
MAX_LINES_PER_LIST = 20
# Entries kept of each per-product list of the plan and the report (quarantined, rejected,
# superseded, not found, missing upstream): the count beside each list is exact. A run that
# rejects a million products reports a million, lists the first thousand, and keeps every one
# in its batch result files (the quarantine in ``quarantine/``), so no report grows with the catalog.
MAX_LISTED = 1000


def merge_results(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One instance's result from the results of its batch files: counts added, lists joined up to
    ``MAX_LISTED`` each, with their whole lengths in ``listed``."""
    merged: dict[str, Any] = {key: 0 for key in COUNTED} | {key: [] for key in LISTED}
    listed = dict.fromkeys(LISTED, 0)
    for result in results:
        for key in COUNTED:
            merged[key] += result.get(key, 0)
        for key in LISTED:
            items = result.get(key, [])
            merged[key] += list(items[: MAX_LISTED - len(merged[key])])
            listed[key] += listed_count(result, key)
    merged["listed"] = listed
    return merged


def listed_count(result: Mapping[str, Any], key: str) -> int:
    """How many ``key`` items a batch or instance result has (its list may be cut short)."""
    return result.get("listed", {}).get(key, len(result.get(key, [])))


def failed_stages(stage_states: Mapping[str, str | None]) -> list[str]:
    """Stages (unmapped tasks) that did not succeed in this run, as ``"task: state"``. A stage that
    skipped itself (``sync_stock`` with ``sync_inventory`` off) was not needed; upstream failures
    show as ``upstream_failed``, never as skipped."""
    return [
        f"{task}: {state or 'not run'}"
        for task, state in stage_states.items()
        if state not in ("success", "skipped")
    ]


def build_report(
    *,
    dag_id: str,
    run_id: str,
    params: Mapping[str, Any],
    fetch: Mapping[str, Any] | None,
    quarantine: Sequence[Mapping[str, Any]],
    taxonomy: Mapping[str, Any] | None,
    plan: Mapping[str, Any] | None,
    results: Mapping[str, Mapping[str, Any] | None] | Iterable[tuple[str, Mapping[str, Any] | None]],
    duration_seconds: float | None,
    stage_states: Mapping[str, str | None] | None = None,
    stock: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``results`` gives each planned batch label with its result, or None when it did not succeed
    in this run, read once and in order (``RunFolder.landed_results`` reads them one instance at
    a time); ``stage_states`` maps the other upstream tasks to their state in this run.
    ``quarantine`` is the first of the quarantined records (``fetch`` counts them all)."""
    plan = plan or {}
    pairs = results.items() if isinstance(results, Mapping) else results
    products, lists, failed, lines = _merge_results(plan, pairs)
    variants = _variants(products, plan)
    products["missing_upstream"] = plan.get("missing_upstream", 0)
    products["on_missing"] = plan.get("on_missing")
    products["missing_action"] = plan.get("missing_action")
    guard = plan.get("guard")
    dry_run = bool(plan.get("dry_run", params.get("dry_run")))
    because = failed_stages(stage_states or {})
    if failed:
        because.append(f"{len(failed)} batch(es) did not land: {', '.join(failed)}")
    if guard and not guard.get("allowed") and not dry_run:
        because.append(f"deletion guard: {guard['reason']}; nothing was drafted or deleted")
    variant_guard = (plan.get("variants") or {}).get("guard")
    if variant_guard and not variant_guard.get("allowed") and not dry_run:
        because.append(f"variant deletion guard: {variant_guard['reason']}; no variant was deleted")
    if not plan and not because:
        because.append("no plan: compute_diff did not finish")
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "status": "failed" if because else "success",
        "failed_because": because,
        "dry_run": dry_run,
        "full_refresh": bool(params.get("full_refresh")),
        "duration_seconds": None if duration_seconds is None else round(duration_seconds, 1),
        "source": _source(fetch, quarantine, plan),
        "categories": {
            "created": len((taxonomy or {}).get("categories_created", [])),
            "existing": (taxonomy or {}).get("categories_existing", 0),
        },
        "tags": {
            "created": len((taxonomy or {}).get("tags_created", [])),
            "existing": (taxonomy or {}).get("tags_existing", 0),
        },
        "planned": {key: plan.get(key, 0) for key in ("create", "update", "unchanged", "missing_upstream")},
        "products": products,
        # The variants of products with variants (a one-variant product is counted as a product).
        "variants": variants,
        "guard": guard,
        "batches": {
            "total": len(lines),
            "succeeded": len(lines) - len(failed),
            "failed": failed,
            "results": lines,
        },
        # What sync_stock did (None when inventory is not synced, or it did not succeed).
        "stock": dict(stock) if stock is not None else None,
        "quarantine": list(quarantine)[:MAX_LISTED],
        **lists,
        "duplicated_external_ids": plan.get("duplicated_external_ids", {}),
        # Missing from the fetch yet answered by the source by id: the paging missed them.
        "found_upstream": list(plan.get("found_upstream", [])),
        # New products not created, and why (no shipping profile): None when none was held back.
        "held_back": plan.get("held_back"),
    }


def batch_line(label: str, result: Mapping[str, Any] | None) -> dict[str, Any]:
    """One batch instance's line: its label, whether it landed, and its counts. The report page
    shows these, so the batch a failure names can be found and cleared."""
    line: dict[str, Any] = {"label": label, "landed": result is not None}
    if result is not None:
        line |= {key: result.get(key, 0) for key in COUNTED}
        line |= {key: listed_count(result, key) for key in LISTED}
    return line


def _merge_results(
    plan: Mapping[str, Any], results: Iterable[tuple[str, Mapping[str, Any] | None]]
) -> tuple[dict[str, Any], dict[str, list[Any]], list[str], list[dict[str, Any]]]:
    """The run's counts, its lists (up to ``MAX_LISTED`` each), the failed labels and one line per
    batch instance, in one pass over the results."""
    products: dict[str, Any] = dict.fromkeys(COUNTED, 0) | dict.fromkeys(LISTED, 0)
    products["unchanged"] = plan.get("unchanged", 0)
    lists: dict[str, list[Any]] = {key: [] for key in LISTED}
    failed: list[str] = []
    lines: list[dict[str, Any]] = []
    for label, result in results:
        lines.append(batch_line(label, result))
        if result is None:
            failed.append(label)
            continue
        for key in COUNTED:
            products[key] += result.get(key, 0)
        for key in LISTED:
            products[key] += listed_count(result, key)
            room = MAX_LISTED - len(lists[key])
            lists[key].extend({**item, "batch_label": label} for item in result.get(key, [])[:room])
    return products, lists, failed, lines


def _variants(products: dict[str, Any], plan: Mapping[str, Any]) -> dict[str, Any]:
    """The run's variant counts, taken out of the product counts the batch results add them to:
    written by the batches, plus those of the products planned unchanged; and the plan's decision
    about the sync's variants the source no longer has."""
    planned = plan.get("variants") or {}
    variants: dict[str, Any] = {key: products.pop(f"variants_{key}", 0) for key in VARIANT_COUNTS}
    products.pop("kept_variants", None)  # listed in the report's ``kept_variants``, counted as ``kept``
    variants["unchanged"] += planned.get("unchanged", 0)
    variants["missing_upstream"] = planned.get("missing_upstream", 0)
    variants["delete"] = planned.get("delete")
    variants["guard"] = planned.get("guard")
    return variants


def _source(
    fetch: Mapping[str, Any] | None, quarantine: Sequence[Mapping[str, Any]], plan: Mapping[str, Any]
) -> dict[str, Any]:
    fetch = fetch or {}
    # A product the fetch did not see but the source answers by id proves the paging missed it.
    unconfirmed = list(plan.get("missing_unconfirmed_because", []))
    return {
        "fetched": fetch.get("fetched", 0),
        "valid": fetch.get("valid", 0),
        "quarantined": fetch.get("quarantined", len(quarantine)),
        "complete": bool(fetch) and not fetch.get("partial") and not unconfirmed,
        # Non-empty when the fetch saw only part of the catalog: missing upstream not acted on.
        "incomplete_because": list(fetch.get("incomplete_because", [])) + unconfirmed,
        "missing_unconfirmed": unconfirmed,
    }


def summary(report: Mapping[str, Any]) -> str:
    """A few lines a person reads in the task log to know what the run did."""
    src, cat, tags = report["source"], report["categories"], report["tags"]
    prod, planned, batches = report["products"], report["planned"], report["batches"]
    lines = [
        f"Medusa product sync {report['run_id']}: {report['status'].upper()}"
        + (" (dry run: nothing written)" if report["dry_run"] else ""),
        *(f"  FAILED      {reason}" for reason in report.get("failed_because", [])),
        f"  source      fetched {src['fetched']}, valid {src['valid']}, quarantined {src['quarantined']}, "
        + ("complete" if src.get("complete") else "INCOMPLETE"),
        f"  categories  created {cat['created']}, existing {cat['existing']}; "
        f"tags created {tags['created']}, existing {tags['existing']}",
        f"  planned     create {planned['create']}, update {planned['update']}, "
        f"unchanged {planned['unchanged']}, missing upstream {planned['missing_upstream']}",
        f"  products    created {prod['created']}, updated {prod['updated']}, unchanged {prod['unchanged']}, "
        f"resumed {prod.get('resumed', 0)}, rejected {prod['rejected']}, "
        f"superseded {prod.get('superseded', 0)}, not found {prod.get('not_found', 0)}",
        f"  missing     {prod['missing_upstream']} upstream (on_missing={prod['on_missing']}: "
        f"{prod.get('missing_action')}): drafted {prod['drafted']}, deleted {prod['deleted']}",
        f"  batches     {batches['succeeded']}/{batches['total']} succeeded"
        + (f"; failed: {', '.join(batches['failed'])}" if batches["failed"] else ""),
        f"  duration    {report['duration_seconds']} s",
    ]
    if (variants := report.get("variants")) and any(
        variants.get(k) for k in (*VARIANT_COUNTS, "missing_upstream")
    ):
        lines.insert(
            -2,
            f"  variants    created {variants['created']}, updated {variants['updated']}, "
            f"deleted {variants['deleted']}, unchanged {variants['unchanged']}, kept {variants['kept']} "
            f"({variants['missing_upstream']} removed upstream"
            + (f": {variants['delete']['because']})" if variants.get("delete") else ")"),
        )
    if stock := report.get("stock"):
        lines.insert(
            -1,
            f"  stock       levels created {stock['created']}, updated {stock['updated']}, "
            f"unchanged {stock['unchanged']}, held back as older {stock['superseded']}, "
            f"not in the store yet {stock['not_in_store']} (location {stock['location_id']})",
        )
    if report.get("guard"):
        lines.append(f"  guard       {report['guard']['reason']}")
    if held := report.get("held_back"):
        lines.append(f"  held back   {held['count']} new product(s) not created: {held['because']}")
    unconfirmed = src.get("missing_unconfirmed", [])
    for reason in src.get("incomplete_because", []):
        if reason not in unconfirmed:
            lines.append(f"  incomplete fetch (missing upstream not acted on): {reason}")
    for reason in unconfirmed:
        lines.append(f"  incomplete fetch (confirmed by id): {reason}")
    for item in report["quarantine"][:MAX_LINES_PER_LIST]:
        lines.append(f"  quarantined source id {item.get('source_id')}: {item.get('reason')}")
    for key in LISTED:
        for item in report.get(key, [])[:MAX_LINES_PER_LIST]:
            what = item.get("external_id") or item.get("product_id")
            if item.get("source_variant_id"):
                what = f"{what} variant {item['source_variant_id']} ({item.get('variant_id')})"
            detail = item.get("message") or item.get("action")
            if item.get("superseded_by"):
                detail += f", superseded by run {item['superseded_by']}"
            if item.get("reason"):
                detail += f": {item['reason']}"
            lines.append(f"  {key.replace('_', ' ')} {what} ({item.get('batch_label')}): {detail}")
    return "\n".join(lines)


# What a consumer of the catalog asset learns from its event's ``extra``.
EVENT_COUNTS = (
    *ACTIONS,
    "rejected",
    "superseded",
    "not_found",
    "missing_upstream",
)
CHANGES = ("created", "updated", "drafted", "deleted")


def catalog_event_extra(report: dict[str, Any]) -> dict[str, Any] | None:
    """The asset event's ``extra`` for a report, or None when the run changed nothing in the store.

    A dry run writes nothing, so it never announces a change, whatever its plan says.
    """
    products = report["products"]
    if report.get("dry_run") or not any(products.get(key) for key in CHANGES):
        return None
    return {
        "run_id": report["run_id"],
        **{key: products.get(key, 0) for key in EVENT_COUNTS},
        "quarantined": report["source"].get("quarantined", 0),
        "fetch_complete": bool(report["source"].get("complete")),
        "duration_seconds": report.get("duration_seconds"),
    }


# --- The run's counts as metrics (docs/operate.md, "Metrics"): Airflow sends them through its own metrics
# backend (StatsD or OpenTelemetry, as ``[metrics]`` configures), under its prefix.
METRIC_PREFIX = "medusa_sync"


def run_metrics(report: dict[str, Any]) -> tuple[dict[str, int], float | None]:
    """``({counter name: count}, duration in ms)`` of a run's report: products by outcome, and the
    records the fetch quarantined; counters are sent even at 0, so every run shows on a graph."""
    products, source = report.get("products") or {}, report.get("source") or {}
    counts = {f"{METRIC_PREFIX}.products.{key}": _count(products.get(key)) for key in EVENT_COUNTS}
    counts[f"{METRIC_PREFIX}.products.quarantined"] = _count(source.get("quarantined"))
    counts[f"{METRIC_PREFIX}.runs.{report['status']}"] = 1
    seconds = report.get("duration_seconds")
    return counts, None if seconds is None else seconds * 1000


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else int(value or 0)


def stock_run_report(
    *,
    fetch: Mapping[str, Any] | None,
    quarantine: Sequence[Mapping[str, Any]],
    stock: Mapping[str, Any] | None,
    skipped_because: str | None,
) -> dict[str, Any]:
    """What the report page shows of a ``medusa_stock_sync`` run, which writes no report of its own:
    its fetch (``fetch.json``), the level writes (``stock.json``), or why it wrote none."""
    written = "success" if stock is not None else "no levels written"
    status = "skipped" if skipped_because else written
    return {
        "kind": "stock",
        "status": status,
        "dry_run": bool((stock or {}).get("dry_run")),
        "skipped_because": skipped_because,
        # A run skipped before its fetch has no source to show.
        "source": _source(fetch, quarantine, {}) if fetch is not None else {},
        "quarantine": list(quarantine)[:MAX_LISTED],
        "stock": dict(stock) if stock is not None else None,
    }
