"""The plot of time per product: drawn from the bench's recorded JSON lines, one point per catalog
size and series, and the checked-in SVG is what its checked-in data draws."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.stack import plot

NS = {"svg": "http://www.w3.org/2000/svg"}


def run(
    products: int, raw: float, dag: float, unchanged: float, *, at: str, yardstick: float = 150.0
) -> dict:
    """A bench result as ``--record`` writes it, with only what the plot reads (and a little more)."""
    return {
        "recorded_at": at,
        "products": products,
        "variants": 1,
        "machine": {"cpus": 2, "cpu": "AMD EPYC", "memory_gb": 23.5, "cpu_yardstick_ms": yardstick},
        "raw": {"wall_seconds": raw},
        "raw_again": {"wall_seconds": raw * 1.5},
        "fastest_raw_seconds": raw,
        "dag_first": {"wall_seconds": dag},
        "dag_unchanged": {"wall_seconds": unchanged},
        "dag_raw_ratio": round(dag / raw, 2),
    }


RUNS = [
    run(100, 8.0, 30.0, 10.0, at="2026-12-07T01:00:00Z"),
    run(1000, 20.0, 30.0, 6.0, at="2026-12-07T02:00:00Z"),
    run(1000, 40.0, 50.0, 8.0, at="2026-12-08T02:00:00Z", yardstick=250.0),
    run(3000, 40.0, 60.0, 7.5, at="2026-12-09T03:00:00Z"),
]


def series_points(svg: str) -> dict[str, list[tuple[float, float]]]:
    """Each series' markers (their centres), by series key, left to right."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iterfind(".//svg:g[@class='series']", NS):
        centres = []
        for shape in group:
            tag = shape.tag.split("}")[1]
            if tag == "circle":
                centres.append((float(shape.get("cx")), float(shape.get("cy"))))
            elif tag == "rect":
                centres.append((float(shape.get("x")) + 4, float(shape.get("y")) + 4))
            elif tag == "path" and shape.get("fill") != "none":
                x, y = map(float, re.match(r"M([\d.]+) ([\d.]+)", shape.get("d")).groups())
                centres.append((x, y + 5.5))
        found[group.get("data-series")] = centres
    return found


def tooltips(svg: str, key: str) -> list[str]:
    group = ET.fromstring(svg).find(f".//svg:g[@data-series='{key}']", NS)
    return [title.text for title in group.iterfind(".//svg:title", NS)]


def test_each_series_has_one_point_per_catalog_size():
    svg = plot.render(RUNS)
    points = series_points(svg)
    assert list(points) == ["dag_first", "raw", "dag_unchanged"]
    for key, centres in points.items():
        assert len(centres) == 3, key  # 100, 1000 (two runs: their median) and 3000
        xs = [x for x, _ in centres]
        assert xs == sorted(xs), key
    # The same sizes line up across series: one x per catalog size.
    assert {tuple(x for x, _ in c) for c in points.values()} == {tuple(x for x, _ in points["raw"])}


def test_a_point_is_the_median_of_its_sizes_runs_in_ms_per_product():
    svg = plot.render(RUNS)
    assert tooltips(svg, "dag_first") == [
        "DAG, first sync: 100 products, 300 ms per product (1 run)",
        "DAG, first sync: 1,000 products, 40 ms per product (median of 2 runs)",
        "DAG, first sync: 3,000 products, 20 ms per product (1 run)",
    ]
    # The raw series is the run's fastest raw loop, not its first.
    assert tooltips(svg, "raw")[0] == "raw loop, fastest of the run: 100 products, 80 ms per product (1 run)"
    dag, raw = series_points(svg)["dag_first"], series_points(svg)["raw"]
    assert dag[0][1] < raw[0][1]  # slower is higher up


def test_a_run_of_several_rounds_draws_its_fastest_first_sync():
    rounds = {**run(100, 8.0, 30.0, 10.0, at="2026-12-07T01:00:00Z"), "fastest_dag_seconds": 20.0}
    assert tooltips(plot.render([rounds]), "dag_first") == [
        "DAG, first sync: 100 products, 200 ms per product (1 run)"
    ]


def test_the_title_says_where_and_when():
    svg = plot.render(RUNS)
    subtitle = ET.fromstring(svg).findall("svg:text", NS)[1].text
    assert "2 CPUs of an AMD EPYC, 23.5 GB" in subtitle
    assert "2026-12-07 to 2026-12-09" in subtitle and "4 runs" in subtitle
    assert "CPU yardstick 150 to 250 ms" in subtitle


def test_runs_that_are_not_the_one_variant_catalog_bench_are_left_out():
    other = [
        {**run(1000, 1.0, 1.0, 1.0, at="2026-12-10T00:00:00Z"), "variants": 4},
        {"recorded_at": "2026-12-10T00:00:00Z", "products": 1000, "catalog_first": {}, "stock_unchanged": {}},
    ]
    assert plot.render(RUNS + other) == plot.render(RUNS)


def test_a_run_without_the_raw_loop_draws_the_dag_only():
    skipped = run(500, 1.0, 5.0, 1.0, at="2026-12-07T00:00:00Z")
    for key in ("raw", "raw_again", "fastest_raw_seconds"):
        skipped.pop(key)
    points = series_points(plot.render([skipped]))
    assert (len(points["dag_first"]), len(points["dag_unchanged"])) == (1, 1)
    assert "raw" not in points


def test_the_same_data_draws_the_same_bytes(tmp_path: Path):
    data = tmp_path / "runs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in RUNS) + "\n", encoding="utf-8")
    out = tmp_path / "plot.svg"
    assert plot.main(["--data", str(data), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == plot.render(RUNS)
    assert plot.main(["--data", str(data), "--out", str(out), "--check"]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("300 ms", "301 ms"), encoding="utf-8")
    assert plot.main(["--data", str(data), "--out", str(out), "--check"]) == 1


def test_a_line_that_is_not_json_is_named(tmp_path: Path):
    data = tmp_path / "runs.jsonl"
    data.write_text(json.dumps(RUNS[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"runs\.jsonl, line 2"):
        plot.load(data)


def test_the_bench_appends_its_line_with_the_time_it_was_recorded(tmp_path: Path):
    from tests.stack.bench import record

    data = tmp_path / "data" / "runs.jsonl"
    for result in RUNS[:2]:
        record(data, {k: v for k, v in result.items() if k != "recorded_at"})
    recorded = plot.load(data)
    assert [r["products"] for r in recorded] == [100, 1000]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["recorded_at"]) for r in recorded)
    assert len(series_points(plot.render(recorded))["dag_first"]) == 2


def test_the_checked_in_plot_is_what_the_checked_in_runs_draw():
    """Runs recorded without ./dev docs (or the SVG edited by hand) fail here."""
    assert plot.SVG.read_text(encoding="utf-8") == plot.render(plot.load(plot.DATA)), (
        "docs/images/time-per-product.svg is out of date: run ./dev docs"
    )
