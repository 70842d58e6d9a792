"""The job lease: heartbeats keep a long task from being handed to another evaluator."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from nats.js.errors import NotFoundError

from services.evaluator.runner import Evaluation
from services.evaluator.worker import Evaluator
from shared.bus import FETCH_TIMEOUTS, JOBS, RESULTS, Bus
from shared.events import Job, Priority, ResultEvent, Subjects
from tests.support.helpers import make_envelope

ACK_WAIT = 1.0


class SlowRunner:
    """Stands in for mteb: takes three lease periods, then returns a fixed evaluation."""

    evaluator_id = "slow-evaluator"

    def __init__(self) -> None:
        self.calls = 0

    def progress(self) -> tuple[int, int | None] | None:
        return None

    def run(
        self, job: Job, attempt: int, token: str | None = None, folder: Path | None = None
    ) -> Evaluation:
        self.calls += 1
        time.sleep(3 * ACK_WAIT)
        envelope = make_envelope(
            model=job.model,
            revision=job.revision,
            task=job.task,
            evaluator_id=self.evaluator_id,
            attempt=attempt,
        )
        return Evaluation(0.5, {"scores": {}}, envelope)


async def test_heartbeats_keep_the_job_from_a_second_evaluator(own_bus: Bus) -> None:
    runner = SlowRunner()
    evaluator = Evaluator(own_bus, runner, ack_wait=ACK_WAIT, max_deliver=3)
    stopping = asyncio.Event()
    serving = asyncio.create_task(evaluator.serve(stopping))
    job = Job(submission_id="s1", model="a/b", revision="r", task="BIOSSES")
    await asyncio.sleep(0.5)  # let the evaluator declare its consumers
    await own_bus.publish(Subjects.job(Priority.NORMAL, "s1", "BIOSSES"), job, "job:s1:BIOSSES")
    async with asyncio.timeout(30):
        while runner.calls == 0:
            await asyncio.sleep(0.05)

    second = await own_bus.pull(
        JOBS, "evaluators-normal", "lb.jobs.normal.>", ack_wait=ACK_WAIT, max_deliver=3
    )
    with pytest.raises(FETCH_TIMEOUTS):
        await second.fetch(1, timeout=2.5 * ACK_WAIT)  # the lease would have expired twice

    async with asyncio.timeout(30):
        while True:
            try:
                raw = await own_bus.js.get_last_msg(RESULTS.name, Subjects.result("s1", "BIOSSES"))
                break
            except NotFoundError:
                await asyncio.sleep(0.1)
    result = ResultEvent.model_validate_json(raw.data)
    stopping.set()
    await serving
    assert result.envelope.attempt == 1
    assert runner.calls == 1
    info = await own_bus.js.consumer_info(JOBS.name, "evaluators-normal")
    assert info.num_redelivered == 0
    assert info.num_ack_pending == 0
