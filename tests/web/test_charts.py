"""The SVG drawing: a `<title>` on every point, no script, a point drawn even alone."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from services.web import charts
from services.web.chart_data import pareto_front

SVG = "{http://www.w3.org/2000/svg}"


def titles(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [
        group.findtext(f"{SVG}title") or ""
        for group in root.iter(f"{SVG}g")
        if group.get("class") in ("dots", "bar")
    ]


def test_every_point_has_its_title_and_no_script() -> None:
    points = [charts.Point("a/b: 50.00", 0.1, 50.0), charts.Point("c/d: 61.50", 2.0, 61.5)]
    svg = charts.size_chart("Size", points, points[:1], "Mean (Task)")
    assert titles(svg) == ["a/b: 50.00", "c/d: 61.50", "a/b: 50.00"]
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-label")
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))


def test_a_single_point_is_drawn() -> None:
    [title] = titles(charts.size_chart("Size", [charts.Point("a/b", 0.1, 50.0)], [], "Mean"))
    assert title == "a/b"
    assert titles(charts.time_chart("Time", [charts.Point("x", date(2024, 1, 2), 3.0)], "M"))


def test_radar_lines_and_bars_title_their_points() -> None:
    radar = charts.radar_chart(
        "R", ["A", "B", "C"], {"m": [charts.Point(f"m: {a}", a, 1.0) for a in "ABC"]}
    )
    assert titles(radar) == ["m: A", "m: B", "m: C"]
    lines = charts.lines_chart("L", ["d1", "d2"], {"m": [charts.Point("m d1", "d1", 1), None]}, "y")
    assert titles(lines) == ["m d1"]
    assert titles(charts.bars_chart("B", [charts.Point("t: 1", "t", 1.0)], "x")) == ["t: 1"]


def test_the_pareto_front() -> None:
    points = [(1.0, 50.0), (0.1, 40.0), (2.0, 45.0), (0.1, 42.0), (5.0, 60.0)]
    assert pareto_front(points) == [3, 0, 4]
