"""The evaluator's bus side: pull jobs (high priority first), heartbeat, publish, ack."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from services.evaluator.runner import Runner
from shared.bus import FETCH_TIMEOUTS, JOBS, Bus, decode
from shared.events import Job, Priority, ResultEvent, StatusEvent, Subjects, TaskState

log = logging.getLogger(__name__)


class Evaluator:
    """Serves jobs one at a time until stopped."""

    def __init__(self, bus: Bus, runner: Runner, ack_wait: float, max_deliver: int) -> None:
        self.bus = bus
        self.runner = runner
        self.ack_wait = ack_wait
        self.max_deliver = max_deliver
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
            for priority in (Priority.HIGH, Priority.NORMAL)
        ]
        log.info("evaluator %s ready", self.runner.evaluator_id)
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
        return None

    async def handle(self, msg: Msg) -> None:
        attempt = msg.metadata.num_delivered or 1
        try:
            job = decode(msg, Job)
        except ValidationError as error:
            await self.bus.dead_letter(msg, JOBS, f"invalid job: {error}")
            await msg.ack()
            return
        await self._status(job, TaskState.RUNNING, attempt)
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        try:
            evaluation = await asyncio.to_thread(self.runner.run, job, attempt)
        except Exception as error:
            log.exception("job %s/%s failed", job.submission_id, job.task)
            reason = f"{type(error).__name__}: {error}"[:500]
            await self._status(job, TaskState.FAILED, attempt, reason)
            await self.bus.dead_letter(msg, JOBS, reason)
            await msg.ack()
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
            Subjects.result(job.submission_id, job.task),
            result,
            f"result:{job.submission_id}:{job.task}",
        )
        await self._status(job, TaskState.DONE, attempt)
        await msg.ack()

    async def _heartbeat(self, msg: Msg) -> None:
        """Extend the job's lease while it runs."""
        while True:
            await asyncio.sleep(self.ack_wait / 3)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    async def _status(
        self, job: Job, state: TaskState, attempt: int, reason: str | None = None
    ) -> None:
        event = StatusEvent(
            submission_id=job.submission_id,
            task=job.task,
            state=state,
            reason=reason,
            evaluator_id=self.runner.evaluator_id,
            attempt=attempt,
        )
        msg_id = f"status:{job.submission_id}:{job.task}:{state.value}:{attempt}"
        await self.bus.publish(Subjects.status(job.submission_id), event, msg_id)
