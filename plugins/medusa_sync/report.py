"""The run report: what the run fetched, planned and changed, in one JSON document and a summary.

Built only from the files the stages left in the run folder, so a run whose batches failed still
gets a truthful report of what did land.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COUNTED = ("created", "updated", "unchanged", "drafted", "deleted")


def build_report(
    *,
    dag_id: str,
    run_id: str,
    params: Mapping[str, Any],
    fetch: Mapping[str, Any] | None,
    quarantine: Sequence[Mapping[str, Any]],
    taxonomy: Mapping[str, Any] | None,
    plan: Mapping[str, Any] | None,
    results: Mapping[str, Mapping[str, Any] | None],
    duration_seconds: float | None,
) -> dict[str, Any]:
    """``results`` maps each planned batch file name to its result, or None when it never finished."""
    plan = plan or {}
    products: dict[str, Any] = dict.fromkeys(COUNTED, 0)
    products["unchanged"] = plan.get("unchanged", 0)
    rejected: list[dict[str, Any]] = []
    failed: list[str] = []
    for name, result in results.items():
        if result is None:
            failed.append(name)
            continue
        for key in COUNTED:
            products[key] += result.get(key, 0)
        rejected.extend(result.get("rejected", []))
    products["missing_upstream"] = plan.get("missing_upstream", 0)
    products["on_missing"] = plan.get("on_missing")
    products["rejected"] = len(rejected)
    taxonomy = taxonomy or {}
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "status": "failed" if failed or plan == {} else "success",
        "dry_run": bool(params.get("dry_run")),
        "full_refresh": bool(params.get("full_refresh")),
        "duration_seconds": None if duration_seconds is None else round(duration_seconds, 1),
        "source": {
            "fetched": (fetch or {}).get("fetched", 0),
            "valid": (fetch or {}).get("valid", 0),
            "quarantined": len(quarantine),
            # Non-empty when the fetch saw only part of the catalog: missing upstream not acted on.
            "incomplete_because": list((fetch or {}).get("incomplete_because", [])),
        },
        "categories": {
            "created": len(taxonomy.get("categories_created", [])),
            "existing": taxonomy.get("categories_existing", 0),
        },
        "tags": {
            "created": len(taxonomy.get("tags_created", [])),
            "existing": taxonomy.get("tags_existing", 0),
        },
        "planned": {key: plan.get(key, 0) for key in ("create", "update", "unchanged", "missing_upstream")},
        "products": products,
        "batches": {"total": len(results), "succeeded": len(results) - len(failed), "failed": failed},
        "quarantine": list(quarantine),
        "rejected": rejected,
        "duplicated_external_ids": plan.get("duplicated_external_ids", {}),
    }


def summary(report: Mapping[str, Any]) -> str:
    """A few lines a person reads in the task log to know what the run did."""
    src, cat, tags = report["source"], report["categories"], report["tags"]
    prod, planned, batches = report["products"], report["planned"], report["batches"]
    lines = [
        f"Medusa product sync {report['run_id']}: {report['status'].upper()}"
        + (" (dry run: nothing written)" if report["dry_run"] else ""),
        f"  source      fetched {src['fetched']}, valid {src['valid']}, quarantined {src['quarantined']}",
        f"  categories  created {cat['created']}, existing {cat['existing']}; "
        f"tags created {tags['created']}, existing {tags['existing']}",
        f"  planned     create {planned['create']}, update {planned['update']}, "
        f"unchanged {planned['unchanged']}, missing upstream {planned['missing_upstream']}",
        f"  products    created {prod['created']}, updated {prod['updated']}, unchanged {prod['unchanged']}, "
        f"missing upstream {prod['missing_upstream']} (on_missing={prod['on_missing']}: "
        f"drafted {prod['drafted']}, deleted {prod['deleted']}), rejected {prod['rejected']}",
        f"  batches     {batches['succeeded']}/{batches['total']} succeeded"
        + (f"; failed: {', '.join(batches['failed'])}" if batches["failed"] else ""),
        f"  duration    {report['duration_seconds']} s",
    ]
    for reason in src.get("incomplete_because", []):
        lines.append(f"  incomplete fetch (missing upstream not acted on): {reason}")
    for item in report["quarantine"][:20]:
        lines.append(f"  quarantined source id {item.get('source_id')}: {item.get('reason')}")
    for item in report["rejected"][:20]:
        lines.append(f"  rejected {item.get('external_id')}: {item.get('message')}")
    return "\n".join(lines)
