"""Charts drawn on the server as SVG with pygal.

Why pygal: it draws every chart these pages need (log-scaled XY scatter, date axis, radar,
lines, bars) in pure Python in a few milliseconds per chart, emits plain SVG that scales with its
`viewBox` and needs no script once its tooltip JavaScript (a CDN link) is turned off, and it
writes each point as its own `<g>` with its label in a `<desc>`. matplotlib takes tens of
milliseconds a chart and writes points as anonymous paths; Vega-Lite (vl-convert) has no radar
and labels points only through `aria-label`s.

pygal's tooltip script is left out (a CDN link, and an inline configuration). pygal gives a
point no `<title>` (browsers show a `<title>` as the point's tooltip, and tests
read them): every point here is added with its full title text as pygal's `label`, and
`with_point_titles` copies that label into a `<title>` of the point's group.

Colours are the Okabe–Ito palette (distinct for the common colour-vision deficiencies), ordered so
that neighbours differ in lightness; lines also differ by dash pattern, so series stay apart in
grey.
"""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pygal
from pygal.style import Style

# pygal appends a legacy import hook for its map plugins (unused here) on which every failed
# import elsewhere raises an ImportWarning: it is taken out.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9", "#999999")
DASHES = ("", "8,4", "2,3", "8,3,2,3", "12,4", "4,4", "1,2", "16,4,4,4")
STYLE = Style(
    font_family="system-ui, sans-serif",
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#595959",
    colors=PALETTE,
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=15,
    title_font_size=18,
    tooltip_font_size=13,
    value_font_size=12,
)
POINT_GROUPS = {"dots", "bar"}


@dataclass(frozen=True)
class Point:
    """One drawn point: where it is, and its `<title>` (who it is and its value)."""

    title: str
    x: float | date | str | None
    y: float


def config(title: str, **options: object) -> dict[str, object]:
    """pygal options shared by every chart: no script, no XML declaration, our style."""
    return {
        "title": title,
        "js": [],
        "disable_xml_declaration": True,
        "style": STYLE,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 2,
        "truncate_legend": 40,
        "truncate_label": 40,
        "dots_size": 4,
        **options,
    }


def with_point_titles(chart: pygal.graph.graph.Graph, description: str) -> str:
    """The chart as SVG, each point's group holding a `<title>` of its label, the root an
    image named by `description` (the same data is in the table beside it)."""
    root: ET.Element = chart.render_tree()
    for parent in list(root.iter()):
        for script in parent.findall("script"):  # pygal's tooltip configuration: no script
            parent.remove(script)
    for group in root.iter("g"):
        if group.get("class") not in POINT_GROUPS:
            continue
        label = next((d for d in group.iter("desc") if d.get("class") == "label"), None)
        if label is not None and label.text:
            title = ET.Element("title")
            title.text = label.text
            group.insert(0, title)
    root.set("role", "img")
    root.set("aria-label", description)
    root.set("class", f"{root.get('class', '')} chart".strip())
    return ET.tostring(root, encoding="unicode")


def span(values: Sequence[float], log: bool = False) -> tuple[float, float] | None:
    """An axis range around `values` with a margin (pygal draws nothing over an empty range,
    as one point's is)."""
    if not values:
        return None
    low, high = min(values), max(values)
    if log:
        return low / 1.5, high * 1.5
    margin = max(1.0, (high - low) * 0.05)
    return low - margin, high + margin


def log_labels(low: float, high: float) -> list[float]:
    """1, 2 and 5 times the powers of ten between `low` and `high` (a log axis's labels)."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [
        m * 10.0**e for e in range(first, last + 1) for m in (1, 2, 5) if low <= m * 10.0**e <= high
    ]


def log_x_axis(points: Sequence[Point]) -> dict[str, object]:
    """pygal's options for `points` on a log x axis (numeric x): ranges with a margin, and
    labels at 1, 2 and 5 times the powers of ten."""
    xs = [float(p.x) for p in points if isinstance(p.x, int | float)]
    xrange = span(xs, log=True)
    return {
        "xrange": xrange,
        "range": span([p.y for p in points]),
        "x_labels": log_labels(*xrange) if xrange else [],
    }


def whole_numbers(values: Sequence[float], most: int = 12) -> list[int]:
    """Whole-number axis labels spanning `values` (ranks), at most about `most` of them."""
    if not values:
        return []
    low, high = int(min(values)), int(max(values)) + 1
    step = max(1, (high - low) // most + 1)
    return list(range(low, high + 1, step))


def points_of(points: Sequence[Point]) -> list[dict[str, object]]:
    return [{"value": (p.x, p.y), "label": p.title} for p in points]


def size_chart(title: str, models: Sequence[Point], front: Sequence[Point], score: str) -> str:
    """Score against parameters (log scale), with the Pareto front drawn as a line."""
    chart = pygal.XY(
        **config(
            title,
            logarithmic=True,
            x_title="Total parameters (billions, log scale)",
            y_title=f"{score} (×100)",
            x_value_formatter=lambda x: f"{x:g}",
            stroke=False,
            **log_x_axis(models),
        )
    )
    chart.add("Models", points_of(models), stroke=False)
    chart.add(
        "Pareto front (best score for its size)",
        points_of(front),
        stroke=True,
        show_dots=True,
        stroke_style={"width": 2, "dasharray": DASHES[1]},
    )
    return with_point_titles(chart, f"{title}: scatter of {len(models)} models")


def time_chart(title: str, models: Sequence[Point], score: str) -> str:
    """Score against release date."""
    chart = pygal.DateLine(
        **config(
            title,
            x_title="Release date",
            y_title=f"{score} (×100)",
            x_value_formatter=lambda day: day.isoformat(),
            x_label_rotation=30,
            range=span([p.y for p in models]),
        )
    )
    chart.add("Models", points_of(models), stroke=False)
    return with_point_titles(chart, f"{title}: scatter of {len(models)} models")


def radar_chart(title: str, axes: Sequence[str], series: Mapping[str, Sequence[Point]]) -> str:
    """One closed line per series over `axes` (a point's x is its axis)."""
    chart = pygal.Radar(**config(title, fill=False, y_title="score (×100)"))
    chart.x_labels = list(axes)
    for n, (name, points) in enumerate(series.items()):
        chart.add(
            name,
            [{"value": p.y, "label": p.title} for p in points],
            stroke_style={"width": 2, "dasharray": DASHES[n % len(DASHES)]},
        )
    return with_point_titles(chart, f"{title}: radar of {len(series)} series")


def lines_chart(
    title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[Point | None]], y_title: str
) -> str:
    """One line per series over `x_labels`, rank 1 on top (a gap where a point is None)."""
    ranks = [p.y for points in series.values() for p in points if p is not None]
    chart = pygal.Line(
        **config(
            title,
            inverse_y_axis=True,
            x_title="Day",
            y_title=y_title,
            x_label_rotation=30,
            y_labels=whole_numbers(ranks),
        )
    )
    chart.x_labels = list(x_labels)
    for n, (name, points) in enumerate(series.items()):
        chart.add(
            name,
            [None if p is None else {"value": p.y, "label": p.title} for p in points],
            stroke_style={"width": 2, "dasharray": DASHES[n % len(DASHES)]},
        )
    return with_point_titles(chart, f"{title}: lines of {len(series)} series")


def bars_chart(title: str, bars: Sequence[Point], x_title: str) -> str:
    """Horizontal bars, one per point (its x the bar's name)."""
    chart = pygal.HorizontalBar(
        **config(title, show_legend=False, x_title=x_title, height=max(300, 28 * len(bars) + 120))
    )
    chart.x_labels = [str(p.x) for p in bars]
    chart.add(x_title, [{"value": p.y, "label": p.title} for p in bars])
    return with_point_titles(chart, f"{title}: {len(bars)} bars")
