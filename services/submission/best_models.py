"""Queue "how do the best models do on my data?": queue the top models of a registry benchmark (or a
chosen list) on a custom task or benchmark, each through the normal submission intake."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from services.submission.access import (
    Viewer,
    intake_of,
    key_of,
    settings_of,
    visible_benchmark,
    visible_task,
)
from services.submission.intake import Intake
from services.submission.refusals import Refusal, RefusalCode, error_responses
from shared.documents import benchmark_leaderboard_id
from shared.events import ModelId, Priority, SubmissionRequest
from shared.summary.models import registered

Code = RefusalCode
router = APIRouter()
SENTENCE_TRANSFORMERS = "Sentence Transformers"
"""How mteb's registry names the framework a model must be loadable with."""
ERRORS = error_responses(
    Code.INVALID_REQUEST,
    Code.UNAUTHORIZED,
    Code.TASK_NOT_FOUND,
    Code.BENCHMARK_NOT_FOUND,
    Code.UNKNOWN_BENCHMARK,
    Code.STORE_UNAVAILABLE,
)


class BestModelsRequest(BaseModel):
    """Which models to queue: `models`, or the top of a registry benchmark's leaderboard."""

    model_config = ConfigDict(extra="forbid")

    benchmark: str = Field(
        default="MTEB(eng, v2)",
        max_length=200,
        description="The registry benchmark whose leaderboard ranks the candidates.",
    )
    top: int = Field(default=5, ge=1, le=50, description="How many models to queue.")
    max_parameters: int | None = Field(
        default=None, ge=1, description="Size cap; default: the leaderboard's own cap."
    )
    models: list[ModelId] | None = Field(
        default=None, max_length=50, description="These models instead of the leaderboard's top."
    )
    priority: Literal["normal", "low"] = "normal"


class Queued(BaseModel):
    model: str
    submission_id: str


class Skipped(BaseModel):
    model: str
    reason: str = Field(description="A refusal code, or why the model is not a candidate.")


class BestModelsQueued(BaseModel):
    submissions: list[Queued]
    skipped: list[Skipped]


def unfit(model: str, parameters_b: float | None, cap: int) -> str | None:
    """Why a leaderboard row's model may not be queued (None: it may): open weights, loadable
    by sentence-transformers per mteb's registry, within the size cap."""
    meta = registered(model)
    if meta is None:
        return "not_in_registry"
    if not meta.open_weights:
        return "not_open_weights"
    if SENTENCE_TRANSFORMERS not in (meta.framework or []):
        return "not_sentence_transformers"
    parameters = meta.n_parameters or (parameters_b * 1e9 if parameters_b is not None else None)
    if parameters is not None and parameters > cap:
        return "too_large"
    return None


async def candidates(
    intake: Intake, body: BestModelsRequest, cap: int
) -> tuple[list[str], list[Skipped]]:
    """The top `body.top` fit models of the benchmark's stored leaderboard, by rank, and the
    better-ranked ones passed over."""
    stored = await intake.store.get_benchmark_leaderboard(benchmark_leaderboard_id(body.benchmark))
    if stored is None:
        raise Refusal(
            Code.UNKNOWN_BENCHMARK,
            f"no leaderboard of benchmark {body.benchmark!r} is stored",
            "benchmark",
        )
    ranked = sorted(
        stored.table.rows, key=lambda row: (row.rank_borda is None, row.rank_borda or 0)
    )
    chosen: list[str] = []
    skipped: list[Skipped] = []
    for row in ranked:
        if len(chosen) == body.top:
            break
        if row.model in chosen:
            continue
        reason = unfit(row.model, row.n_parameters_b, cap)
        if reason is None:
            chosen.append(row.model)
        else:
            skipped.append(Skipped(model=row.model, reason=reason))
    return chosen, skipped


async def queue(
    request: Request, body: BestModelsRequest, tasks: list[str] | None, benchmark: str | None
) -> BestModelsQueued:
    intake = intake_of(request)
    cap = body.max_parameters or settings_of(request).max_model_parameters
    skipped: list[Skipped] = []
    if body.models is not None:
        models = list(dict.fromkeys(body.models))
    else:
        models, skipped = await candidates(intake, body, cap)
    header = request.headers.get("authorization")
    queued: list[Queued] = []
    for model in models:
        submission = SubmissionRequest(model=model, tasks=tasks, benchmark=benchmark)
        try:
            created = await intake.submit(submission, header, priority=Priority(body.priority))
        except Refusal as refusal:
            skipped.append(Skipped(model=model, reason=str(refusal.detail.code)))
            continue
        queued.append(Queued(model=model, submission_id=created.id))
    return BestModelsQueued(submissions=queued, skipped=skipped)


@router.post(
    "/v1/tasks/{name}/best-models",
    status_code=202,
    response_model=BestModelsQueued,
    responses=ERRORS,
    summary="Queue the best models of a registry benchmark on a custom task (API key)",
)
async def best_on_task(name: str, body: BestModelsRequest, request: Request) -> BestModelsQueued:
    """Each model is a submission of its own through the normal checks; a refused one is
    listed in `skipped` with its refusal code."""
    who = Viewer.of(await key_of(request))
    await visible_task(intake_of(request), name, who)
    return await queue(request, body, [name], None)


@router.post(
    "/v1/benchmarks/{name}/best-models",
    status_code=202,
    response_model=BestModelsQueued,
    responses=ERRORS,
    summary="Queue the best models of a registry benchmark on a custom benchmark (API key)",
)
async def best_on_benchmark(
    name: str, body: BestModelsRequest, request: Request
) -> BestModelsQueued:
    who = Viewer.of(await key_of(request))
    await visible_benchmark(intake_of(request), name, who)
    return await queue(request, body, None, name)
