"""Following submissions: the queue page and each submission's page, live (never kept)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from services.web.queueing import (
    Durations,
    Standing,
    duration_text,
    elapsed_s,
    standings,
    waiting_order,
)
from services.web.renderings import Format, csv_response, json_response, split_format
from services.web.visibility import sees_submission
from shared.documents import SubmissionDoc, SubmissionStatus, TaskProgress
from shared.events import TaskState, utcnow
from shared.store import Store

LIVE = {"Cache-Control": "no-cache"}
UNFINISHED = [SubmissionStatus.ACCEPTED, SubmissionStatus.QUEUED, SubmissionStatus.RUNNING]
FINISHED = [SubmissionStatus.COMPLETED, SubmissionStatus.FAILED, SubmissionStatus.CANCELLED]
QUEUE_LIMIT = 1000
"""Unfinished submissions the queue page reads at most."""
RECENT = 20
"""Finished submissions the queue page lists."""
JOB_COLUMNS = (
    "submission_id",
    "model",
    "task",
    "state",
    "priority",
    "position",
    "evaluator_id",
    "started_at",
    "elapsed_s",
    "encoded",
    "total",
    "main_score",
    "failure",
    "reason",
)


class MeasuredSpeeds:
    """Task durations measured here (results evaluated here), read again when data changes."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.durations = Durations({}, None)

    async def current(self, store: Store) -> Durations:
        version = await store.data_version()
        if version != self.version:
            self.durations = Durations.measured(
                await store.results_stored_since(None, source="evaluator")
            )
            self.version = version
        return self.durations


def refreshing(request: Request) -> bool:
    """Whether a live page refreshes itself (`?refresh=off` stops it, as WCAG 2.2.1 asks)."""
    return request.query_params.get("refresh") != "off"


def store_of(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def speeds_of(request: Request) -> MeasuredSpeeds:
    state = request.app.state
    if not hasattr(state, "speeds"):
        state.speeds = MeasuredSpeeds()
    return state.speeds  # type: ignore[no-any-return]


def job_row(
    submission: SubmissionDoc, progress: TaskProgress, position: int | None, now: datetime
) -> dict[str, Any]:
    """One task of a submission as the queue lists it."""
    running = progress.state == TaskState.RUNNING
    return {
        "submission_id": submission.id,
        "model": submission.model,
        "task": progress.task,
        "state": progress.state.value,
        "priority": submission.priority.value,
        "position": position,
        "evaluator_id": progress.evaluator_id if running else None,
        "started_at": progress.started_at.isoformat() if progress.started_at else None,
        "elapsed_s": elapsed_s(progress, now) if running else None,
        # encode progress (texts), where the evaluator's heartbeats report it
        "encoded": getattr(progress, "encoded", None),
        "total": getattr(progress, "total", None),
        "main_score": progress.main_score,
        "failure": progress.failure.value if progress.failure else None,
        "reason": progress.reason,
    }


def submission_row(submission: SubmissionDoc, standing: Standing | None) -> dict[str, Any]:
    done = sum(progress.state == TaskState.DONE for progress in submission.tasks)
    return {
        "id": submission.id,
        "model": submission.model,
        "revision": submission.revision,
        "status": submission.status.value,
        "priority": submission.priority.value,
        "created_at": submission.created_at.isoformat(),
        "tasks_done": done,
        "tasks_total": len(submission.tasks),
        "jobs_ahead": standing.jobs_ahead if standing else None,
        "remaining_s": standing.remaining_s if standing else None,
        "reason": submission.reason,
    }


async def unfinished_submissions(store: Store) -> list[SubmissionDoc]:
    """The submissions not finished, oldest first (as the queue runs)."""
    query = {"status": {"$in": [status.value for status in UNFINISHED]}}
    newest_first, _ = await store.list_submissions(query, 0, QUEUE_LIMIT)
    return newest_first[::-1]


async def queue_context(request: Request) -> dict[str, Any]:
    store = store_of(request)
    unfinished = await unfinished_submissions(store)
    finished, _ = await store.list_submissions(
        {"status": {"$in": [status.value for status in FINISHED]}}, 0, RECENT
    )
    finished = [submission for submission in finished if sees_submission(request, submission)]
    now = utcnow()
    standing = standings(unfinished, await speeds_of(request).current(store), now)
    positions = {
        (job.submission.id, job.progress.task): index
        for index, job in enumerate(waiting_order(unfinished), start=1)
    }
    shown = [submission for submission in unfinished if sees_submission(request, submission)]
    jobs = [
        job_row(submission, progress, positions.get((submission.id, progress.task)), now)
        for submission in shown + finished
        for progress in submission.tasks
    ]
    return {
        "generated_at": now.isoformat(),
        "submissions": [submission_row(s, standing.get(s.id)) for s in shown],
        "finished": [submission_row(s, None) for s in finished],
        "jobs": jobs,
    }


def _live(response: Response) -> Response:
    response.headers.update(LIVE)
    return response


def follow_router(templates: Jinja2Templates) -> APIRouter:
    """The queue (`/queue`, `.json`, `.csv`) and submission pages, rendered with `templates`."""
    router = APIRouter()
    templates.env.filters["duration"] = duration_text

    @router.get("/queue")
    @router.get("/queue.json")
    @router.get("/queue.csv")
    async def queue_page(request: Request) -> Response:
        _, fmt = split_format(request.url.path)
        context = await queue_context(request)
        if fmt is Format.JSON:
            return _live(json_response(context))
        if fmt is Format.CSV:
            return _live(csv_response(context["jobs"], JOB_COLUMNS, "queue"))
        context["refreshing"] = refreshing(request)
        return templates.TemplateResponse(request, "queue.html", context, headers=LIVE)

    @router.get("/submissions/{path_name}")
    async def submission_page(request: Request, path_name: str) -> Response:
        submission_id, fmt = split_format(path_name)
        store = store_of(request)
        submission = await store.get_submission(submission_id)
        if submission is None or not sees_submission(request, submission):
            raise HTTPException(404, f"no submission {submission_id}")
        now = utcnow()
        context = submission.model_dump(mode="json")
        standing = None
        if not submission.status.terminal:
            unfinished = await unfinished_submissions(store)
            durations = await speeds_of(request).current(store)
            standing = standings(unfinished, durations, now).get(submission.id)
        context |= {
            "jobs_ahead": standing.jobs_ahead if standing else None,
            "remaining_s": standing.remaining_s if standing else None,
        }
        for task, progress in zip(context["tasks"], submission.tasks, strict=True):
            running = progress.state == TaskState.RUNNING
            task["elapsed_s"] = elapsed_s(progress, now) if running else None
        if fmt is Format.JSON:
            return _live(json_response(context))
        if fmt is Format.CSV:
            columns = (
                "task",
                "state",
                "main_score",
                "failure",
                "reason",
                "evaluator_id",
                "started_at",
                "elapsed_s",
                "updated_at",
            )
            return _live(csv_response(context["tasks"], columns, submission_id))
        context["terminal"] = submission.status.terminal
        context["refreshing"] = refreshing(request) and not submission.status.terminal
        return templates.TemplateResponse(request, "submission.html", context, headers=LIVE)

    return router
