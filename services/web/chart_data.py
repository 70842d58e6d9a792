"""What each chart draws, from the rows of the table it illustrates: the points (each with its
title) and the data table shown beside the chart, which holds the same values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.web.charts import Point
from shared.summary.display import MEAN_TASK, MODEL, RANK, TOTAL

TOP_MODELS = 5
"""Models drawn on a radar: the best ranked with a score for every axis."""
FRONT = "On Pareto front"
RELEASED = "Release Date"


@dataclass
class ChartData:
    """A chart's points and the data table beside it."""

    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    extra: dict[str, list[Point]] = field(default_factory=dict)
    """Further series (the Pareto front), or one series per model (radar, lines)."""
    axes: list[str] = field(default_factory=list)
    """Axis labels of a radar or line chart."""
    score_columns: list[str] = field(default_factory=list)
    """Columns of raw scores (shown ×100)."""


def hundred(value: float) -> float:
    """A raw score as the tables show it: ×100, two decimals."""
    return round(value * 100, 2)


def score_title(model: str, score: float, measure: str = MEAN_TASK) -> str:
    return f"{model}: {measure} {hundred(score):.2f}"


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats (no larger size, a higher score), by size."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front: list[int] = []
    best = float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def size_data(rows: Sequence[Mapping[str, Any]]) -> ChartData:
    """Mean (Task) against total parameters, for rows with both (and a positive size)."""
    drawn = [r for r in rows if r[MEAN_TASK] is not None and (r[TOTAL] or 0) > 0]
    front_by_size = pareto_front([(r[TOTAL], r[MEAN_TASK]) for r in drawn])
    front = set(front_by_size)
    data = ChartData(columns=[MODEL, TOTAL, MEAN_TASK, FRONT], score_columns=[MEAN_TASK])
    for i, row in enumerate(drawn):
        title = f"{score_title(row[MODEL], row[MEAN_TASK])}, {row[TOTAL]:g} B parameters"
        point = Point(title, row[TOTAL], hundred(row[MEAN_TASK]))
        data.points.append(point)
        data.rows.append(
            {MODEL: row[MODEL], TOTAL: row[TOTAL], MEAN_TASK: row[MEAN_TASK], FRONT: i in front}
        )
    data.extra["front"] = [data.points[i] for i in front_by_size]
    return data


def time_data(rows: Sequence[Mapping[str, Any]], released: Mapping[str, date | None]) -> ChartData:
    """Mean (Task) against release date, for rows with both."""
    data = ChartData(columns=[MODEL, RELEASED, MEAN_TASK], score_columns=[MEAN_TASK])
    for row in rows:
        day = released.get(row[MODEL])
        if row[MEAN_TASK] is None or day is None:
            continue
        title = f"{score_title(row[MODEL], row[MEAN_TASK])}, released {day.isoformat()}"
        data.points.append(Point(title, day, hundred(row[MEAN_TASK])))
        data.rows.append({MODEL: row[MODEL], RELEASED: day.isoformat(), MEAN_TASK: row[MEAN_TASK]})
    return data


def radar_data(
    rows: Sequence[Mapping[str, Any]], axes: Sequence[str], top: int = TOP_MODELS
) -> ChartData:
    """The type means of the `top` best ranked rows with a score on every axis."""
    complete = [r for r in rows if r[RANK] is not None and all(r[a] is not None for a in axes)]
    chosen = sorted(complete, key=lambda r: r[RANK])[:top]
    data = ChartData(columns=[MODEL, *axes], axes=list(axes), score_columns=list(axes))
    for row in chosen:
        data.extra[row[MODEL]] = [
            Point(score_title(row[MODEL], row[axis], axis), axis, hundred(row[axis]))
            for axis in axes
        ]
        data.rows.append({MODEL: row[MODEL]} | {axis: row[axis] for axis in axes})
    return data


def rank_data(history: Sequence[Mapping[str, Any]], models: Sequence[str]) -> ChartData:
    """Rank (Borda) by day, one line per model (history rows: day, Model, Rank (Borda))."""
    days = sorted({row["day"] for row in history})
    ranks = {(row[MODEL], row["day"]): row[RANK] for row in history}
    data = ChartData(columns=["day", MODEL, RANK], axes=days)
    for model in models:
        line: list[Point] = []
        for day in days:
            rank = ranks.get((model, day))
            if rank is not None:
                line.append(Point(f"{model}: {RANK} {rank} on {day}", day, rank))
                data.rows.append({"day": day, MODEL: model, RANK: rank})
        if line:
            data.extra[model] = line
    return data


def dense(line: Sequence[Point], axes: Sequence[str]) -> list[Point | None]:
    """`line`'s points placed on `axes` (their x), None where it has none."""
    by_axis = {p.x: p for p in line}
    return [by_axis.get(axis) for axis in axes]
