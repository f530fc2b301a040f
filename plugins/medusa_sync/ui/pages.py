"""The report page's HTML, rendered from report data: pure, no I/O, every value escaped.

Server-rendered on purpose: the page works in the UI's iframe, in a new tab from the task's extra
link, and with scripts off, and what it shows is exactly what the JSON endpoint returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from medusa_sync.names import STOCK_DAG_ID
from medusa_sync.ui.report_link import REPORTING_DAGS
from medusa_sync.ui.run_reports import RunReport

# Longer lists are cut on the page (report.json and the JSON endpoint hold up to MAX_LISTED of
# each, the run folder every one).
MAX_ROWS = 500
# Where the run folder keeps every entry of a list the report cuts short.
ALL_IN = {"quarantine": "quarantine/"}
PRODUCT_COUNTS = (
    "created",
    "updated",
    "unchanged",
    "resumed",
    "rejected",
    "superseded",
    "not_found",
    "drafted",
    "deleted",
)
BATCH_COUNTS = PRODUCT_COUNTS
# The runs list keeps to what tells runs apart; a run's page has every count.
LIST_COUNTS = ("created", "updated", "unchanged", "rejected", "drafted", "deleted")
# What a stock run's row and the stock section show, in order.
STOCK_LIST = (
    ("Levels created", "created"),
    ("Levels updated", "updated"),
    ("Unchanged", "unchanged"),
    ("Held back (older stock)", "superseded"),
    ("Not in the store yet", "not_in_store"),
)
# The variants of products with variants (``report["variants"]``), in order.
VARIANT_COUNTS = (
    ("Created", "created"),
    ("Updated", "updated"),
    ("Deleted", "deleted"),
    ("Unchanged", "unchanged"),
    ("Kept (removed upstream, not deleted)", "kept"),
)
KEPT_VARIANT_COLUMNS = (
    ("Source id", "source_id"),
    ("Source variant id", "source_variant_id"),
    ("Variant id", "variant_id"),
    ("Batch", "batch_label"),
    ("Why kept", "reason"),
)
QUARANTINE_COLUMNS = (("Source id", "source_id"), ("Reason", "reason"))
LISTS = (("Rejected by Medusa", "rejected"), ("Superseded", "superseded"), ("Not found", "not_found"))
ITEM_COLUMNS = (
    ("Source id", "source_id"),
    ("External id", "external_id"),
    ("Action", "action"),
    ("Batch", "batch_label"),
    ("Message", "message"),
)

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.2rem 1.6rem; color: #1d2433; }
h1 { font-size: 1.3rem; margin: 0 0 .4rem; } h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
table { border-collapse: collapse; margin: .2rem 0 .6rem; }
th, td { border-bottom: 1px solid #e3e6ec; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: .7rem; font-weight: 600; }
.success { background: #dcf5e3; color: #11632f; } .failed { background: #fde0e0; color: #9b1c1c; }
.other { background: #eef0f4; color: #3b4252; } .note { color: #5b6577; } a { color: #1a56db; }
ul.why li { color: #9b1c1c; }
"""


def runs_page(
    dag_id: str, runs: Sequence[RunReport], airflow_url: str, retention_days: float | None = None
) -> str:
    """Recent runs, newest first, one line of counts each, linking to each run's page; says how far
    back reports are kept (``[medusa_sync] retention_days``)."""
    counts = STOCK_LIST if dag_id == STOCK_DAG_ID else tuple((_label(k), k) for k in LIST_COUNTS)
    header = (
        "<tr><th>Run</th><th>Airflow</th><th>Report</th><th>Started</th><th>Duration (s)</th>"
        "<th>Fetched</th><th>Quarantined</th><th>Fetch</th>"
        + "".join(f"<th>{_e(name)}</th>" for name, _ in counts)
        + ("<th>Skipped because</th>" if dag_id == STOCK_DAG_ID else "<th>Failed batches</th>")
        + "</tr>"
    )
    rows = "".join(_run_row(run) for run in runs) or '<tr><td colspan="20">No runs yet.</td></tr>'
    others = " ".join(
        f'<a href="../../{_q(other)}/runs/">{_e(other)}</a>' for other in REPORTING_DAGS if other != dag_id
    )
    body = (
        f"<h1>Medusa sync reports: {_e(dag_id)}</h1>"
        f'<p class="note">Newest first. <a href="{_e(airflow_url)}/dags/{_q(dag_id)}" target="_top">'
        f"The DAG in Airflow</a> &nbsp; Reports of {others}</p>"
        + (
            f'<p class="note" id="retention">Reports of runs started over {retention_days:g} days ago are '
            "removed with their run folders ([medusa_sync] retention_days), but the newest successful "
            "run's.</p>"
            if retention_days is not None
            else ""
        )
        + f'<table id="runs">{header}{rows}</table>'
    )
    return _document(f"Medusa sync reports: {dag_id}", body)


def run_page(run: RunReport, airflow_url: str) -> str:
    """One run: verdict, fetch completeness, counts, batches, and every listed item with its why."""
    run_link = f"{airflow_url}/dags/{_q(run.dag_id)}/runs/{_q(run.run_id)}"
    head = (
        f"<h1>{_e(run.dag_id)} · {_e(run.run_id)}</h1>"
        f"<p>Airflow: {_badge(run.state)} &nbsp; Report: {_badge(_status(run))} &nbsp; "
        f'<a href="{_e(run_link)}" target="_top">Open the run in Airflow</a> &nbsp; '
        '<a href="./">All runs</a></p>'
    )
    report = run.report
    if report is None:
        return _document(run.run_id, head + f'<p class="note">No report: {_e(run.no_report_because)}</p>')
    if report.get("kind") == "stock":
        skipped = report.get("skipped_because")
        why = f'<h2>Skipped</h2><p class="note">{_e(skipped)}</p>' if skipped else ""
        quarantined = _quarantine(report)
        return _document(run.run_id, head + why + _fetch(report) + _stock(report) + quarantined)
    sections = [
        _why(report),
        _fetch(report),
        _counts(report),
        _variants(report),
        _stock(report),
        _batches(report),
        _quarantine(report),
        *(
            _items(
                title,
                key,
                _shown(key, report.get(key, [])),
                _columns(key),
                report.get("products", {}).get(key),
            )
            for title, key in LISTS
        ),
    ]
    return _document(run.run_id, head + "".join(sections))


# --- sections -------------------------------------------------------------------------------


def _columns(key: str) -> tuple[tuple[str, str], ...]:
    return (*ITEM_COLUMNS, ("Superseded by", "superseded_by")) if key == "superseded" else ITEM_COLUMNS


def _shown(key: str, items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Superseded items name the newer run whose plan won, why a late draft or delete was not sent
    (the source has the product again), or else the store change (a person, a tool)."""
    if key != "superseded":
        return list(items)
    return [
        {**item, "superseded_by": item.get("superseded_by") or item.get("reason") or "a change in the store"}
        for item in items
    ]


def _why(report: Mapping[str, Any]) -> str:
    reasons = report.get("failed_because") or []
    if not reasons:
        return ""
    return '<h2>Why it failed</h2><ul class="why">' + "".join(f"<li>{_e(r)}</li>" for r in reasons) + "</ul>"


def _fetch(report: Mapping[str, Any]) -> str:
    source = report.get("source", {})
    complete = source.get("complete")
    lines = [
        ("Fetched", source.get("fetched", 0)),
        ("Valid", source.get("valid", 0)),
        ("Quarantined", source.get("quarantined", 0)),
        ("Complete", "yes" if complete else "NO: missing upstream products were not acted on"),
    ]
    if report.get("guard"):
        lines.append(("Deletion guard", report["guard"].get("reason")))
    extra = "".join(f"<li>{_e(reason)}</li>" for reason in source.get("incomplete_because", []))
    return (
        '<h2>Fetch</h2><table id="fetch">'
        + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in lines)
        + "</table>"
        + (f"<ul>{extra}</ul>" if extra else "")
    )


def _counts(report: Mapping[str, Any]) -> str:
    planned, products = report.get("planned", {}), report.get("products", {})
    plan_row = "".join(
        f"<th>{_label(k)}</th><td class='n'>{_e(planned.get(k, 0))}</td>"
        for k in ("create", "update", "unchanged", "missing_upstream")
    )
    product_rows = "".join(
        f"<tr><th>{_label(k)}</th><td class='n'>{_e(products.get(k, 0))}</td></tr>" for k in PRODUCT_COUNTS
    )
    flags = " (dry run: nothing written)" if report.get("dry_run") else ""
    return (
        f"<h2>Products{_e(flags)}</h2>"
        f'<table id="products">{product_rows}</table>'
        f'<p class="note">Planned:</p><table id="planned"><tr>{plan_row}</tr></table>'
        f'<p class="note">Duration {_e(report.get("duration_seconds"))} s; missing upstream: '
        f"{_e(products.get('missing_upstream', 0))} (on_missing={_e(products.get('on_missing'))})</p>"
    )


def _variants(report: Mapping[str, Any]) -> str:
    """What the run did to the variants of products with variants, and the sync's variants it kept
    though the source no longer has them (with why); nothing for a run without such products."""
    variants = report.get("variants") or {}
    kept = report.get("kept_variants") or []
    if not any(variants.get(key) for _, key in VARIANT_COUNTS) and not variants.get("missing_upstream"):
        return ""
    rows = "".join(
        f"<tr><th>{_e(name)}</th><td class='n'>{_e(variants.get(key, 0))}</td></tr>"
        for name, key in VARIANT_COUNTS
    )
    decision = (variants.get("delete") or {}).get("because")
    note = (
        f'<p class="note">Removed upstream (planned): {_e(variants.get("missing_upstream", 0))}'
        + (f"; {_e(decision)}" if decision else "")
        + "</p>"
    )
    listed = (
        _items("Variants kept", "kept_variants", kept, KEPT_VARIANT_COLUMNS, variants.get("kept"))
        if kept
        else ""
    )
    return f'<h2>Variants</h2><table id="variants">{rows}</table>{note}{listed}'


def _stock(report: Mapping[str, Any]) -> str:
    """What ``sync_stock`` did, when the run synced inventory."""
    stock = report.get("stock")
    if not stock:
        return ""
    rows = "".join(
        f"<tr><th>{_e(name)}</th><td class='n'>{_e(stock.get(key, 0))}</td></tr>"
        for name, key in (*STOCK_LIST, ("Not managed by inventory", "unmanaged"))
    )
    return f'<h2>Stock levels at {_e(stock.get("location_id"))}</h2><table id="stock">{rows}</table>'


def _batches(report: Mapping[str, Any]) -> str:
    batches = report.get("batches", {})
    results = batches.get("results", [])
    header = (
        "<tr><th>Map index</th><th>Batch</th><th>Landed</th>"
        + "".join(f"<th>{_label(k)}</th>" for k in BATCH_COUNTS)
        + "</tr>"
    )
    rows = "".join(_batch_row(index, line) for index, line in enumerate(results))
    summary = f"{batches.get('succeeded', 0)} of {batches.get('total', 0)} landed"
    hint = (
        '<p class="note">A failed batch is the <code>upsert_batch</code> instance of the same map index: '
        "clear it in the run's grid and it is sent again (a replay never writes older data over newer).</p>"
        if batches.get("failed")
        else ""
    )
    return f'<h2>Batches: {_e(summary)}</h2>{hint}<table id="batches">{header}{rows}</table>'


def _quarantine(report: Mapping[str, Any]) -> str:
    items = report.get("quarantine", [])
    return _items(
        "Quarantined", "quarantine", items, QUARANTINE_COLUMNS, report.get("source", {}).get("quarantined")
    )


def _items(
    title: str,
    key: str,
    items: Sequence[Mapping[str, Any]],
    columns: Iterable[tuple[str, str]],
    total: int | None = None,
) -> str:
    """A list's first rows under its whole count (``total``: the report's count, which a list cut
    at ``MAX_LISTED`` falls short of), saying where the rest are."""
    total = len(items) if total is None else max(total, len(items))
    if not items and not total:
        return f"<h2>{_e(title)}: 0</h2>"
    columns = list(columns)
    header = "<tr>" + "".join(f"<th>{_e(name)}</th>" for name, _ in columns) + "</tr>"
    rows = "".join(
        "<tr>" + "".join(f"<td>{_e(item.get(field, ''))}</td>" for _, field in columns) + "</tr>"
        for item in items[:MAX_ROWS]
    )
    shown = min(len(items), MAX_ROWS)
    more = (
        f'<p class="note">{total - shown} more: report.json and the JSON endpoint list the first '
        f"{len(items)}, the run folder's {_e(ALL_IN.get(key, 'results/'))} every one.</p>"
        if total > shown
        else ""
    )
    return f'<h2>{_e(title)}: {total}</h2><table id="{_e(key)}">{header}{rows}</table>{more}'


# --- small parts ----------------------------------------------------------------------------


def _run_row(run: RunReport) -> str:
    report = run.report or {}
    source = report.get("source", {})
    started = run.start_date.strftime("%Y-%m-%d %H:%M:%S") if run.start_date else ""
    if report.get("kind") == "stock":
        keys, counted = [key for _, key in STOCK_LIST], report.get("stock") or {}
        last = report.get("skipped_because") or ""
        seconds = (run.end_date - run.start_date).total_seconds() if run.end_date and run.start_date else None
    else:
        keys, counted = list(LIST_COUNTS), report.get("products", {})
        last = ", ".join(report.get("batches", {}).get("failed", []))
        seconds = report.get("duration_seconds")
    if not report:
        counts = f'<td colspan="{5 + len(keys)}" class="note">{_e(run.no_report_because)}</td>'
    else:
        fetch = ("complete" if source.get("complete") else "INCOMPLETE") if source else ""
        counts = (
            f"<td class='n'>{_e(seconds)}</td>"
            f"<td class='n'>{_e(source.get('fetched', ''))}</td>"
            f"<td class='n'>{_e(source.get('quarantined', ''))}</td><td>{fetch}</td>"
            + "".join(f"<td class='n'>{_e(counted.get(k, '' if not counted else 0))}</td>" for k in keys)
            + f"<td>{_e(last)}</td>"
        )
    return (
        f'<tr><td><a href="{_q(run.run_id)}">{_e(run.run_id)}</a></td><td>{_badge(run.state)}</td>'
        f"<td>{_badge(_status(run))}</td><td>{_e(started)}</td>{counts}</tr>"
    )


def _batch_row(index: int, line: Mapping[str, Any]) -> str:
    landed = _badge("success", "yes") if line.get("landed") else _badge("failed", "FAILED")
    counts = "".join(f"<td class='n'>{_e(line.get(k, ''))}</td>" for k in BATCH_COUNTS)
    return f"<tr><td class='n'>{index}</td><td>{_e(line.get('label'))}</td><td>{landed}</td>{counts}</tr>"


def _status(run: RunReport) -> str:
    if run.report is None:
        return "no report"
    return str(run.report.get("status")) + (" (dry run)" if run.report.get("dry_run") else "")


def _badge(state: str | None, text: str | None = None) -> str:
    kind = (state or "").split(" ")[0]
    kind = kind if kind in ("success", "failed") else "other"
    return f'<span class="badge {kind}">{_e(text or state or "unknown")}</span>'


def _label(key: str) -> str:
    return _e(key.replace("_", " ").capitalize())


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _q(value: str) -> str:
    return quote(value, safe="")


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
