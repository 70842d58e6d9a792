"""The web pages: home, task leaderboards and submission status, read from the store only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import mteb
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from mteb.abstasks import AbsTask
from pydantic import BeforeValidator
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web.benchmarks import (
    BenchmarkViews,
    TableQuery,
    default_history_models,
    history_rows,
)
from services.web.caching import add_serving
from services.web.follow import follow_router
from services.web.renderings import Format, csv_response, json_response, split_format
from services.web.submit import submit_router
from shared.documents import task_leaderboard_id
from shared.memory import collect_cycles_rarely, keep_freed_memory
from shared.settings import Settings, get_settings
from shared.store import Store
from shared.summary.display import Pool
from shared.summary.history import history

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TASK_COLUMNS = (
    "rank",
    "model",
    "revision",
    "main_score",
    "evaluated_at",
    "source",
    "submission_id",
    "source_file",
    "source_commit",
)
SORTABLE = {"rank", "model", "main_score", "evaluated_at"}


def blank_as_unset(value: Any) -> Any:
    """A form field left empty (`min_params=`, as a browser submits it) as not given."""
    return None if value == "" else value


Blank = BeforeValidator(blank_as_unset)


def display_score(value: float | None) -> str:
    """mteb's display: ×100 with two decimals."""
    return "" if value is None else f"{value * 100:.2f}"


def display_time(value: str | None) -> str:
    """An ISO timestamp as `2026-11-27 17:43:35 UTC`."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


TEMPLATES.env.filters["score"] = display_score
TEMPLATES.env.filters["when"] = display_time


def known_task(name: str) -> AbsTask:
    try:
        return mteb.get_task(name)
    except KeyError:
        raise HTTPException(404, f"no task named {name!r}") from None


def sort_rows(rows: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """Rows ordered by `sort` (a column, `-column` for descending); unknown columns are ignored."""
    if not sort or sort.lstrip("-") not in SORTABLE:
        return rows
    key = sort.lstrip("-")
    return sorted(rows, key=lambda row: row[key], reverse=sort.startswith("-"))


def known_benchmark(name: str) -> mteb.Benchmark:
    try:
        return mteb.get_benchmark(name)
    except (KeyError, ValueError):
        raise HTTPException(404, f"no benchmark named {name!r}") from None


def benchmarks_covering(tasks: set[str]) -> list[dict[str, Any]]:
    """mteb's benchmarks that contain at least one of `tasks`, with their coverage."""
    covering = []
    for benchmark in mteb.get_benchmarks():
        names = [task.metadata.name for task in benchmark.tasks]
        evaluated = [name for name in names if name in tasks]
        if evaluated:
            covering.append(
                {"name": benchmark.name, "evaluated": len(evaluated), "total": len(names)}
            )
    return covering


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.mongodb_url, "set LEADERBOARD_MONGODB_URL"
        app.state.store = Store(settings.mongodb_url, settings.mongodb_database)
        keep_freed_memory()  # custom subsets build tables
        collect_cycles_rarely()
        app.state.benchmarks = BenchmarkViews(app.state.store, settings.bootstrap_resamples)
        yield
        await app.state.store.close()

    app = FastAPI(title="leaderboard web", lifespan=lifespan, docs_url=None, redoc_url=None)
    add_serving(app)
    app.include_router(follow_router(TEMPLATES))
    app.include_router(submit_router(settings, TEMPLATES))

    def store(request: Request) -> Store:
        return request.app.state.store  # type: ignore[no-any-return]

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, error: StarletteHTTPException) -> Response:
        if request.url.path.endswith((".json", ".csv")):
            return json_response({"error": error.detail}, status_code=error.status_code)
        return TEMPLATES.TemplateResponse(
            request, "error.html", {"detail": error.detail}, status_code=error.status_code
        )

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        leaderboards = await store(request).list_leaderboards("task")
        tasks = [
            {"name": lb.name, "generated_at": lb.generated_at.isoformat()} for lb in leaderboards
        ]
        context = {"tasks": tasks, "benchmarks": benchmarks_covering({t["name"] for t in tasks})}
        return TEMPLATES.TemplateResponse(request, "home.html", context)

    @app.get("/tasks/{path_name}")
    async def task_page(request: Request, path_name: str, sort: str | None = None) -> Response:
        name, fmt = split_format(path_name)
        task = known_task(name)
        leaderboard = await store(request).get_leaderboard(task_leaderboard_id(name))
        rows = [row.model_dump(mode="json") for row in leaderboard.rows] if leaderboard else []
        rows = sort_rows(rows, sort)
        context: dict[str, Any] = {
            "task": name,
            "type": task.metadata.type,
            "main_score": task.metadata.main_score,
            "description": task.metadata.description,
            "version": leaderboard.version if leaderboard else 0,
            "generated_at": leaderboard.generated_at.isoformat() if leaderboard else None,
            "sort": sort,
            "rows": rows,
        }
        if fmt is Format.JSON:
            return json_response(context)
        if fmt is Format.CSV:
            return csv_response(rows, TASK_COLUMNS, name)
        return TEMPLATES.TemplateResponse(request, "task.html", context)

    @app.get("/benchmarks", response_class=HTMLResponse)
    async def benchmarks_page(request: Request) -> Response:
        stored = {lb.name: lb for lb in await store(request).list_leaderboards("benchmark")}
        listed = [
            {
                "name": benchmark.name,
                "tasks": len({task.metadata.name for task in benchmark.tasks}),
                "generated_at": stored[benchmark.name].generated_at.isoformat()
                if benchmark.name in stored
                else None,
            }
            for benchmark in mteb.get_benchmarks()
        ]
        return TEMPLATES.TemplateResponse(request, "benchmarks.html", {"benchmarks": listed})

    @app.get("/benchmarks/{path_name:path}")
    async def benchmark_page(
        request: Request,
        path_name: str,
        task: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
        q: str = "",
        min_params: Annotated[float | None, Blank] = None,
        max_params: Annotated[float | None, Blank] = None,
        zero_shot: Annotated[int | None, Blank] = None,
        sort: str = "",
        pool: Annotated[Pool | None, Blank] = None,
    ) -> Response:
        name, fmt = split_format(path_name)
        benchmark = known_benchmark(name)
        query = TableQuery(
            tuple(task), q, min_params, max_params, zero_shot, sort, pool or Pool.ALL
        )
        views: BenchmarkViews = request.app.state.benchmarks
        try:
            view = await views.table_view(benchmark, query)
        except ValueError as error:
            raise HTTPException(422, str(error)) from None
        if fmt is Format.JSON:
            return json_response(view.context())
        if fmt is Format.CSV:
            return csv_response(view.rows, view.columns, name)
        context = view.context() | {
            "all_tasks": view.all_tasks,
            "description": view.description,
            "query": query,
            "task_types": view.table.task_types,
        }
        return TEMPLATES.TemplateResponse(request, "benchmark.html", context)

    @app.get("/history/{path_name:path}")
    async def history_page(
        request: Request,
        path_name: str,
        m: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
    ) -> Response:
        name, fmt = split_format(path_name)
        benchmark = known_benchmark(name)
        snapshots = await history(store(request), benchmark.name)
        models = m or default_history_models(snapshots)
        rows = history_rows(snapshots, models)
        context: dict[str, Any] = {"benchmark": benchmark.name, "models": models, "rows": rows}
        if fmt is Format.JSON:
            return json_response(context)
        if fmt is Format.CSV:
            columns = (
                "day",
                "Model",
                "Rank (Borda)",
                "Rank (Borda) CI Low",
                "Rank (Borda) CI High",
                "Mean (Task)",
            )
            return csv_response(rows, columns, f"{name} history")
        days = sorted({row["day"] for row in rows})
        ranks = {(row["Model"], row["day"]): row["Rank (Borda)"] for row in rows}
        context |= {"days": days, "ranks": ranks}
        return TEMPLATES.TemplateResponse(request, "history.html", context)

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, str]:
        await store(request).ping()
        return {"status": "ok"}

    return app
