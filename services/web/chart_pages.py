"""Chart pages of a benchmark: `/charts/<kind>/<benchmark>` as HTML (the SVG inline, its data
table beside it), `.svg`, `.json` and `.csv`, taking the benchmark page's query string.

A chart is drawn once per (kind, benchmark, stored leaderboard version, query) and kept in a
small cache; custom task subsets (no stored version) are drawn on every request.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import mteb
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response

from services.web import charts
from services.web.benchmarks import (
    BenchmarkViews,
    TableQuery,
    TableView,
    default_history_models,
    history_rows,
)
from services.web.chart_data import ChartData, dense, radar_data, rank_data, size_data, time_data
from services.web.efficiency import efficiency_data, speed_chart
from services.web.model_metas import model_metas, release_day
from services.web.query import table_query
from services.web.renderings import Format, csv_response, json_response, split_format
from services.web.templating import TEMPLATES
from shared.documents import benchmark_leaderboard_id
from shared.store import Store
from shared.summary.display import MEAN_TASK
from shared.summary.history import history

router = APIRouter()
CACHED_CHARTS = 256
SVG_SUFFIX = ".svg"


class ChartKind(StrEnum):
    SIZE = "size"
    TIME = "time"
    TASK_TYPES = "task-types"
    RANK = "rank"
    EFFICIENCY = "efficiency"


TITLES = {
    ChartKind.SIZE: "Performance per model size",
    ChartKind.TIME: "Performance over time (by release date)",
    ChartKind.TASK_TYPES: "Performance per task type (top models)",
    ChartKind.RANK: "Rank over time",
    ChartKind.EFFICIENCY: "Speed against quality (models evaluated here)",
}


@dataclass(frozen=True)
class ChartView:
    """A drawn chart and the data it draws."""

    kind: ChartKind
    benchmark: str
    version: int | None
    data: ChartData
    svg: str

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    def context(self) -> dict[str, Any]:
        """What `.json` shows (the HTML page shows the same)."""
        return {
            "benchmark": self.benchmark,
            "chart": self.kind.value,
            "title": self.title,
            "version": self.version,
            "columns": self.data.columns,
            "rows": self.data.rows,
        }


class ChartCache:
    """The last `size` charts drawn, by (kind, benchmark, version, query)."""

    def __init__(self, size: int = CACHED_CHARTS) -> None:
        self.size = size
        self.charts: OrderedDict[tuple[Any, ...], ChartView] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> ChartView | None:
        found = self.charts.get(key)
        if found is not None:
            self.charts.move_to_end(key)
        return found

    def put(self, key: tuple[Any, ...], chart: ChartView) -> None:
        self.charts[key] = chart
        self.charts.move_to_end(key)
        while len(self.charts) > self.size:
            self.charts.popitem(last=False)


def chart_cache(request: Request) -> ChartCache:
    """The app's chart cache, made on first use."""
    state = request.app.state
    if not hasattr(state, "chart_cache"):
        state.chart_cache = ChartCache()
    cache: ChartCache = state.chart_cache
    return cache


def benchmark_named(name: str) -> mteb.Benchmark:
    try:
        return mteb.get_benchmark(name)
    except (KeyError, ValueError):
        raise HTTPException(404, f"no benchmark named {name!r}") from None


def split_chart_format(path_name: str) -> tuple[str, Format | None]:
    """`MTEB(eng, v2).svg` → (`MTEB(eng, v2)`, None: SVG); else as `split_format`."""
    if path_name.endswith(SVG_SUFFIX):
        return path_name[: -len(SVG_SUFFIX)], None
    return split_format(path_name)


async def table_chart(kind: ChartKind, view: TableView, store: Store) -> ChartView:
    """A chart of the benchmark table `view`."""
    title = f"{view.benchmark}: {TITLES[kind]}"
    if kind is ChartKind.SIZE:
        data = size_data(view.rows)
        svg = charts.size_chart(title, data.points, data.extra["front"], MEAN_TASK)
    elif kind is ChartKind.TIME:
        metas = await model_metas(store, [row["Model"] for row in view.rows])
        data = time_data(view.rows, {name: release_day(meta) for name, meta in metas.items()})
        svg = charts.time_chart(title, data.points, MEAN_TASK)
    elif kind is ChartKind.TASK_TYPES:
        data = radar_data(view.rows, view.table.task_types)
        svg = charts.radar_chart(title, data.axes, data.extra)
    else:
        data = await efficiency_data(store, view)
        svg = speed_chart(title, data)
    return ChartView(kind, view.benchmark, view.version, data, svg)


async def rank_chart(store: Store, benchmark: str, models: list[str]) -> ChartView:
    snapshots = await history(store, benchmark)
    shown = models or default_history_models(snapshots)
    data = rank_data(history_rows(snapshots, shown), shown)
    lines = {model: dense(line, data.axes) for model, line in data.extra.items()}
    title = f"{benchmark}: {TITLES[ChartKind.RANK]}"
    svg = charts.lines_chart(title, data.axes, lines, "Rank (Borda), 1 on top")
    version = snapshots[-1].version if snapshots else None
    return ChartView(ChartKind.RANK, benchmark, version, data, svg)


def chart_kind(name: str) -> ChartKind:
    try:
        return ChartKind(name)
    except ValueError:
        kinds = ", ".join(kind.value for kind in ChartKind)
        raise HTTPException(404, f"no chart named {name!r}; the charts are {kinds}") from None


@router.get("/charts/{kind}/{path_name:path}")
async def chart_page(
    request: Request,
    kind_name: Annotated[str, Path(alias="kind")],
    path_name: str,
    query: Annotated[TableQuery, Depends(table_query)],
    m: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
) -> Response:
    kind = chart_kind(kind_name)
    name, fmt = split_chart_format(path_name)
    benchmark = benchmark_named(name)
    store: Store = request.app.state.store
    cache = chart_cache(request)
    head = await store.benchmark_leaderboard_head(benchmark_leaderboard_id(benchmark.name))
    key = (kind, benchmark.name, head[0] if head else None, query.parameters(), tuple(m))
    chart = cache.get(key) if head and not query.tasks else None
    if chart is None:
        if kind is ChartKind.RANK:
            chart = await rank_chart(store, benchmark.name, m)
        else:
            views: BenchmarkViews = request.app.state.benchmarks
            try:
                view = await views.table_view(benchmark, query)
            except ValueError as error:
                raise HTTPException(422, str(error)) from None
            chart = await table_chart(kind, view, store)
        if head and not query.tasks:
            cache.put(key, chart)
    if fmt is None:
        return Response(chart.svg, media_type="image/svg+xml")
    if fmt is Format.JSON:
        return json_response(chart.context() | {"query": query.parameters()})
    if fmt is Format.CSV:
        return csv_response(chart.data.rows, chart.data.columns, f"{benchmark.name} {kind.value}")
    context = chart.context() | {
        "svg": chart.svg,
        "query": query,
        "kinds": [(k.value, TITLES[k]) for k in ChartKind],
        "models": m,
        "score_columns": chart.data.score_columns,
    }
    return TEMPLATES.TemplateResponse(request, "chart.html", context)
