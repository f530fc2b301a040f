"""Regenerate the generated parts of the docs (``./dev docs``): the reference tables, the plot and
the report page's screenshot.

``docs/configure.md`` holds, between ``<!-- generated: NAME -->`` and ``<!-- /generated -->``
markers, the table of every ``[medusa_sync]`` key (``settings.MedusaSyncSettings``) and of each
DAG's Params (``params``, with the defaults ``dag_parts`` gives the Trigger form). The prose around
them is written by hand; the tables are only ever written here, and a unit test fails when the
checked-in tables differ from what this renders.

``docs/images/time-per-product.svg`` is drawn by ``tests.stack.plot`` from the bench runs recorded
in ``docs/data/bench-runs.jsonl`` (``./dev bench --products N --record docs/data/bench-runs.jsonl``).

``docs/images/report-page.png`` is taken by the report page's browser test
(``tests/ui/test_report_page.py``: a real Medusa and Airflow, a sync, Chromium signing in), run here
with ``REPORT_PAGE_SCREENSHOT`` naming where to write it: a few minutes.

    python -m tests.stack.docs                  # the tables and the plot, then the screenshot
    python -m tests.stack.docs --no-screenshot  # the tables and the plot only (no servers)
    python -m tests.stack.docs --check          # exit 1, naming what is out of date (tables and
                                                # plot; offline, no browser)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from medusa_sync import dag_parts, settings
from medusa_sync.params import CatalogRunParams, RunParams, StockRunParams, form_order, setting_of
from tests.stack import plot

REPO = Path(__file__).resolve().parents[2]
CONFIGURE = REPO / "docs" / "configure.md"
SCREENSHOT = REPO / "docs" / "images" / "report-page.png"
SCREENSHOT_ENV = "REPORT_PAGE_SCREENSHOT"  # read by tests/ui/test_report_page.py
SCREENSHOT_TEST = (
    "tests/ui/test_report_page.py"
    "::test_the_report_link_leads_through_login_to_the_run_page_with_its_counts_and_reasons"
)
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)
DAG_MODELS: dict[str, type[RunParams]] = {
    "params-medusa_product_sync": CatalogRunParams,
    "params-medusa_stock_sync": StockRunParams,
}


def shown(value: Any) -> str:
    """A default as a reader types it: ``true``, ``200``, *(empty)*."""
    if value is None or value == "":
        return "*(empty)*"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """Every ``[medusa_sync]`` key: its default, and what it sets (a Param's default, or itself)."""
    defaults = settings.load({})
    param_of = {
        key: name
        for model in DAG_MODELS.values()
        for name, field in model.model_fields.items()
        if (key := setting_of(field))
    }
    rows = ["| key | default | what it sets |", "|---|---|---|"]
    for key, field in settings.MedusaSyncSettings.model_fields.items():
        note = f"The default of the Param `{param_of[key]}` (below). " if key in param_of else ""
        rows.append(f"| `{key}` | {shown(getattr(defaults, key))} | {note}{_cell(field.description)} |")
    return "\n".join(rows) + "\n"


def params_table(model: type[RunParams]) -> str:
    """A DAG's Params: the Trigger form's default (from the settings when a key sets it), the key,
    the schema's bounds, and the description the form shows."""
    form = dag_parts.form_params(model, settings.load({}))
    rows = ["| param | default | `[medusa_sync]` key | accepts | meaning |", "|---|---|---|---|---|"]
    for name in form_order(model):
        schema = form[name].schema
        key = setting_of(model.model_fields[name])
        rows.append(
            f"| `{name}` | {shown(form[name].value)} | {f'`{key}`' if key else '—'} | "
            f"{_cell(accepts(schema))} | {_cell(form[name].description)} |"
        )
    return "\n".join(rows) + "\n"


def accepts(schema: dict[str, Any]) -> str:
    """The schema's type and bounds in a few words: ``integer 1 to 2000``, ``ignore, draft, delete``."""
    if "enum" in schema:
        return ", ".join(f"`{v}`" for v in schema["enum"])
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    words = " or ".join(k for k in kinds if k != "null")
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        words += f" {low} to {high}"
    elif low is not None or high is not None:
        words += f" ≥ {low}" if low is not None else f" ≤ {high}"
    if "pattern" in schema:
        words += (
            " (3 letters)" if schema["pattern"] == "^[a-zA-Z]{3}$" else f" matching `{schema['pattern']}`"
        )
    if "null" in kinds:
        words += ", or empty"
    return words


def blocks() -> dict[str, str]:
    """What each generated block of ``docs/configure.md`` should hold."""
    return {
        "settings": settings_table(),
        **{name: params_table(model) for name, model in DAG_MODELS.items()},
    }


def render(text: str) -> tuple[str, list[str]]:
    """``text`` with every generated block rewritten, and the names of those that changed."""
    wanted = blocks()
    changed: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in wanted:
            raise SystemExit(f"docs/configure.md: no generator for the block {name!r}")
        if match["body"] != wanted[name]:
            changed.append(name)
        return match[1] + wanted[name] + match[4]

    rendered = BLOCK.sub(replace, text)
    missing = set(wanted) - {m["name"] for m in BLOCK.finditer(text)}
    if missing:
        raise SystemExit(f"docs/configure.md lacks the generated block(s) {', '.join(sorted(missing))}")
    return rendered, changed


def take_screenshot() -> bool:
    """Run the report page's browser test, which also writes its screenshot to ``SCREENSHOT``."""
    print(
        f"{SCREENSHOT.relative_to(REPO)}: running {SCREENSHOT_TEST.split('::')[0]} (a few minutes)",
        flush=True,
    )
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, SCREENSHOT_ENV: str(SCREENSHOT)}
    before = SCREENSHOT.stat().st_mtime_ns if SCREENSHOT.exists() else None
    command = [sys.executable, "-m", "pytest", "-q", SCREENSHOT_TEST]
    passed = subprocess.run(command, cwd=REPO, env=env, check=False).returncode == 0
    # A test that passed without writing it (skipped, deselected) has not taken it either.
    return passed and SCREENSHOT.exists() and SCREENSHOT.stat().st_mtime_ns != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument(
        "--check", action="store_true", help="only say whether the tables and the plot are up to date"
    )
    parser.add_argument(
        "--no-screenshot",
        action="store_true",
        help="leave docs/images/report-page.png as it is (no Medusa, Airflow or browser needed)",
    )
    args = parser.parse_args(argv)
    text = CONFIGURE.read_text(encoding="utf-8")
    rendered, changed = render(text)
    drawn = plot.render(plot.load(plot.DATA))
    plot_stale = not plot.SVG.exists() or plot.SVG.read_text(encoding="utf-8") != drawn
    if args.check:
        stale = [f"docs/configure.md ({', '.join(changed)})"] if changed else []
        stale += (
            [f"{plot.SVG.relative_to(REPO)} (against {plot.DATA.relative_to(REPO)})"] if plot_stale else []
        )
        if stale:
            print(f"out of date: {'; '.join(stale)}: run ./dev docs", file=sys.stderr)
            return 1
        return 0
    CONFIGURE.write_text(rendered, encoding="utf-8")
    print(f"docs/configure.md: {', '.join(changed) or 'already up to date'}")
    plot.SVG.parent.mkdir(parents=True, exist_ok=True)
    plot.SVG.write_text(drawn, encoding="utf-8")
    print(f"{plot.SVG.relative_to(REPO)}: {'redrawn' if plot_stale else 'already up to date'}")
    if args.no_screenshot:
        return 0
    started = time.monotonic()
    if not take_screenshot():
        print(
            f"{SCREENSHOT.relative_to(REPO)}: the browser test failed or took no screenshot "
            "(its output above says why)",
            file=sys.stderr,
        )
        return 1
    print(f"{SCREENSHOT.relative_to(REPO)}: taken in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
