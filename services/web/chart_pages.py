"""Chart pages of a benchmark: `/charts/<kind>/<benchmark>` as HTML (the SVG inline, its data
table beside it), `.svg`, `.json` and `.csv`, taking the benchmark page's query string.

A chart is drawn once per (kind, benchmark, stored leaderboard version, query string) and kept in
a small cache; a table computed for its query (customised or filtered) is drawn on every request.
The query string is read as the benchmark page reads it (`requested_query`), and names are as
lenient.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

import mteb
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.web import charts
from services.web.benchmark_routes import requested_query, unknown, with_query
from services.web.benchmarks import (
    BenchmarkViews,
    ViewKind,
    default_history_models,
    history_rows,
)
from services.web.catalogue import resolve
from services.web.chart_data import ChartData, dense, radar_data, rank_data, size_data, time_data
from services.web.efficiency import efficiency_data, speed_chart
from services.web.model_metas import model_metas, release_day
from services.web.query import BenchmarkQuery, QueryError
from services.web.renderings import Format, csv_response, json_response, split_format
from services.web.table_rows import TableRows
from services.web.templating import TEMPLATES
from services.web.visibility import seen
from shared.documents import benchmark_leaderboard_id
from shared.store import Store
from shared.summary.display import MEAN_TASK
from shared.summary.history import history
from shared.summary.tasks import benchmark_named

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
    ChartKind.RANK: "Rank over time, drawn",
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


def split_chart_format(path_name: str) -> tuple[str, Format | None]:
    """`MTEB(eng, v2).svg` → (`MTEB(eng, v2)`, None: SVG); else as `split_format`."""
    if path_name.endswith(SVG_SUFFIX):
        return path_name[: -len(SVG_SUFFIX)], None
    return split_format(path_name)


async def table_rows(
    request: Request, benchmark: mteb.Benchmark, query: BenchmarkQuery
) -> TableRows:
    """The summary table's rows under the page's query, as the benchmark page shows them."""
    views: BenchmarkViews = request.app.state.benchmarks
    view = await views.view(benchmark, ViewKind.SUMMARY, query)
    return TableRows(view.benchmark, view.version, view.rows, view.tasks, view.task_types)


async def table_chart(kind: ChartKind, view: TableRows, store: Store) -> ChartView:
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
        data = radar_data(view.rows, view.task_types)
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
    m: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
) -> Response:
    """A chart of a benchmark under the benchmark page's query string (lenient names as there;
    bad fields: 422, the HTML page drawn without them and naming them)."""
    kind = chart_kind(kind_name)
    name, fmt = split_chart_format(path_name)
    canonical = resolve(name, seen(request).benchmarks)
    if canonical is None:
        return unknown(request, name, fmt or Format.JSON)
    if canonical != name:
        suffix = SVG_SUFFIX if fmt is None else "" if fmt is Format.HTML else f".{fmt.value}"
        target = f"/charts/{kind.value}/{quote(canonical, safe='')}{suffix}"
        return RedirectResponse(with_query(target, request), 308)
    benchmark = benchmark_named(canonical)
    status, errors = 200, []
    try:
        query = requested_query(request, benchmark)
    except QueryError as error:
        if fmt is not Format.HTML:
            fields = [vars(field) for field in error.errors]
            return json_response({"error": str(error), "fields": fields}, status_code=422)
        query, status, errors = error.query, 422, error.errors
    store: Store = request.app.state.store
    cache = chart_cache(request)
    head = await store.benchmark_leaderboard_head(benchmark_leaderboard_id(benchmark.name))
    stored_version = head[0] if head else None
    key = (kind, benchmark.name, stored_version, query.parameters(), tuple(m))
    chart = cache.get(key)
    if chart is None:
        if kind is ChartKind.RANK:
            chart = await rank_chart(store, benchmark.name, m)
        else:
            chart = await table_chart(kind, await table_rows(request, benchmark, query), store)
        if chart.version is not None and chart.version == stored_version:
            cache.put(key, chart)  # a table computed for this query is drawn each time
    if fmt is None:
        return Response(chart.svg, media_type="image/svg+xml")
    if fmt is Format.JSON:
        return json_response(chart.context() | {"query": query.values()})
    if fmt is Format.CSV:
        return csv_response(chart.data.rows, chart.data.columns, f"{benchmark.name} {kind.value}")
    context = chart.context() | {
        "svg": chart.svg,
        "query_string": query.parameters(),
        "kinds": [(k.value, TITLES[k]) for k in ChartKind],
        "score_columns": chart.data.score_columns,
        "errors": errors,
    }
    return TEMPLATES.TemplateResponse(request, "chart.html", context, status_code=status)
