"""Acting on a submission after it was accepted: cancel it, raise its priority, re-queue it."""

from __future__ import annotations

from nats.js.errors import NotFoundError
from pydantic import BaseModel, Field

from services.submission.auth import require_admin, require_admin_or_owner
from services.submission.intake import Intake, SubmissionCreated, publish_job
from services.submission.refusals import Refusal, RefusalCode
from shared.bus import JOBS
from shared.documents import ApiKeyDoc, SubmissionDoc
from shared.events import (
    Job,
    Priority,
    Subjects,
    SubmissionCancelled,
    SubmissionRequest,
    TaskState,
    UtcDatetime,
    id_token,
    is_id_token,
)


class CancelAccepted(BaseModel):
    """A cancellation under way: pending jobs dropped; the status becomes `cancelled`."""

    id: str
    cancelled_at: UtcDatetime = Field(description="When the cancellation was published.")


def not_found() -> Refusal:
    return Refusal(RefusalCode.SUBMISSION_NOT_FOUND, "no submission has this id", "submission_id")


async def stored_submission(intake: Intake, submission_id: str) -> SubmissionDoc:
    """The stored submission; an id that is not a token (`*`, say) is never looked up."""
    found = await intake.store.get_submission(submission_id) if is_id_token(submission_id) else None
    if found is None:
        raise not_found()
    return found


def jobs_filter(priority: Priority, submission_id: str) -> str:
    return f"lb.jobs.{priority.value}.{id_token(submission_id)}.>"


async def cancel(intake: Intake, submission_id: str, key: ApiKeyDoc) -> CancelAccepted:
    """Announce the cancellation (evaluators skip its jobs), then purge its pending jobs."""
    submission = await stored_submission(intake, submission_id)
    if submission.private and not key.admin and key.name != submission.submitted_by:
        raise not_found()  # another key's private submission is not told to exist
    require_admin_or_owner(key, submission.submitted_by)
    if submission.status.terminal:
        raise Refusal(
            RefusalCode.INVALID_STATE,
            f"submission {submission_id} is already {submission.status.value}",
            "submission_id",
        )
    event = SubmissionCancelled(submission_id=submission_id)
    subject = Subjects.cancelled(submission_id, submission.private)
    await intake.bus.publish(subject, event, f"cancelled:{submission_id}")
    for priority in Priority:
        await intake.bus.js.purge_stream(JOBS.name, subject=jobs_filter(priority, submission_id))
    return CancelAccepted(id=submission_id, cancelled_at=event.cancelled_at)


async def raise_priority(intake: Intake, submission_id: str, key: ApiKeyDoc) -> SubmissionDoc:
    """Move the submission's pending jobs to the high-priority subject (admin keys only)."""
    require_admin(key)
    submission = await stored_submission(intake, submission_id)
    if submission.status.terminal:
        raise Refusal(
            RefusalCode.INVALID_STATE,
            f"submission {submission_id} is already {submission.status.value}",
            "submission_id",
        )

    def prioritize(doc: SubmissionDoc) -> None:
        doc.priority = Priority.HIGH

    updated = await intake.store.update_submission(submission_id, prioritize) or submission
    for progress in submission.tasks:
        if progress.state != TaskState.QUEUED:
            continue
        subject = Subjects.job(Priority.NORMAL, submission_id, progress.task)
        try:
            pending = await intake.bus.js.get_last_msg(JOBS.name, subject)
        except NotFoundError:  # an evaluator has it already
            continue
        job = Job.model_validate_json(pending.data or b"")
        await intake.bus.js.purge_stream(JOBS.name, subject=subject)
        await publish_job(
            intake.bus, updated, progress.task, job.sealed_token, ":high", job.custom_task
        )
    return updated


async def requeue(
    intake: Intake, submission_id: str, authorization: str | None, key: ApiKeyDoc
) -> SubmissionCreated:
    """A new high-priority submission of the tasks that failed or were cancelled (admin only)."""
    require_admin(key)
    submission = await stored_submission(intake, submission_id)
    tasks = [p.task for p in submission.tasks if p.state in (TaskState.FAILED, TaskState.CANCELLED)]
    if not tasks:
        raise Refusal(
            RefusalCode.INVALID_STATE,
            f"submission {submission_id} has no failed or cancelled task to re-queue",
            "submission_id",
        )
    request = SubmissionRequest(model=submission.model, revision=submission.revision, tasks=tasks)
    return await intake.submit(request, authorization, priority=Priority.HIGH)
