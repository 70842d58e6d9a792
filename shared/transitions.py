"""Every submission status transition as an event on `lb.submissions.<sid>.status` (a private
submission's under `lb.private.`)."""

from __future__ import annotations

from shared.bus import Bus
from shared.documents import SubmissionDoc
from shared.events import Subjects, SubmissionStatusChanged, Visibility


async def publish_transition(bus: Bus, submission: SubmissionDoc) -> None:
    """Announce `submission`'s latest transition; its id makes a retried publish harmless."""
    latest = submission.history[-1] if submission.history else None
    if latest is None or latest.status != submission.status:
        return
    event = SubmissionStatusChanged(
        submission_id=submission.id,
        status=submission.status.value,
        reason=submission.reason,
        at=latest.at,
    )
    private = submission.visibility is Visibility.PRIVATE
    await bus.publish(
        Subjects.submission_status(submission.id, private=private),
        event,
        f"transition:{submission.id}:{submission.status.value}",
    )
