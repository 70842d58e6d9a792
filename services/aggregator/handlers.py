"""What the aggregator does with each event."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from mteb.results import TaskResult
from nats.aio.msg import Msg
from pydantic import ValidationError

from services.aggregator.custom_catalogue import CatalogueWatch
from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.aggregator.leaderboards.tasks import refresh_task_leaderboard
from services.aggregator.results.intake import InvalidResultError, result_doc
from services.aggregator.results.models import record_live_model
from shared.bus import (
    PRIVATE,
    RESULTS,
    SUBMISSIONS,
    TASKS,
    Bus,
    Handler,
    InvalidMessage,
    Stream,
    decode,
    describe,
)
from shared.custom_tasks import catalogue
from shared.documents import (
    SubmissionDoc,
    SubmissionStatus,
)
from shared.events import (
    PRIVATE_PREFIX,
    ResultEvent,
    StatusEvent,
    SubmissionAccepted,
    SubmissionCancelled,
    TaskCreated,
    TaskDeleted,
    TaskPublished,
    TaskState,
    utcnow,
)
from shared.metrics import LEADERBOARD_UPDATE, RESULTS_APPLIED, STATUS_EVENTS
from shared.store import Store
from shared.summary.tasks import UnknownTaskError, task_named
from shared.transitions import publish_transition

log = logging.getLogger(__name__)

FINISHED = {TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED}
AWAITING_RESULT = {TaskState.QUEUED, TaskState.RUNNING, TaskState.FAILED}
"""Task states a result is taken in: a failed task's result supersedes a (forged) failure."""
SCORE_RANGE = (-1.0, 1.0)
"""Where every main score of mteb's metrics lies (correlations down to -1)."""
TASK_EVENTS: dict[str, type[TaskCreated | TaskPublished | TaskDeleted]] = {
    "created": TaskCreated,
    "published": TaskPublished,
    "deleted": TaskDeleted,
}
"""The payload of each action of `lb.tasks.<name>.<action>` (and its `lb.private.` twin)."""


def private_twin(subject: str) -> str:
    """The private twin of a public subject (filter): `lb.X…` as `lb.private.X…`."""
    return f"{PRIVATE_PREFIX}{subject.removeprefix('lb.')}"


def catalogue_behind(task: str, task_result: dict[str, Any]) -> bool:
    """Whether a result names a task that neither the registry nor the catalogue knows, or
    data of a custom task that the catalogue does not know yet (a newer revision)."""
    for name in {task, str(task_result.get("task_name", task))}:
        try:
            task_named(name)
        except UnknownTaskError:
            return True
    custom = catalogue.CURRENT.tasks.get(task)
    revision = task_result.get("dataset_revision")
    return custom is not None and revision is not None and revision != custom.spec.revision


def main_scores(task_result: dict[str, Any]) -> list[float]:
    """Every split's and subset's `main_score` in mteb's TaskResult JSON."""
    scores = task_result.get("scores")
    splits = scores.values() if isinstance(scores, dict) else []
    return [
        entry["main_score"]
        for entries in splits
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("main_score"), int | float)
    ]


def check_scores(task: str, task_result: dict[str, Any], score: float) -> None:
    """Refuse a main score that is not a number within `SCORE_RANGE`."""
    low, high = SCORE_RANGE
    for value in [score, *main_scores(task_result)]:
        if not (math.isfinite(value) and low <= value <= high):
            raise InvalidMessage(f"result of {task}: main score {value} is outside [{low}, {high}]")


def settle(submission: SubmissionDoc) -> None:
    """Close the submission once every task has finished."""
    if any(progress.state not in FINISHED for progress in submission.tasks):
        return
    failed = [p.task for p in submission.tasks if p.state == TaskState.FAILED]
    if failed:
        submission.set_status(SubmissionStatus.FAILED, f"failed tasks: {', '.join(failed)}")
    elif any(p.state == TaskState.CANCELLED for p in submission.tasks):
        submission.set_status(SubmissionStatus.CANCELLED)
    else:
        submission.set_status(SubmissionStatus.COMPLETED)


class Aggregator:
    """Handlers for accepted submissions, status events, results and custom task events (each
    for public and private submissions and tasks alike)."""

    def __init__(self, bus: Bus, store: Store, benchmarks: BenchmarkUpdater | None = None) -> None:
        self.bus = bus
        self.store = store
        self.benchmarks = benchmarks or BenchmarkUpdater(store, bus)
        self.catalogue = CatalogueWatch(store, bus, self.benchmarks)

    def routes(self) -> list[tuple[Stream, str, str, Handler]]:
        """Each consumer's stream, durable name, subject filter and handler: the public
        subjects', then their private twins' (`Subjects`, private=True: `lb.private.…`, in
        stream LB_PRIVATE) of private submissions and tasks."""
        public: list[tuple[Stream, str, str, Handler]] = [
            (SUBMISSIONS, "accepted", "lb.submissions.*.accepted", self.on_accepted),
            (SUBMISSIONS, "cancelled", "lb.submissions.*.cancelled", self.on_cancelled),
            (RESULTS, "status", "lb.status.>", self.on_status),
            (RESULTS, "results", "lb.results.>", self.on_result),
            (TASKS, "tasks", "lb.tasks.>", self.on_task_event),
        ]
        return [
            (stream, f"aggregator-{name}", subject, handler)
            for stream, name, subject, handler in public
        ] + [
            (PRIVATE, f"aggregator-private-{name}", private_twin(subject), handler)
            for _, name, subject, handler in public
        ]

    async def _update(self, submission_id: str, change: Callable[[SubmissionDoc], None]) -> None:
        """Apply `change`; a status it moves to is announced (`shared.transitions`)."""
        before: list[SubmissionStatus] = []

        def tracked(submission: SubmissionDoc) -> None:
            before.append(submission.status)
            change(submission)

        updated = await self.store.update_submission(submission_id, tracked)
        if updated is None:
            raise InvalidMessage(f"no submission {submission_id}")
        if before and updated.status != before[-1]:
            await publish_transition(self.bus, updated)

    async def on_cancelled(self, msg: Msg) -> None:
        """A cancelled submission: its queued tasks are cancelled, its status `cancelled`."""
        event = decode(msg, SubmissionCancelled)

        def cancel(submission: SubmissionDoc) -> None:
            for progress in submission.tasks:
                if progress.state == TaskState.QUEUED:
                    progress.state = TaskState.CANCELLED
                    progress.updated_at = event.cancelled_at
            submission.set_status(SubmissionStatus.CANCELLED, "cancelled")

        await self._update(event.submission_id, cancel)
        await msg.ack()

    async def on_accepted(self, msg: Msg) -> None:
        event = decode(msg, SubmissionAccepted)

        def queue(submission: SubmissionDoc) -> None:
            if submission.status == SubmissionStatus.ACCEPTED:
                submission.set_status(SubmissionStatus.QUEUED)

        await self._update(event.submission_id, queue)
        await msg.ack()

    async def on_status(self, msg: Msg) -> None:
        event = decode(msg, StatusEvent)

        def apply(submission: SubmissionDoc) -> None:
            progress = submission.task(event.task)
            if progress is None or progress.state in FINISHED:
                return
            if event.attempt < (progress.attempt or 0):
                return  # a stale delivery's report
            progress.evaluator_id = event.evaluator_id
            progress.updated_at = event.at
            if event.state == TaskState.RUNNING:
                if progress.state != TaskState.RUNNING:
                    progress.started_at = event.at
                progress.state = TaskState.RUNNING
                progress.attempt = event.attempt
                progress.encoded, progress.total = event.encoded, event.total
                if submission.status in (SubmissionStatus.ACCEPTED, SubmissionStatus.QUEUED):
                    submission.set_status(SubmissionStatus.RUNNING)
            elif event.state in (TaskState.FAILED, TaskState.CANCELLED):
                progress.state = event.state
                progress.reason = event.reason
                progress.failure = event.failure
                settle(submission)
            # DONE is recorded when the result itself is stored (on_result)

        await self._update(event.submission_id, apply)
        STATUS_EVENTS.labels(event.state.value).inc()
        await msg.ack()

    async def on_task_event(self, msg: Msg) -> None:
        """A custom task was created, published or deleted: the catalogue is read again and
        what changed is followed (`custom_catalogue`)."""
        action = msg.subject.rsplit(".", 1)[-1]
        payload = TASK_EVENTS.get(action)
        if payload is None:
            raise InvalidMessage(f"no task event {action!r}")
        decode(msg, payload)
        await self.catalogue.sync()
        await msg.ack()

    async def on_result(self, msg: Msg) -> None:
        arrived = time.perf_counter()
        event = decode(msg, ResultEvent)
        if catalogue_behind(event.task, event.task_result):
            await self.catalogue.sync()  # a custom task made (or given data) since last read
        submission = await self.store.get_submission(event.submission_id)
        progress = submission.task(event.task) if submission else None
        if (
            submission is None
            or progress is None
            or (submission.model, submission.revision) != (event.model, event.revision)
        ):
            raise InvalidMessage(
                f"result of {event.model}@{event.revision} on {event.task} belongs to no such "
                f"task of a submission {event.submission_id}"
            )
        check_scores(event.task, event.task_result, event.main_score)
        try:
            result = result_doc(
                TaskResult.model_validate(event.task_result),
                event.model,
                event.revision,
                source="evaluator",
                evaluated_at=event.evaluated_at,
                submission_id=event.submission_id,
                envelope=event.envelope,
            )
        except (InvalidResultError, ValidationError) as error:
            why = describe(error) if isinstance(error, ValidationError) else str(error)
            raise InvalidMessage(f"result of {event.task}: {why}") from None
        if result.task != event.task:
            raise InvalidMessage(f"result of {event.task} holds a TaskResult of {result.task}")
        score = result.main_score
        if score is None:
            raise InvalidMessage(f"result of {event.task} lacks a required split or subset")
        if result.mteb_version is None:
            raise InvalidMessage(f"result of {event.task} does not say which mteb made it")
        check_scores(event.task, {}, score)
        if progress.state == TaskState.DONE and progress.main_score == score:
            await msg.ack()  # delivered again after it was stored
            return
        if progress.state not in AWAITING_RESULT:
            raise InvalidMessage(f"result of {event.task}: the task is {progress.state.value}")
        if event.envelope.attempt < (progress.attempt or 0):
            stale = event.envelope.attempt
            raise InvalidMessage(f"result of {event.task}: attempt {stale} is stale")
        stored_us = await self.store.upsert_result(result)
        self.benchmarks.note_stored(result, stored_us)
        await record_live_model(self.store, submission, event.envelope)

        def finish(submission: SubmissionDoc) -> None:
            progress = submission.task(event.task)
            if progress is None:
                return
            if progress.state == TaskState.FAILED and submission.status == SubmissionStatus.FAILED:
                submission.status = SubmissionStatus.RUNNING  # settled again below
            progress.state = TaskState.DONE
            progress.main_score = score
            progress.reason = None
            progress.updated_at = utcnow()
            settle(submission)

        await self._update(event.submission_id, finish)
        await self.refresh_task(event.task)
        await self.benchmarks.refresh([event.task])
        LEADERBOARD_UPDATE.observe(time.perf_counter() - arrived)
        RESULTS_APPLIED.inc()
        await msg.ack()

    async def refresh_task(self, task: str) -> None:
        """Recompute and replace one task's leaderboard, then announce it."""
        await refresh_task_leaderboard(self.store, self.bus, task)
