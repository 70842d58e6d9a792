"""What the aggregator does with each event."""

from __future__ import annotations

import logging
from collections.abc import Callable

import mteb
from mteb.results import TaskResult
from nats.aio.msg import Msg

from services.aggregator.rankings import task_leaderboard
from shared.bus import Bus, InvalidMessage, decode
from shared.documents import (
    ResultDoc,
    SubmissionDoc,
    SubmissionStatus,
    result_id,
)
from shared.events import (
    LeaderboardUpdated,
    ResultEvent,
    StatusEvent,
    Subjects,
    SubmissionAccepted,
    TaskState,
    utcnow,
)
from shared.scoring import task_score
from shared.store import Store

log = logging.getLogger(__name__)

FINISHED = {TaskState.DONE, TaskState.FAILED}


def settle(submission: SubmissionDoc) -> None:
    """Close the submission once every task has finished."""
    if any(progress.state not in FINISHED for progress in submission.tasks):
        return
    failed = [p.task for p in submission.tasks if p.state == TaskState.FAILED]
    if failed:
        submission.set_status(SubmissionStatus.FAILED, f"failed tasks: {', '.join(failed)}")
    else:
        submission.set_status(SubmissionStatus.COMPLETED)


class Aggregator:
    """Handlers for accepted submissions, status events and results."""

    def __init__(self, bus: Bus, store: Store) -> None:
        self.bus = bus
        self.store = store

    async def _update(self, submission_id: str, change: Callable[[SubmissionDoc], None]) -> None:
        updated = await self.store.update_submission(submission_id, change)
        if updated is None:
            raise InvalidMessage(f"no submission {submission_id}")

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
            progress.evaluator_id = event.evaluator_id
            progress.updated_at = event.at
            if event.state == TaskState.RUNNING:
                progress.state = TaskState.RUNNING
                if submission.status in (SubmissionStatus.ACCEPTED, SubmissionStatus.QUEUED):
                    submission.set_status(SubmissionStatus.RUNNING)
            elif event.state == TaskState.FAILED:
                progress.state = TaskState.FAILED
                progress.reason = event.reason
                settle(submission)
            # DONE is recorded when the result itself is stored (on_result)

        await self._update(event.submission_id, apply)
        await msg.ack()

    async def on_result(self, msg: Msg) -> None:
        event = decode(msg, ResultEvent)
        task_result = TaskResult.model_validate(event.task_result)
        try:
            task = mteb.get_task(event.task)
        except KeyError:
            raise InvalidMessage(f"unknown task {event.task!r}") from None
        score = task_score(task_result.scores, task.metadata.eval_splits, task.hf_subsets)
        if score is None:
            raise InvalidMessage(f"result of {event.task} lacks a required split or subset")
        if task_result.mteb_version is None:
            raise InvalidMessage(f"result of {event.task} does not say which mteb made it")
        result = ResultDoc(
            _id=result_id(event.model, event.revision, event.task, task_result.mteb_version),
            model=event.model,
            revision=event.revision,
            task=event.task,
            main_score=score,
            submission_id=event.submission_id,
            task_result=event.task_result,
            envelope=event.envelope,
            evaluated_at=event.evaluated_at,
        )
        await self.store.upsert_result(result)

        def finish(submission: SubmissionDoc) -> None:
            progress = submission.task(event.task)
            if progress is None:
                return
            progress.state = TaskState.DONE
            progress.main_score = score
            progress.reason = None
            progress.updated_at = utcnow()
            settle(submission)

        await self._update(event.submission_id, finish)
        await self.refresh_task(event.task)
        await msg.ack()

    async def refresh_task(self, task: str) -> None:
        """Recompute and replace one task's leaderboard, then announce it."""
        leaderboard = task_leaderboard(task, await self.store.results_for_task(task))
        stored = await self.store.replace_leaderboard(leaderboard)
        update = LeaderboardUpdated(
            leaderboard_id=stored.id, version=stored.version, generated_at=stored.generated_at
        )
        await self.bus.publish(
            Subjects.leaderboard_updated(stored.id),
            update,
            f"leaderboard:{stored.id}:{stored.version}",
        )
