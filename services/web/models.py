"""Model pages: `/models/<org>/<name>` (and `.json`, `.csv` of its per-task scores).

A model's ModelMeta (mteb's registry, else the `models` document stored for it), every benchmark
table that ranks it, its per-task scores with its percentile among the models evaluated on the
task, the revisions stored, and for runs made here their efficiency and reproducibility envelope.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from difflib import get_close_matches
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from mteb.models import ModelMeta
from mteb.models.model_implementations import MODEL_REGISTRY
from scipy.stats import percentileofscore

from services.web import charts
from services.web.chart_data import dense, hundred
from services.web.efficiency import efficiency_rows, hardware
from services.web.model_index import Heads, ModelIndexes, model_indexes
from services.web.model_metas import model_metas
from services.web.renderings import Format, csv_response, json_response, split_format
from services.web.templating import TEMPLATES
from services.web.visibility import hidden
from shared.documents import ResultDoc
from shared.summary.models import registered
from shared.summary.tasks import task_named

router = APIRouter()
HUB = "https://huggingface.co/"
UNSHOWN_FIELDS = {"loader"}
"""ModelMeta fields that are code, not data."""
MAX_LINES = len(charts.PALETTE)
"""Benchmarks drawn on a model's rank chart (those with the longest history); the table has all."""
TASK_COLUMNS = ("task", "type", "main_score", "revision", "rank", "models", "percentile", "source")


def task_type(name: str) -> str:
    try:
        return str(task_named(name).metadata.type)
    except KeyError:
        return ""


def meta_fields(meta: ModelMeta) -> dict[str, Any]:
    """Every data field of `meta`, as JSON values: sets sorted, anything else JSON lacks (a
    function or dtype among `loader_kwargs`, an enum, an unbounded `max_tokens`) as its text."""
    fields: dict[str, Any] = {}
    for name in type(meta).model_fields:
        if name in UNSHOWN_FIELDS:
            continue
        value = getattr(meta, name, None)
        if isinstance(value, set | frozenset):
            value = sorted(map(str, value))
        fields[name] = json.loads(json.dumps(value, default=str), parse_constant=str)
    return fields


def percentile(scores: Sequence[float], score: float) -> float:
    """The share of scores (of the models evaluated on a task) at most `score`, in %."""
    return float(percentileofscore(scores, score, kind="weak"))


async def benchmarks_of(
    name: str, indexes: ModelIndexes, heads: Heads, hidden: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Each stored benchmark table holding a row of `name` (but the `hidden` ones)."""
    standings = await indexes.benchmarks.current(heads.benchmarks)
    found = []
    for benchmark, standing in sorted(standings.items()):
        row = standing.rows.get(name)
        if row is None or benchmark in hidden:
            continue
        found.append(
            {
                "benchmark": benchmark,
                "rank": row.rank,
                "rank_ci": row.rank_ci,
                "models": standing.ranked,
                "official": row.official,
                "mean_task": row.mean_task,
                "mean_task_ci": row.mean_task_ci,
                "zero_shot": row.zero_shot,
                "revision": row.revision,
                "tasks": row.scored_tasks,
                "of_tasks": row.tasks,
            }
        )
    return found


async def tasks_of(
    name: str, results: list[ResultDoc], indexes: ModelIndexes, heads: Heads
) -> list[dict[str, Any]]:
    """Per task: the score tables use (the task leaderboard's row of the model), its rank and
    percentile among the models ranked on the task."""
    names = sorted({result.task for result in results})
    standings = await indexes.task_standings(heads, names)
    rows = []
    for task in names:
        standing = standings.get(task)
        row = standing.rows.get(name) if standing else None
        if standing is None or row is None:
            continue
        rows.append(
            {
                "task": task,
                "type": task_type(task),
                "main_score": row.main_score,
                "revision": row.revision,
                "rank": row.rank,
                "models": len(standing.scores),
                "percentile": percentile(standing.scores, row.main_score),
                "source": row.source,
            }
        )
    return rows


def revisions_of(results: list[ResultDoc]) -> list[dict[str, Any]]:
    """Each stored revision: its tasks, where its results came from, when, by which mteb."""
    by_revision: defaultdict[str, list[ResultDoc]] = defaultdict(list)
    for result in results:
        by_revision[result.revision].append(result)
    return [
        {
            "revision": revision,
            "tasks": len({r.task for r in found}),
            "sources": sorted({r.source for r in found}),
            "mteb_versions": sorted({r.mteb_version for r in found if r.mteb_version}),
            "last_evaluated": max(r.evaluated_at for r in found).isoformat(),
        }
        for revision, found in sorted(by_revision.items())
    ]


def envelopes_of(results: list[ResultDoc]) -> list[dict[str, Any]]:
    """The reproducibility envelope of each result evaluated here."""
    rows = []
    for result in results:
        envelope = result.envelope
        if envelope is None:
            continue
        rows.append(
            {
                "task": result.task,
                "revision": result.revision,
                "submission_id": result.submission_id,
                "main_score": result.main_score,
                "hardware": hardware(envelope),
                "device": envelope.device,
                "dtype": envelope.dtype,
                "batch_size": envelope.batch_size,
                "dataset_revision": envelope.dataset_revision,
                "eval_splits": envelope.eval_splits,
                "hf_subsets": len(envelope.hf_subsets),
                "versions": envelope.versions,
                "evaluation_time_s": envelope.evaluation_time_s,
                "evaluator_id": envelope.evaluator_id,
                "attempt": envelope.attempt,
                "evaluated_at": result.evaluated_at.isoformat(),
            }
        )
    return rows


async def rank_history(
    name: str, benchmarks: list[dict[str, Any]], indexes: ModelIndexes, heads: Heads
) -> list[dict[str, Any]]:
    """The model's rank by day in each benchmark that ranks it."""
    ranked = {
        b["benchmark"]: heads.benchmarks[b["benchmark"]]
        for b in benchmarks
        if b["benchmark"] in heads.benchmarks
    }
    histories = await indexes.histories.current(ranked)
    return [
        {"benchmark": benchmark, "day": day, "rank": rank}
        for benchmark, ranks in sorted(histories.items())
        for day, rank in ranks.of(name)
    ]


def task_bars(name: str, tasks: list[dict[str, Any]]) -> str:
    bars = [
        charts.Point(
            f"{row['task']}: main score {hundred(row['main_score']):.2f}",
            row["task"],
            hundred(row["main_score"]),
        )
        for row in tasks
    ]
    return charts.bars_chart(f"{name}: score per task", bars, "main score (×100)")


def rank_lines(name: str, ranks: list[dict[str, Any]]) -> str:
    days = sorted({row["day"] for row in ranks})
    lines: dict[str, list[charts.Point]] = defaultdict(list)
    for row in ranks:
        title = f"{row['benchmark']}: Rank (Borda) {row['rank']} on {row['day']}"
        lines[row["benchmark"]].append(charts.Point(title, row["day"], row["rank"]))
    drawn = sorted(lines, key=lambda benchmark: (-len(lines[benchmark]), benchmark))[:MAX_LINES]
    series = {benchmark: dense(lines[benchmark], days) for benchmark in sorted(drawn)}
    return charts.lines_chart(f"{name}: rank over time", days, series, "Rank (Borda), 1 on top")


async def model_context(name: str, request: Request) -> dict[str, Any]:
    """The model page's data (`data`) and its charts, as the viewer may see them; 404 for a
    model nothing is known of. Kept until a leaderboard changes."""
    store = request.app.state.store
    indexes = model_indexes(request)
    heads = await indexes.heads()
    unseen = hidden(request)  # the viewer's: their private tasks' results are theirs only
    key = ("model", name, heads.signature(), unseen)
    kept = indexes.kept_page(key)
    if kept is not None:
        return kept
    results = [r for r in await store.results_of_model_listed(name) if r.task not in unseen]
    if registered(name) is None and not results and not await store.get_models([name]):
        raise UnknownModel(name)
    meta = (await model_metas(store, [name]))[name]
    benchmarks = await benchmarks_of(name, indexes, heads, unseen)
    tasks = await tasks_of(name, results, indexes, heads)
    live = [result for result in results if result.source == "evaluator"]
    ranks = await rank_history(name, benchmarks, indexes, heads)
    data = {
        "model": name,
        "in_registry": registered(name) is not None,
        "hub_url": HUB + name,
        "meta": meta_fields(meta),
        "benchmarks": benchmarks,
        "tasks": tasks,
        "revisions": revisions_of(results),
        "efficiency": efficiency_rows(live),
        "envelopes": envelopes_of(live),
        "rank_history": ranks,
    }
    context = {
        "data": data,
        "bars_svg": task_bars(name, tasks) if tasks else "",
        "rank_svg": rank_lines(name, ranks) if ranks else "",
    }
    indexes.keep_page(key, context)
    return context


class UnknownModel(LookupError):
    """Neither mteb's registry nor the store knows the model."""


@lru_cache(maxsize=1)
def registry_names() -> dict[str, str]:
    """mteb's registered model names by their lower case."""
    return {name.lower(): name for name in MODEL_REGISTRY}


def unknown_model(request: Request, name: str, fmt: Format) -> Response:
    """A 404 naming the closest registered models; a name differing only in case redirects."""
    canonical = registry_names().get(name.lower())
    if canonical is not None and canonical != name:
        suffix = "" if fmt is Format.HTML else f".{fmt.value}"
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/models/{quote(canonical)}{suffix}{query}", 308)
    detail = f"no model named {name!r} in mteb's registry or stored here"
    near = [registry_names()[n] for n in get_close_matches(name.lower(), registry_names(), n=5)]
    if fmt is not Format.HTML:
        return json_response({"error": detail, "closest": near}, status_code=404)
    context: dict[str, Any] = {"detail": detail}
    if near:
        context["closest"] = [(model, f"/models/{quote(model)}") for model in near]
    return TEMPLATES.TemplateResponse(request, "error.html", context, status_code=404)


@router.get("/models/{path_name:path}")
async def model_page(request: Request, path_name: str) -> Response:
    name, fmt = split_format(path_name.rstrip("/"))
    try:
        context = await model_context(name, request)
    except UnknownModel:
        return unknown_model(request, name, fmt)
    data = context["data"]
    if fmt is Format.JSON:
        return json_response(data)
    if fmt is Format.CSV:
        return csv_response(data["tasks"], TASK_COLUMNS, name.replace("/", "__"))
    page = data | {"bars_svg": context["bars_svg"], "rank_svg": context["rank_svg"]}
    return TEMPLATES.TemplateResponse(request, "model.html", page)
