"""The benchmark pages: home (the default benchmark's leaderboard) and `/benchmarks/<name>`
with its views (`/per-task`, `/per-language`, `/task-info`), each also `.json` and `.csv`.

Names are lenient: `+` for a space, any case, a trailing slash; each redirects to the canonical
URL. An unknown name gets a 404 that lists the closest names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import mteb
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from mteb.benchmarks.benchmark import RtebBenchmark

from services.web.benchmarks import BenchmarkViews, View, ViewKind
from services.web.catalogue import closest, custom_group, menu, resolve, safe_markdown
from services.web.efficiency import efficiency_data
from services.web.query import (
    MODEL_TYPE_CHOICES,
    SIZE_BUCKETS_M,
    BenchmarkQuery,
    FieldError,
    QueryError,
    parse_query,
)
from services.web.renderings import Format, csv_response, json_response, split_format
from services.web.selection import choices_of
from services.web.table_rows import TableRows
from services.web.templating import TEMPLATES, display_time
from services.web.visibility import hidden_tasks, may_change, seen
from shared.summary.display import EVALUATED_HERE, OFFICIAL
from shared.summary.tasks import benchmark_named

router = APIRouter()

DESCENDING_FIRST_EXCEPT = {
    "Rank (Borda)",
    "Model",
    "Revision",
    "Rank (Borda) CI Low",
    "Rank (Borda) CI High",
    "Tie Group",
    "Task",
    "Type",
    "Languages",
    "Domains",
    "Modalities",
    "Main Score",
    "Reference",
    "Dataset Revision",
}
"""Columns whose first click sorts ascending (names and ranks); scores sort best first."""


def benchmark_path(name: str, kind: ViewKind = ViewKind.SUMMARY, fmt: str = "") -> str:
    """The canonical path of a benchmark view (`fmt`: "", ".json" or ".csv")."""
    path = f"/benchmarks/{quote(name, safe='')}"
    return f"{path}/{kind.value}{fmt}" if kind.value else f"{path}{fmt}"


def split_view(path: str) -> tuple[str, ViewKind]:
    """`MTEB(eng, v2)/per-task` → (`MTEB(eng, v2)`, per-task); no benchmark name has a `/`."""
    head, _, tail = path.rpartition("/")
    if head:
        for kind in ViewKind:
            if kind.value and tail == kind.value:
                return head, kind
    return path, ViewKind.SUMMARY


def views(request: Request) -> BenchmarkViews:
    return request.app.state.benchmarks  # type: ignore[no-any-return]


def with_query(path: str, request: Request) -> str:
    return f"{path}?{request.url.query}" if request.url.query else path


def unknown(request: Request, name: str, fmt: Format) -> Response:
    """404 with the closest benchmark names (of those the viewer may see)."""
    near = closest(name, seen(request).benchmarks)
    detail = f"no benchmark named {name!r}"
    if fmt is not Format.HTML:
        return json_response({"error": detail, "closest": near}, status_code=404)
    links = [(candidate, benchmark_path(candidate)) for candidate in near]
    return TEMPLATES.TemplateResponse(
        request, "error.html", {"detail": detail, "closest": links}, status_code=404
    )


def sort_link(view: View, column: str) -> str:
    """The sort parameter a click on `column`'s header asks for (the reverse when sorted)."""
    if view.query.sort == column:
        return f"-{column}"
    if view.query.sort == f"-{column}":
        return column
    return column if column in DESCENDING_FIRST_EXCEPT else f"-{column}"


def aria_sort(view: View, column: str) -> str | None:
    """`aria-sort` of `column`'s header: the explicit sort, else the rank order."""
    sort = view.query.sort
    if sort.lstrip("-") not in view.columns:
        default = "Task" if view.kind is ViewKind.TASK_INFO else "Rank (Borda)"
        return "ascending" if column == default and view.kind is not ViewKind.TASK_INFO else None
    if sort.lstrip("-") != column:
        return None
    return "descending" if sort.startswith("-") else "ascending"


VIEW_TITLES = {
    ViewKind.SUMMARY: "Summary",
    ViewKind.PER_TASK: "Per task",
    ViewKind.PER_LANGUAGE: "Per language",
    ViewKind.TASK_INFO: "Task information",
}
TEXT_COLUMNS = {"Model", "Revision", *DESCENDING_FIRST_EXCEPT - {"Rank (Borda)"}, "Public"}


def column_class(column: str) -> str:
    """The CSS class of a column's cells: sticky rank and model, right-aligned numbers."""
    if column == "Rank (Borda)":
        return "c-rank num"
    if column in ("Model", "Task"):
        return "c-model"
    return "" if column in TEXT_COLUMNS else "num"


def size_label(millions: int) -> str:
    return f"<{millions // 1000}B" if millions >= 1000 else f"<{millions}M"


def caption(view: View) -> str:
    """What the table shows, in a sentence."""
    count = f"{len(view.rows)} models"
    if view.kind is ViewKind.TASK_INFO:
        return f"{len(view.rows)} tasks, as mteb's registry describes them"
    if view.kind is ViewKind.PER_LANGUAGE:
        return (
            f"Mean score (×100) per language over the official pool's results on "
            f"{len(view.tasks)} tasks; models ordered by a Borda count over languages; {count}"
        )
    if view.version is not None:
        made = f"Version {view.version}, generated {display_time(view.generated_at)}"
    else:
        made = f"Computed now on {len(view.tasks)} tasks and the filtered pool, re-ranked"
    if view.kind is ViewKind.PER_TASK:
        return f"{made}; scores ×100 per task, models by rank; {count}"
    return (
        f"{made}; scores ×100; intervals are 95 % bootstrap intervals over tasks "
        f"({view.bootstrap_resamples} resamples); {count}"
    )


def empty_reason(view: View) -> str:
    query = view.query
    if not view.tasks:
        return "no task of the benchmark is left by this customisation, or none has results"
    if query.search or query.pool_filtered or query.pool.value != "all":
        return "no model passes these filters"
    return f"no model has results on {view.benchmark} yet"


def page_context(
    request: Request,
    benchmark: mteb.Benchmark,
    view: View,
    errors: dict[str, FieldError],
    home: bool,
) -> dict[str, Any]:
    """What the HTML page shows besides the view's data."""
    query = view.query
    parameters = query.parameters()
    suffix = f"?{parameters}" if parameters else ""
    here = benchmark_path(benchmark.name, view.kind)
    return view.context() | {
        "view_kind": view.kind.value,
        "query": query,
        "errors": errors,
        "home": home,
        "here": here,
        "json_url": benchmark_path(benchmark.name, view.kind, ".json") + suffix,
        "csv_url": benchmark_path(benchmark.name, view.kind, ".csv") + suffix,
        "share_url": str(request.url),
        "query_string": parameters,
        "menu": menu() + custom_group(seen(request).benchmarks),
        "custom_benchmark": seen(request).benchmarks.get(benchmark.name),
        "may_change": may_change(request, seen(request).benchmarks.get(benchmark.name)),
        "choices": choices_of(benchmark.name),
        "model_types": MODEL_TYPE_CHOICES,
        "description_html": safe_markdown(benchmark.description or ""),
        "citation": benchmark.citation or "",
        "zero_shot_filter": not isinstance(benchmark, RtebBenchmark),  # as mteb hides it
        "reference": benchmark.reference or "",
        "score_columns": set(view.score_columns),
        "view_title": VIEW_TITLES[view.kind],
        "caption": caption(view),
        "column_class": column_class,
        "size_options": [("", "Any")] + [(str(m), size_label(m)) for m in SIZE_BUCKETS_M],
        "outside": [row for row in view.rows if row.get(OFFICIAL) is False],
        "evaluated": [row for row in view.rows if row.get(EVALUATED_HERE)],
        "empty_reason": empty_reason(view),
        "sort_link": lambda column: query.parameters(sort=sort_link(view, column)),
        "aria_sort": lambda column: aria_sort(view, column),
    }


def requested_query(request: Request, benchmark: mteb.Benchmark) -> BenchmarkQuery:
    """The benchmark view state of the request's query string (for any page that shows a
    benchmark under the same filters: `views(request).table(benchmark, query)`); raises
    QueryError."""
    return parse_query(request.query_params.multi_items(), choices_of(benchmark.name))


async def render(
    request: Request, benchmark: mteb.Benchmark, kind: ViewKind, fmt: Format, home: bool = False
) -> Response:
    """The `kind` view of `benchmark` under the request's query, in `fmt`."""
    status, errors = 200, {}
    try:
        query = requested_query(request, benchmark)
    except QueryError as error:
        if fmt is not Format.HTML:
            fields = [vars(field) for field in error.errors]
            return json_response({"error": str(error), "fields": fields}, status_code=422)
        query, status, errors = error.query, 422, error.by_field()
    view = await views(request).view(benchmark, kind, query)
    if fmt is Format.JSON:
        return json_response(view.context())
    if fmt is Format.CSV:
        suffix = f" {kind.value}" if kind.value else ""
        return csv_response(view.rows, view.columns, f"{benchmark.name}{suffix}")
    context = page_context(request, benchmark, view, errors, home)
    if kind is ViewKind.SUMMARY:
        rows = TableRows(view.benchmark, view.version, view.rows, view.tasks, view.task_types)
        context["efficiency"] = await efficiency_data(request.app.state.store, rows)
    if home:
        stored = await request.app.state.store.list_leaderboards("task")
        hidden = hidden_tasks(request)
        context["result_tasks"] = [
            {"name": lb.name, "generated_at": lb.generated_at.isoformat()}
            for lb in stored
            if lb.name not in hidden
        ]
    template = "home.html" if home else "benchmark.html"
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


@router.get("/")
async def home(request: Request) -> Response:
    """The default benchmark's leaderboard (setting `web_default_benchmark`)."""
    name = request.app.state.settings.web_default_benchmark
    benchmark = benchmark_named(resolve(name) or name)
    return await render(request, benchmark, ViewKind.SUMMARY, Format.HTML, home=True)


@router.get("/benchmarks/{path:path}")
async def benchmark_page(request: Request, path: str) -> Response:
    """A benchmark view; lenient names redirect to the canonical URL."""
    if path.endswith("/") and path.strip("/"):
        return RedirectResponse(with_query(f"/benchmarks/{path.rstrip('/')}", request), 308)
    given, fmt = split_format(path)
    name, kind = split_view(given)
    canonical = resolve(name, seen(request).benchmarks)
    if canonical is None:
        return unknown(request, name, fmt)
    if canonical != name:
        suffix = "" if fmt is Format.HTML else f".{fmt.value}"
        target = benchmark_path(canonical, kind, suffix)
        return RedirectResponse(with_query(target, request), 308)
    return await render(request, benchmark_named(canonical), kind, fmt)
