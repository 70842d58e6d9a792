"""Compare: `/compare?model=A&model=B…` (up to 8; `org/name@revision` for one revision) side by
side per task and per task type, with a paired test of each model against the first over the
tasks both have (`shared.summary.paired`). Also `.json` and `.csv` (the per-task table)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.web import charts
from services.web.chart_data import hundred
from services.web.model_index import Heads, ModelIndexes, model_indexes
from services.web.models import task_type
from services.web.renderings import csv_response, json_response
from services.web.templating import TEMPLATES
from services.web.visibility import hidden_tasks
from shared.summary.models import registered
from shared.summary.paired import paired_test

router = APIRouter()
MAX_MODELS = 8


class CompareError(Exception):
    """A compare request that cannot be answered: a typed code for the page and `.json`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Choice:
    """A compared model, at one revision or (None) at the revision each task's table uses."""

    model: str
    revision: str | None

    @classmethod
    def parse(cls, text: str) -> Choice:
        model, _, revision = text.strip().partition("@")
        return cls(model, revision or None)

    @property
    def label(self) -> str:
        return self.model if self.revision is None else f"{self.model}@{self.revision[:12]}"

    @property
    def query(self) -> str:
        return self.model if self.revision is None else f"{self.model}@{self.revision}"


def chosen(values: list[str]) -> list[Choice]:
    """The compared models of the query string, blanks (a form's empty fields) left out."""
    choices = list(dict.fromkeys(Choice.parse(v) for v in values if v.strip()))
    if len(choices) > MAX_MODELS:
        raise CompareError(
            "too_many_models", f"compare at most {MAX_MODELS} models at once, not {len(choices)}"
        )
    return choices


async def scores_of(
    choice: Choice, indexes: ModelIndexes, heads: Heads, hidden: frozenset[str] = frozenset()
) -> dict[str, float]:
    """Task → score of `choice`: of its revision when given, else the one each task's
    leaderboard ranks (as tables join revisions); the `hidden` tasks left out."""
    listed = await indexes.store.results_of_model_listed(choice.model)
    results = [result for result in listed if result.task not in hidden]
    if not results and registered(choice.model) is None:
        raise CompareError("unknown_model", f"no model named {choice.model!r} is stored here")
    if choice.revision is not None:
        picked = {
            r.task: r.main_score
            for r in results
            if r.revision == choice.revision and r.main_score is not None
        }
        if not picked:
            raise CompareError(
                "unknown_revision",
                f"no result of {choice.model} at revision {choice.revision!r} is stored",
            )
        return picked
    standings = await indexes.task_standings(heads, {r.task for r in results})
    return {
        task: standing.rows[choice.model].main_score
        for task, standing in sorted(standings.items())
        if choice.model in standing.rows
    }


def comparison(choices: list[Choice], scores: list[dict[str, float]]) -> dict[str, Any]:
    """Side-by-side scores, differences to the first model, type means over the tasks every
    model has, and each model's paired test against the first."""
    tasks = sorted(set().union(*scores))
    shared = [t for t in tasks if all(t in s for s in scores)]
    types = {task: task_type(task) for task in tasks}
    rows = []
    for task in tasks:
        values = [s.get(task) for s in scores]
        base = values[0]
        rows.append(
            {
                "task": task,
                "type": types[task],
                "scores": values,
                "differences": [
                    None if base is None or v is None else v - base for v in values[1:]
                ],
            }
        )
    by_type: defaultdict[str, list[str]] = defaultdict(list)
    for task in shared:
        by_type[types[task]].append(task)
    type_means = [
        {"type": kind, "tasks": len(names), "means": [mean(s[t] for t in names) for s in scores]}
        for kind, names in sorted(by_type.items())
    ]
    tests = []
    for choice, other in zip(choices[1:], scores[1:], strict=True):
        both = [t for t in tasks if t in scores[0] and t in other]
        result = paired_test([scores[0][t] for t in both], [other[t] for t in both])
        tests.append(
            {"model": choice.label, "model_name": choice.model, "baseline": choices[0].label}
            | vars(result)
        )
    return {
        "models": [c.label for c in choices],
        "tasks": rows,
        "shared_tasks": len(shared),
        "task_types": type_means,
        "paired_tests": tests,
    }


def radar(labels: list[str], type_means: list[dict[str, Any]]) -> str:
    axes = [row["type"] for row in type_means]
    series = {
        label: [
            charts.Point(
                f"{label}: {row['type']} {hundred(row['means'][i]):.2f}",
                row["type"],
                hundred(row["means"][i]),
            )
            for row in type_means
        ]
        for i, label in enumerate(labels)
    }
    return charts.radar_chart("Mean score per task type (shared tasks)", axes, series)


async def compared(
    asked: list[str], indexes: ModelIndexes, hidden: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The comparison of the `asked` models (`context`) without the `hidden` tasks, its HTTP
    `status` (422 with a typed `error`) and its `radar_svg`; kept until a leaderboard changes."""
    heads = await indexes.heads()
    key = ("compare", tuple(asked), heads.signature(), hidden)
    kept = indexes.kept_page(key)
    if kept is not None:
        return kept
    context: dict[str, Any] = {"asked": [m for m in asked if m.strip()], "error": None}
    status = 200
    try:
        choices = chosen(asked)
        scores = [await scores_of(choice, indexes, heads, hidden) for choice in choices]
        if len(choices) >= 2:
            context |= comparison(choices, scores)
    except CompareError as error:
        context["error"] = {"code": error.code, "message": error.message, "field": "model"}
        status = 422
    types = context.get("task_types") or []
    radar_svg = radar(context["models"], types) if len(types) >= 3 else ""
    made = {"context": context, "status": status, "radar_svg": radar_svg}
    indexes.keep_page(key, made)
    return made


@router.get("/compare")
@router.get("/compare.json")
@router.get("/compare.csv")
async def compare_page(
    request: Request,
    model: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
) -> Response:
    suffix = request.url.path.removeprefix("/compare")
    made = await compared(model, model_indexes(request), hidden_tasks(request))
    context, status = made["context"], made["status"]
    if suffix == ".json":
        return json_response(context, status_code=status)
    if suffix == ".csv":
        if status != 200:
            return json_response(context, status_code=status)
        return csv_table(context)
    page = context | {"radar_svg": made["radar_svg"]}
    return TEMPLATES.TemplateResponse(request, "compare.html", page, status_code=status)


def csv_table(context: dict[str, Any]) -> Response:
    """The per-task table: one score column per model, then the differences to the first."""
    labels = context.get("models", [])
    columns = ["task", "type", *labels, *(f"{label} − {labels[0]}" for label in labels[1:])]
    rows = [
        {"task": row["task"], "type": row["type"]}
        | dict(zip(labels, row["scores"], strict=True))
        | {
            f"{label} − {labels[0]}": diff
            for label, diff in zip(labels[1:], row["differences"], strict=True)
        }
        for row in context.get("tasks", [])
    ]
    return csv_response(rows, columns, "compare")
