"""The web pages: task leaderboards, benchmark views (`benchmark_routes`), rank history and
submission status, read from the store only. Each group of pages is a router, included here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import quote

import mteb
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from mteb.abstasks import AbsTask
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web import (
    benchmark_forms,
    benchmark_routes,
    chart_pages,
    compare,
    custom_task_pages,
    models,
    signin,
    task_forms,
)
from services.web.benchmarks import BenchmarkViews, default_history_models, history_rows
from services.web.caching import add_serving
from services.web.catalogue import resolve
from services.web.custom_task_pages import custom_task_page
from services.web.follow import follow_router
from services.web.renderings import Format, csv_response, json_response, split_format
from services.web.submit import submit_router
from services.web.templating import TEMPLATES
from services.web.visibility import seen
from shared.documents import task_leaderboard_id
from shared.health import StoreWatch
from shared.http_metrics import instrument
from shared.memory import collect_cycles_rarely, keep_freed_memory
from shared.settings import Settings, get_settings
from shared.store import Store
from shared.summary.history import history
from shared.summary.tasks import benchmark_named

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
UNAVAILABLE_RETRY_S = 5


def known_task(name: str) -> AbsTask:
    """A task of mteb's registry (a custom task is looked up among those the viewer sees)."""
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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.mongodb_url, "set LEADERBOARD_MONGODB_URL"
        app.state.store = Store(
            settings.mongodb_url, settings.mongodb_database, settings.store_timeout_s
        )
        app.state.watch = StoreWatch(app.state.store, settings.store_timeout_s)
        app.state.watch.start()
        keep_freed_memory()  # custom subsets build tables
        collect_cycles_rarely()
        app.state.benchmarks = BenchmarkViews(app.state.store, settings.bootstrap_resamples)
        yield
        await app.state.watch.stop()
        await app.state.store.close()

    app = FastAPI(title="leaderboard web", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.include_router(signin.router)
    app.include_router(task_forms.router)  # before the pages whose paths they share
    app.include_router(benchmark_forms.router)
    app.include_router(custom_task_pages.router)
    app.include_router(benchmark_routes.router)
    app.include_router(chart_pages.router)
    app.include_router(models.router)
    app.include_router(compare.router)
    app.include_router(follow_router(TEMPLATES))
    app.include_router(submit_router(settings, TEMPLATES))
    add_serving(app)

    def store(request: Request) -> Store:
        return request.app.state.store  # type: ignore[no-any-return]

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, error: StarletteHTTPException) -> Response:
        if request.url.path.endswith((".json", ".csv")):
            return json_response({"error": error.detail}, status_code=error.status_code)
        return TEMPLATES.TemplateResponse(
            request, "error.html", {"detail": error.detail}, status_code=error.status_code
        )

    def unavailable(request: Request) -> Response:
        """503 while the store is down: a page saying so, or JSON for `.json` and `.csv`."""
        detail = "The store (MongoDB) that holds the leaderboards is unavailable."
        headers = {"Retry-After": str(UNAVAILABLE_RETRY_S)}
        if request.url.path.endswith((".json", ".csv")):
            body = {"error": "store_unavailable", "detail": detail}
            return JSONResponse(body, status_code=503, headers=headers)
        return TEMPLATES.TemplateResponse(
            request, "unavailable.html", {"detail": detail}, status_code=503, headers=headers
        )

    @app.middleware("http")
    async def store_first(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Answer 503 at once while the store is known to be down."""
        if not request.app.state.watch.up and request.url.path not in ("/healthz", "/metrics"):
            return unavailable(request)
        return await call_next(request)

    @app.exception_handler(PyMongoError)
    async def store_failed(request: Request, error: PyMongoError) -> Response:
        request.app.state.watch.failed(error)
        return unavailable(request)

    @app.get("/tasks/{path_name}")
    async def task_page(request: Request, path_name: str, sort: str | None = None) -> Response:
        name, fmt = split_format(path_name)
        custom = seen(request).tasks.get(name)
        task = known_task(name) if custom is None else None
        leaderboard = await store(request).get_leaderboard(task_leaderboard_id(name))
        rows = [row.model_dump(mode="json") for row in leaderboard.rows] if leaderboard else []
        rows = sort_rows(rows, sort)
        if task is None:
            assert custom is not None
            return custom_task_page(request, custom, fmt, leaderboard, rows, sort)
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
        custom = [
            {
                "name": name,
                "tasks": len(doc.tasks),
                "owner": doc.owner,
                "visibility": doc.visibility.value,
                "generated_at": stored[name].generated_at.isoformat() if name in stored else None,
            }
            for name, doc in sorted(seen(request).benchmarks.items())
        ]
        context = {"benchmarks": listed, "custom": custom}
        return TEMPLATES.TemplateResponse(request, "benchmarks.html", context)

    @app.get("/history/{path_name:path}")
    async def history_page(
        request: Request,
        path_name: str,
        m: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
    ) -> Response:
        name, fmt = split_format(path_name.rstrip("/"))
        canonical = resolve(name, seen(request).benchmarks)
        if canonical is None:
            return benchmark_routes.unknown(request, name, fmt)
        if canonical != path_name.removesuffix(f".{fmt.value}"):  # lenient name, trailing slash
            suffix = "" if fmt is Format.HTML else f".{fmt.value}"
            target = f"/history/{quote(canonical, safe='')}{suffix}"
            return RedirectResponse(benchmark_routes.with_query(target, request), 308)
        benchmark = benchmark_named(canonical)
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
    async def healthz(request: Request) -> JSONResponse:
        """200 when the store answers; 503 naming it when not."""
        watch: StoreWatch = request.app.state.watch
        up = watch.up and await watch.check()  # known down: answer at once
        body = {"status": "ok" if up else "degraded", "store": watch.state}
        return JSONResponse(body, status_code=200 if up else 503)

    instrument(app)
    return app
