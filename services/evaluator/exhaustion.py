"""Jobs whose deliveries ran out: dead-lettered with the reason, their task marked failed.

Two paths end a job that never succeeds, and together they cover every case:

- An evaluator that gets a job's last allowed delivery (`num_delivered == max_deliver`) and
  fails on it, even transiently, treats the failure as final (see `worker.Evaluator`).
- An evaluator that dies holding the last delivery (`kill -9`, the machine lost) can report
  nothing. JetStream then stops redelivering and publishes a MAX_DELIVERIES advisory naming the
  job's stream sequence. Advisories are plain NATS messages, lost if nobody listens at that
  instant, so the stream `LB_EXHAUSTED_JOBS` keeps them; every evaluator pulls from one durable
  consumer on it, reads the job from `LB_JOBS` by sequence, dead-letters it, publishes a
  `failed` status (class `exhausted`) and deletes the job. A job already gone (acked, or
  handled by another evaluator) is skipped, and publishes are deduplicated by message id, so a
  repeated advisory changes nothing.
"""

from __future__ import annotations

import logging
from typing import Literal

from nats.aio.msg import Msg
from nats.js.errors import NotFoundError
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.bus import JOBS, Bus, decode
from shared.events import FailureKind, Job, StatusEvent, Subjects, TaskState

log = logging.getLogger(__name__)


class MaxDeliveriesAdvisory(BaseModel):
    """JetStream's `io.nats.jetstream.advisory.v1.max_deliver` (the fields used here)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["io.nats.jetstream.advisory.v1.max_deliver"]
    stream: str
    consumer: str
    stream_seq: int
    deliveries: int


def exhausted_reason(deliveries: int) -> str:
    return (
        f"exhausted: {deliveries} deliveries ended without a result "
        "(the evaluators running it stopped or lost the job)"
    )


class ExhaustedJobs:
    """Handles the advisories of `LB_EXHAUSTED_JOBS` (a handler for `shared.bus.consume`)."""

    def __init__(self, bus: Bus, evaluator_id: str) -> None:
        self.bus = bus
        self.evaluator_id = evaluator_id

    async def on_advisory(self, msg: Msg) -> None:
        advisory = decode(msg, MaxDeliveriesAdvisory)
        try:
            stored = await self.bus.js.get_msg(JOBS.name, advisory.stream_seq)
        except NotFoundError:
            await msg.ack()  # finished after all, or handled already
            return
        reason = exhausted_reason(advisory.deliveries)
        try:
            job = Job.model_validate_json(stored.data or b"")
        except ValidationError:
            log.warning("exhausted job %d is not a valid job", advisory.stream_seq)
        else:
            await self._failed(job, advisory.deliveries, reason)
        subject = stored.subject or ""
        await self.bus.dead_letter_stored(
            subject, stored.data or b"", advisory.stream_seq, JOBS, reason
        )
        await self.bus.js.delete_msg(JOBS.name, advisory.stream_seq)
        await msg.ack()

    async def _failed(self, job: Job, attempt: int, reason: str) -> None:
        event = StatusEvent(
            submission_id=job.submission_id,
            task=job.task,
            state=TaskState.FAILED,
            reason=reason,
            failure=FailureKind.EXHAUSTED,
            evaluator_id=self.evaluator_id,
            attempt=attempt,
        )
        msg_id = f"status:{job.submission_id}:{job.task}:{TaskState.FAILED.value}:{attempt}"
        await self.bus.publish(Subjects.status(job.submission_id, job.private), event, msg_id)
