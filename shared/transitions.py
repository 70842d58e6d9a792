"""Every submission status transition as an event on `lb.submissions.<sid>.status` (under
`lb.private.` for a private submission)."""

from __future__ import annotations

from shared.bus import Bus
from shared.documents import SubmissionDoc
from shared.events import Subjects, SubmissionStatusChanged


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
    await bus.publish(
        Subjects.submission_status(submission.id, submission.private),
        event,
        f"transition:{submission.id}:{submission.status.value}",
    )
