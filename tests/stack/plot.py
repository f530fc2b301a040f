"""The plot of docs/performance.md: time per product against catalog size, drawn from the bench's
recorded runs (``./dev bench --products N --record docs/data/bench-runs.jsonl``) as plain SVG.

    python -m tests.stack.plot           # rewrite docs/images/time-per-product.svg (./dev docs does it)
    python -m tests.stack.plot --check   # exit 1 when the SVG is not what the data file draws

One point per catalog size and series: the median, over the runs recorded at that size, of the
wall time divided by the number of products. The series are the DAG's first sync (the fastest of
the run's rounds with ``--rounds N``: ``fastest_dag_seconds``), the fastest raw loop of the same run
(``fastest_raw_seconds``: of its rounds, and its second run with ``--raw-again``) and the DAG's
rerun with nothing changed. Both axes are logarithmic: the vertical
gap between two lines is their ratio, and the same gap is the same ratio anywhere. Only catalog
runs of one variant per product count (not ``--stock`` or ``--variants N``). The title says on
which machine(s) and on which days the runs were recorded. The same data always draws the same
bytes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "docs" / "data" / "bench-runs.jsonl"
SVG = REPO / "docs" / "images" / "time-per-product.svg"

WIDTH, HEIGHT = 860, 480
LEFT, RIGHT, TOP, BOTTOM = 80, 590, 70, 410  # the plotting area
TITLE = "Time per product against catalog size"
NOTE = (
    "Each point: the median of the",
    "runs recorded at that size.",
    "Both axes are logarithmic: the",
    "same vertical gap is the same",
    "ratio anywhere on the plot.",
    "",
    "Drawn by tests/stack/plot.py",
    "from docs/data/bench-runs.jsonl.",
)


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str
    marker: str  # circle, square, diamond
    dashed: bool
    seconds: Callable[[dict[str, Any]], float | None]


def _fastest_raw(run: dict[str, Any]) -> float | None:
    if run.get("fastest_raw_seconds") is not None:
        return float(run["fastest_raw_seconds"])
    walls = [run[k]["wall_seconds"] for k in ("raw", "raw_again") if k in run]
    return float(min(walls)) if walls else None


def _wall(key: str) -> Callable[[dict[str, Any]], float | None]:
    def seconds(run: dict[str, Any]) -> float | None:
        part = run.get(key)
        return float(part["wall_seconds"]) if isinstance(part, dict) and "wall_seconds" in part else None

    return seconds


def _fastest_first_sync(run: dict[str, Any]) -> float | None:
    if run.get("fastest_dag_seconds") is not None:  # a run of several rounds: the best of them
        return float(run["fastest_dag_seconds"])
    return _wall("dag_first")(run)


SERIES = (
    Series("dag_first", "DAG, first sync", "#0072b2", "circle", False, _fastest_first_sync),
    Series("raw", "raw loop, fastest of the run", "#d55e00", "square", False, _fastest_raw),
    Series(
        "dag_unchanged", "DAG, rerun with nothing changed", "#009e73", "diamond", True, _wall("dag_unchanged")
    ),
)


def load(path: Path) -> list[dict[str, Any]]:
    """The recorded runs, one JSON object a line (blank lines skipped)."""
    runs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                runs.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise SystemExit(f"{path.name}, line {number}: not JSON ({error})") from None
    return runs


def catalog_runs(runs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs of the catalog bench with one variant per product: what the plot compares."""
    return [r for r in runs if "dag_first" in r and r.get("variants", 1) == 1 and r.get("products")]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def points(runs: list[dict[str, Any]], series: Series) -> list[tuple[int, float, int]]:
    """``(catalog size, ms per product, runs behind it)`` of one series, by size."""
    by_size: dict[int, list[float]] = {}
    for run in runs:
        if (seconds := series.seconds(run)) is not None:
            by_size.setdefault(int(run["products"]), []).append(seconds * 1000 / run["products"])
    return [(size, median(ms), len(ms)) for size, ms in sorted(by_size.items())]


# --- axes -----------------------------------------------------------------------------------------


def log_range(values: list[float]) -> tuple[float, float]:
    """Log10 bounds around ``values`` with a little room at each end (a decade when all are equal)."""
    low, high = math.log10(min(values)), math.log10(max(values))
    room = max((high - low) * 0.06, 0.08)
    return low - room, high + room


def ticks(low: float, high: float) -> list[float]:
    """Tick values between ``10**low`` and ``10**high``: 1, 2, 5 of each decade, or only the
    powers of ten when that makes too many."""
    steps = (1, 2, 5) if high - low <= 3.2 else (1,)
    found = []
    for exponent in range(math.floor(low), math.ceil(high) + 1):
        for step in steps:
            value = step * 10.0**exponent
            if low <= math.log10(value) <= high:
                found.append(value)
    return found


def sizes_shown(sizes: list[int], x_at: Callable[[float], float]) -> list[float]:
    """The catalog sizes measured, each labelled on the x axis unless it would touch the one before."""
    shown: list[float] = []
    for size in sorted(set(sizes)):
        if not shown or x_at(size) - x_at(shown[-1]) >= 44:
            shown.append(size)
    return shown


def number(value: float) -> str:
    """A tick label or a figure: ``1,000``, ``0.5``, ``31.2``."""
    if value >= 100 or float(value).is_integer():
        return f"{round(value):,}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value < 1 else f"{value:.1f}"


def _f(value: float) -> str:
    return f"{value:.1f}"


# --- the drawing ----------------------------------------------------------------------------------


def subtitle(runs: list[dict[str, Any]]) -> str:
    """Where and when: the machine(s), the days, how many runs, the CPU yardstick's range."""
    machines = []
    for run in runs:
        m = run.get("machine") or {}
        memory = number(m.get("memory_gb", 0))
        text = f"{m.get('cpus', '?')} CPUs of an {m.get('cpu', 'unknown CPU')}, {memory} GB"
        if text not in machines:
            machines.append(text)
    days = sorted({str(r["recorded_at"])[:10] for r in runs if r.get("recorded_at")})
    when = "" if not days else f"{days[0]} to {days[-1]}" if len(days) > 1 else days[0]
    yardsticks = [
        m[k]
        for r in runs
        if (m := r.get("machine"))
        for k in ("cpu_yardstick_ms", "cpu_yardstick_ms_at_end")
        if k in m
    ]
    parts = ["; ".join(machines) if len(machines) <= 2 else f"{len(machines)} machines"]
    if yardsticks:
        parts.append(f"CPU yardstick {number(min(yardsticks))} to {number(max(yardsticks))} ms")
    parts.append(f"{len(runs)} run{'s' * (len(runs) != 1)} of ./dev bench" + (f", {when}" if when else ""))
    return " · ".join(parts)


def marker(shape: str, x: float, y: float, colour: str, tooltip: str) -> str:
    tip = f"<title>{escape(tooltip)}</title>"
    if shape == "square":
        return f'<rect x="{_f(x - 4)}" y="{_f(y - 4)}" width="8" height="8" fill="{colour}">{tip}</rect>'
    if shape == "diamond":
        d = f"M{_f(x)} {_f(y - 5.5)}L{_f(x + 5.5)} {_f(y)}L{_f(x)} {_f(y + 5.5)}L{_f(x - 5.5)} {_f(y)}Z"
        return f'<path d="{d}" fill="{colour}">{tip}</path>'
    return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="4.5" fill="{colour}">{tip}</circle>'


def render(runs: list[dict[str, Any]]) -> str:
    """The SVG of the recorded runs (all of them: those that are not catalog runs are left out)."""
    runs = catalog_runs(runs)
    drawn = [(series, points(runs, series)) for series in SERIES]
    drawn = [(series, pts) for series, pts in drawn if pts]
    if not drawn:
        raise SystemExit("no catalog runs of the bench to draw: record some with ./dev bench --record FILE")
    x_low, x_high = log_range([size for _, pts in drawn for size, _, _ in pts])
    y_low, y_high = log_range([ms for _, pts in drawn for _, ms, _ in pts])

    def x_at(size: float) -> float:
        return LEFT + (math.log10(size) - x_low) / (x_high - x_low) * (RIGHT - LEFT)

    def y_at(ms: float) -> float:
        return BOTTOM - (math.log10(ms) - y_low) / (y_high - y_low) * (BOTTOM - TOP)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12" fill="#222">',
        f"<title>{escape(TITLE)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<text x="{WIDTH / 2:.0f}" y="24" text-anchor="middle" font-size="16" font-weight="bold">'
        f"{escape(TITLE)}</text>",
        f'<text x="{WIDTH / 2:.0f}" y="44" text-anchor="middle" fill="#555">{escape(subtitle(runs))}</text>',
        '<g stroke="#e3e3e3" stroke-width="1">',
    ]
    x_ticks = sizes_shown([size for _, pts in drawn for size, _, _ in pts], x_at)
    y_ticks = ticks(y_low, y_high)
    out += [f'<line x1="{_f(x_at(v))}" y1="{TOP}" x2="{_f(x_at(v))}" y2="{BOTTOM}"/>' for v in x_ticks]
    out += [f'<line x1="{LEFT}" y1="{_f(y_at(v))}" x2="{RIGHT}" y2="{_f(y_at(v))}"/>' for v in y_ticks]
    out.append("</g>")
    frame = f'x="{LEFT}" y="{TOP}" width="{RIGHT - LEFT}" height="{BOTTOM - TOP}"'
    out.append(f'<rect {frame} fill="none" stroke="#888"/>')
    out += [
        f'<text x="{_f(x_at(v))}" y="{BOTTOM + 18}" text-anchor="middle">{number(v)}</text>' for v in x_ticks
    ]
    out += [
        f'<text x="{LEFT - 8}" y="{_f(y_at(v) + 4)}" text-anchor="end">{number(v)}</text>' for v in y_ticks
    ]
    out.append(
        f'<text x="{(LEFT + RIGHT) / 2:.0f}" y="{BOTTOM + 42}" text-anchor="middle">'
        "catalog size (products, log scale)</text>"
    )
    out.append(
        f'<text transform="translate(24 {(TOP + BOTTOM) / 2:.0f}) rotate(-90)" text-anchor="middle">'
        "milliseconds per product (wall time, log scale)</text>"
    )
    for series, pts in drawn:
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{_f(x_at(size))} {_f(y_at(ms))}" for i, (size, ms, _) in enumerate(pts)
        )
        dash = ' stroke-dasharray="6 4"' if series.dashed else ""
        out.append(f'<g class="series" data-series="{series.key}">')
        out.append(f'<path d="{path}" fill="none" stroke="{series.colour}" stroke-width="2"{dash}/>')
        for size, ms, n in pts:
            tooltip = (
                f"{series.label}: {number(size)} products, {number(ms)} ms per product"
                f" ({'median of ' if n > 1 else ''}{n} run{'s' * (n != 1)})"
            )
            out.append(marker(series.marker, x_at(size), y_at(ms), series.colour, tooltip))
        out.append("</g>")
    legend_x, legend_y = RIGHT + 20, TOP + 10
    for k, (series, _) in enumerate(drawn):
        y = legend_y + 24 * k
        dash = ' stroke-dasharray="6 4"' if series.dashed else ""
        out.append(
            f'<line x1="{legend_x}" y1="{y}" x2="{legend_x + 30}" y2="{y}" stroke="{series.colour}" '
            f'stroke-width="2"{dash}/>'
        )
        out.append(marker(series.marker, legend_x + 15, y, series.colour, series.label))
        out.append(f'<text x="{legend_x + 38}" y="{y + 4}">{escape(series.label)}</text>')
    note_y = legend_y + 24 * len(drawn) + 14
    for k, line in enumerate(NOTE):
        if not line:
            continue
        out.append(
            f'<text x="{legend_x}" y="{note_y + 16 * k}" fill="#555" font-size="11">{escape(line)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the SVG is up to date")
    parser.add_argument("--data", type=Path, default=DATA, help="the recorded runs (JSON lines)")
    parser.add_argument("--out", type=Path, default=SVG, help="the SVG to write")
    args = parser.parse_args(argv)
    drawn = render(load(args.data))
    if args.check:
        if not args.out.exists() or args.out.read_text(encoding="utf-8") != drawn:
            print(f"{args.out.name} is not what {args.data.name} draws: run ./dev docs", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(drawn, encoding="utf-8")
    print(f"{args.out.name}: drawn from {args.data.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
