"""The evaluator's bus side: pull jobs (high priority first), heartbeat, publish, ack.

A job's lease is its JetStream ack deadline, extended by `in_progress()` heartbeats while mteb
runs in a worker thread. A failure is reported with its class, a short reason and a traceback
reference. A transient one is handed back with an exponentially growing delay while deliveries
remain; on the last delivery (`max_deliver`), or when it is not transient, the job goes to the
dead-letter subject and the task is reported failed. Jobs whose holder died on the last
delivery are handled by `exhaustion.ExhaustedJobs`.

A custom task's files are fetched from the task data object store into a folder per revision
before the run. A private job's (`Job.private`) status and result events go to the
`lb.private.` subjects, and its cancellation is looked up there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Protocol

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from services.evaluator.exhaustion import ExhaustedJobs
from services.evaluator.failures import REASON_LENGTH, JobFailure, short
from services.evaluator.runner import Evaluation
from shared.bus import (
    BUS_UNAVAILABLE,
    EXHAUSTED_JOBS,
    FETCH_TIMEOUTS,
    JOBS,
    PRIVATE,
    SUBMISSIONS,
    Bus,
    consume,
    decode,
    describe,
)
from shared.events import (
    FailureKind,
    Job,
    Priority,
    ResultEvent,
    StatusEvent,
    Subjects,
    TaskState,
)
from shared.metrics import ENCODE_THROUGHPUT, JOBS_FINISHED, TASK_DURATION
from shared.secrets import open_token
from shared.task_data import TaskData, TaskDataError

log = logging.getLogger(__name__)

ADVISORY_ATTEMPTS = 10
PROGRESS_INTERVAL_S = 5.0
"""How often a running job's progress is reported (and its lease extended), at most."""


class JobRunner(Protocol):
    """What the evaluator needs of a runner (`runner.Runner`): it raises `JobFailure` only."""

    evaluator_id: str

    def run(
        self, job: Job, attempt: int, token: str | None = None, folder: Path | None = None
    ) -> Evaluation:
        """Evaluate `job`; `folder` holds a custom task's data."""

    def progress(self) -> tuple[int, int | None] | None:
        """Texts encoded so far in the running job and the expected total; None between jobs."""


class Evaluator:
    """Serves jobs one at a time until stopped."""

    def __init__(
        self,
        bus: Bus,
        runner: JobRunner,
        ack_wait: float,
        max_deliver: int,
        retry_backoff_s: float = 5.0,
        task_data_dir: Path | None = None,
    ) -> None:
        self.bus = bus
        self.runner = runner
        self.ack_wait = ack_wait
        self.max_deliver = max_deliver
        self.retry_backoff_s = retry_backoff_s
        self.task_data = TaskData(bus)
        self.task_data_dir = task_data_dir
        self.in_flight: Msg | None = None

    async def serve(self, stop: asyncio.Event) -> None:
        queues = [
            await self.bus.pull(
                JOBS,
                f"evaluators-{priority.value}",
                f"lb.jobs.{priority.value}.>",
                ack_wait=self.ack_wait,
                max_deliver=self.max_deliver,
            )
            for priority in Priority  # high first, low last
        ]
        advisories = await self.bus.pull(
            EXHAUSTED_JOBS,
            "evaluators-exhausted",
            EXHAUSTED_JOBS.subjects[0],
            max_deliver=ADVISORY_ATTEMPTS,
        )
        exhausted = ExhaustedJobs(self.bus, self.runner.evaluator_id)
        watching = asyncio.create_task(
            consume(self.bus, advisories, EXHAUSTED_JOBS, exhausted.on_advisory, stop)
        )
        log.info("evaluator %s ready", self.runner.evaluator_id)
        try:
            await self._serve_jobs(queues, stop)
        finally:
            stop.set()
            await watching

    async def _serve_jobs(
        self, queues: list[JetStreamContext.PullSubscription], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            msg = await self._next_job(queues)
            if msg is None:
                continue
            self.in_flight = msg
            try:
                await self.handle(msg)
            except Exception:
                # the bus failed us mid-job (publish or ack): hand the job back, keep serving
                log.exception("job %s could not be completed; handing it back", msg.subject)
                with contextlib.suppress(Exception):
                    await msg.nak(delay=5.0)
            finally:
                self.in_flight = None

    @staticmethod
    async def _next_job(queues: list[JetStreamContext.PullSubscription]) -> Msg | None:
        """The next job, looking at each priority in turn; the last one is waited on."""
        for position, queue in enumerate(queues):
            last = position == len(queues) - 1
            try:
                return (await queue.fetch(1, timeout=1.0 if last else 0.1))[0]
            except FETCH_TIMEOUTS:
                continue
            except BUS_UNAVAILABLE as error:  # a cluster electing a new leader, say
                log.warning("jobs unavailable (%s); waiting", type(error).__name__)
                await asyncio.sleep(1.0)
                return None
        return None

    async def handle(self, msg: Msg) -> None:
        attempt = msg.metadata.num_delivered or 1
        try:
            job = decode(msg, Job)
        except ValidationError as error:
            await self.bus.dead_letter(msg, JOBS, f"invalid job: {describe(error)}")
            await msg.ack()
            return
        if await self._cancelled(job):
            reason = "the submission was cancelled before this task started"
            await self._status(job, TaskState.CANCELLED, attempt, reason, FailureKind.CANCELLED)
            await msg.ack()
            JOBS_FINISHED.labels(TaskState.CANCELLED.value).inc()
            return
        await self._status(job, TaskState.RUNNING, attempt)
        heartbeat = asyncio.create_task(self._heartbeat(msg, job, attempt))
        try:
            token = self._token(job)
            folder = await self._task_folder(job)
            evaluation = await asyncio.to_thread(self.runner.run, job, attempt, token, folder)
        except JobFailure as failure:
            await self._failed(msg, job, attempt, failure)
            return
        finally:
            heartbeat.cancel()
        result = ResultEvent(
            submission_id=job.submission_id,
            model=job.model,
            revision=job.revision,
            task=job.task,
            main_score=evaluation.main_score,
            task_result=evaluation.task_result,
            envelope=evaluation.envelope,
        )
        await self.bus.publish(
            Subjects.result(job.submission_id, job.task, private=job.private),
            result,
            f"result:{job.submission_id}:{job.task}:{attempt}",
        )
        await self._status(job, TaskState.DONE, attempt)
        await msg.ack()
        JOBS_FINISHED.labels(TaskState.DONE.value).inc()
        label = metric_label(job)
        TASK_DURATION.labels(label).observe(evaluation.envelope.evaluation_time_s)
        if evaluation.envelope.efficiency is not None:
            ENCODE_THROUGHPUT.labels(label).set(evaluation.envelope.efficiency.texts_per_s)

    @staticmethod
    def _token(job: Job) -> str | None:
        """The submitter's Hub token, opened; never logged nor published."""
        if job.sealed_token is None:
            return None
        try:
            return open_token(job.sealed_token)
        except (ValueError, OSError) as error:
            reason = f"cannot open the submitter's Hub token: {type(error).__name__}"
            raise JobFailure(FailureKind.MODEL_LOAD, reason) from None

    async def _task_folder(self, job: Job) -> Path | None:
        """The folder of the job's custom task's files, fetched from the object store (None for
        a registry task). Files missing or altered there fail the job for good; the bus or the
        disk failing us is transient."""
        if job.custom_task is None:
            return None
        if self.task_data_dir is None:
            reason = f"{job.task}: this evaluator has no folder for custom tasks' data"
            raise JobFailure(FailureKind.DATA_UNAVAILABLE, reason)
        try:
            return await self.task_data.fetch(job.custom_task, self.task_data_dir)
        except TaskDataError as error:
            raise JobFailure(FailureKind.DATA_UNAVAILABLE, str(error)[:REASON_LENGTH]) from error
        except Exception as error:
            log.warning("fetching %s's data failed: %s", job.task, short(error))
            reason = f"{job.task}: its data could not be fetched ({short(error)})"
            raise JobFailure(FailureKind.DATA_UNAVAILABLE, reason, transient=True) from error

    async def _cancelled(self, job: Job) -> bool:
        """Whether the submission's cancellation is on the bus (the evaluator keeps no state).

        Only a cancellation that follows the submission's own `accepted` event counts: one for
        an id nobody accepted (yet) was not sent by the submission service. A private job's
        submission has its events on the private subjects.
        """
        stream = PRIVATE if job.private else SUBMISSIONS
        sid = job.submission_id
        try:
            accepted = await self.bus.js.get_last_msg(
                stream.name, Subjects.accepted(sid, private=job.private)
            )
            cancelled = await self.bus.js.get_last_msg(
                stream.name, Subjects.cancelled(sid, private=job.private)
            )
        except NotFoundError:
            return False
        return (cancelled.seq or 0) > (accepted.seq or 0)

    async def _failed(self, msg: Msg, job: Job, attempt: int, failure: JobFailure) -> None:
        """Retry a transient failure later while deliveries remain; else dead-letter the job."""
        if failure.transient and attempt < self.max_deliver:
            delay = self.retry_backoff_s * 2 ** (attempt - 1)
            log.warning(
                "job %s/%s: %s; retry in %.0f s", job.submission_id, job.task, failure, delay
            )
            await msg.nak(delay=delay)
            JOBS_FINISHED.labels("retried").inc()
            return
        reason = str(failure)
        if failure.transient:
            reason = f"{reason} (attempt {attempt} of {self.max_deliver})"
        if failure.trace_id:
            reason = f"{reason} [trace {failure.trace_id}]"
        await self._status(job, TaskState.FAILED, attempt, reason, failure.kind, failure.trace_id)
        await self.bus.dead_letter(msg, JOBS, reason)
        await msg.ack()
        JOBS_FINISHED.labels(TaskState.FAILED.value).inc()

    async def _heartbeat(self, msg: Msg, job: Job, attempt: int) -> None:
        """Extend the job's lease while it runs, and report how far it is when that changed."""
        reported = None
        while True:
            await asyncio.sleep(min(self.ack_wait / 3, PROGRESS_INTERVAL_S))
            with contextlib.suppress(Exception):
                await msg.in_progress()
            progress = self.runner.progress()
            if progress is not None and progress != reported:
                reported = progress
                encoded, total = progress
                with contextlib.suppress(Exception):
                    await self._status(job, TaskState.RUNNING, attempt, progress=(encoded, total))

    async def _status(
        self,
        job: Job,
        state: TaskState,
        attempt: int,
        reason: str | None = None,
        failure: FailureKind | None = None,
        trace_id: str | None = None,
        progress: tuple[int, int | None] | None = None,
    ) -> None:
        encoded, total = progress or (None, None)
        event = StatusEvent(
            submission_id=job.submission_id,
            task=job.task,
            state=state,
            reason=reason,
            failure=failure,
            trace_id=trace_id,
            evaluator_id=self.runner.evaluator_id,
            attempt=attempt,
            encoded=encoded,
            total=total,
        )
        msg_id = f"status:{job.submission_id}:{job.task}:{state.value}:{attempt}"
        if encoded is not None:
            msg_id = f"{msg_id}:{encoded}"
        await self.bus.publish(Subjects.status(job.submission_id, job.private), event, msg_id)


def metric_label(job: Job) -> str:
    """The task label of the job's metrics: custom tasks' names (chosen by users, maybe
    private) are never labels, they share `custom`."""
    return "custom" if job.custom_task is not None else job.task
