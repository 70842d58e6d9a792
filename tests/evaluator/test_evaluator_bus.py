"""The evaluator's job policy on a real nats-server: retries, dead letters, exhaustion, cancel.

The runner here stands in for mteb (the bus behaviour is under test; real runs are in
test_evaluator_runs.py and the stack tests).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nats.js.api import ConsumerConfig, DeliverPolicy

from services.evaluator.failures import JobFailure
from services.evaluator.runner import Evaluation
from services.evaluator.worker import Evaluator
from shared.bus import JOBS, REASON_HEADER, RESULTS, Bus
from shared.events import (
    FailureKind,
    Job,
    Priority,
    StatusEvent,
    Subjects,
    SubmissionAccepted,
    SubmissionCancelled,
    TaskState,
)
from tests.shared.test_dead_letters import dead_letter_for
from tests.support.helpers import make_envelope

ACK_WAIT = 2.0


class ScriptedRunner:
    """Runs each job through `behaviour` (which may raise a JobFailure), recording the calls."""

    evaluator_id = "bus-test"

    def __init__(self, behaviour: Callable[[Job], None]) -> None:
        self.behaviour = behaviour
        self.calls: list[tuple[str, int, float]] = []

    def progress(self) -> tuple[int, int | None] | None:
        return None

    def run(
        self, job: Job, attempt: int, token: str | None = None, folder: Path | None = None
    ) -> Evaluation:
        self.calls.append((job.task, attempt, time.monotonic()))
        self.behaviour(job)
        envelope = make_envelope(
            model=job.model, revision=job.revision, task=job.task, attempt=attempt
        )
        return Evaluation(0.5, {"scores": {}}, envelope)


async def publish_job(bus: Bus, submission_id: str, task: str) -> None:
    job = Job(submission_id=submission_id, model="a/b", revision="r", task=task)
    subject = Subjects.job(Priority.NORMAL, submission_id, task)
    await bus.publish(subject, job, f"job:{submission_id}:{task}")


async def publish_accepted(bus: Bus, submission_id: str, tasks: list[str]) -> None:
    accepted = SubmissionAccepted(
        submission_id=submission_id, model="a/b", revision="r", tasks=tasks
    )
    await bus.publish(Subjects.accepted(submission_id), accepted, f"accepted:{submission_id}")


async def statuses(
    bus: Bus, submission_id: str, count: int, timeout: float = 30.0
) -> list[StatusEvent]:
    """The first `count` status events of the submission, waiting for them."""
    subscription = await bus.js.subscribe(
        Subjects.status(submission_id),
        stream=RESULTS.name,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    events: list[StatusEvent] = []
    try:
        async with asyncio.timeout(timeout):
            while len(events) < count:
                msg = await subscription.next_msg(timeout=timeout)
                events.append(StatusEvent.model_validate_json(msg.data))
    finally:
        await subscription.unsubscribe()
    return events


class Serving:
    """An evaluator serving `bus` in the background while the block runs."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.stop = asyncio.Event()

    async def __aenter__(self) -> Evaluator:
        self.task = asyncio.create_task(self.evaluator.serve(self.stop))
        await asyncio.sleep(0.5)  # let it declare its consumers
        return self.evaluator

    async def __aexit__(self, *_: object) -> None:
        self.stop.set()
        await self.task


def failing(failure: JobFailure) -> Callable[[Job], None]:
    def fail(_: Job) -> None:
        raise JobFailure(failure.kind, failure.reason, failure.transient, failure.trace_id)

    return fail


async def test_transient_failure_backs_off_then_dead_letters_on_the_last_delivery(
    own_bus: Bus,
) -> None:
    runner = ScriptedRunner(failing(JobFailure(FailureKind.MODEL_LOAD, "hub timeout", True)))
    evaluator = Evaluator(own_bus, runner, ACK_WAIT, max_deliver=3, retry_backoff_s=0.5)
    async with Serving(evaluator):
        await publish_job(own_bus, "s-flaky", "BIOSSES")
        events = await statuses(own_bus, "s-flaky", count=4)
        letter = await dead_letter_for(
            own_bus, JOBS.name, Subjects.job(Priority.NORMAL, "s-flaky", "BIOSSES")
        )
    assert [attempt for _, attempt, _ in runner.calls] == [1, 2, 3]
    gaps = [
        later[2] - earlier[2]
        for earlier, later in zip(runner.calls, runner.calls[1:], strict=False)
    ]
    assert gaps[0] >= 0.5 and gaps[1] >= 1.0  # 0.5 s, then doubled
    assert [(e.state, e.attempt) for e in events] == [
        (TaskState.RUNNING, 1),
        (TaskState.RUNNING, 2),
        (TaskState.RUNNING, 3),
        (TaskState.FAILED, 3),
    ]
    failed = events[-1]
    assert failed.failure == FailureKind.MODEL_LOAD
    assert failed.reason == "model_load: hub timeout (attempt 3 of 3)"
    assert letter.headers is not None and letter.headers[REASON_HEADER] == failed.reason


async def test_permanent_failure_is_not_retried(own_bus: Bus) -> None:
    failure = JobFailure(FailureKind.TASK_ERROR, "ValueError: bad split", False, "abc123")
    runner = ScriptedRunner(failing(failure))
    async with Serving(Evaluator(own_bus, runner, ACK_WAIT, max_deliver=3)):
        await publish_job(own_bus, "s-broken", "BIOSSES")
        _, failed = await statuses(own_bus, "s-broken", count=2)
        letter = await dead_letter_for(
            own_bus, JOBS.name, Subjects.job(Priority.NORMAL, "s-broken", "BIOSSES")
        )
    assert len(runner.calls) == 1
    assert (failed.state, failed.failure, failed.trace_id) == (
        TaskState.FAILED,
        FailureKind.TASK_ERROR,
        "abc123",
    )
    assert failed.reason == "task_error: ValueError: bad split [trace abc123]"
    assert letter.headers is not None and letter.headers[REASON_HEADER] == failed.reason
    assert (await own_bus.js.stream_info(JOBS.name)).state.messages == 0


async def test_cancellation_stops_the_submission_between_tasks(own_bus: Bus) -> None:
    release = threading.Event()
    runner = ScriptedRunner(lambda job: release.wait(30) and None)
    async with Serving(Evaluator(own_bus, runner, ACK_WAIT, max_deliver=3)):
        await publish_accepted(own_bus, "s-cancel", ["BIOSSES", "STSBenchmark"])
        await publish_job(own_bus, "s-cancel", "BIOSSES")
        await publish_job(own_bus, "s-cancel", "STSBenchmark")
        await publish_job(own_bus, "s-other", "BIOSSES")
        async with asyncio.timeout(30):
            while not runner.calls:
                await asyncio.sleep(0.05)
        cancelled = SubmissionCancelled(submission_id="s-cancel")
        await own_bus.publish(Subjects.cancelled("s-cancel"), cancelled, "cancelled:s-cancel")
        release.set()  # the running task finishes: cancellation acts at task boundaries
        events = await statuses(own_bus, "s-cancel", count=3)
        other = await statuses(own_bus, "s-other", count=2)
    assert [(e.task, e.state) for e in events] == [
        ("BIOSSES", TaskState.RUNNING),
        ("BIOSSES", TaskState.DONE),
        ("STSBenchmark", TaskState.CANCELLED),
    ]
    assert events[-1].failure == FailureKind.CANCELLED
    assert events[-1].reason
    assert [e.state for e in other] == [TaskState.RUNNING, TaskState.DONE]
    assert [(task, attempt) for task, attempt, _ in runner.calls] == [
        ("BIOSSES", 1),
        ("BIOSSES", 1),
    ]
    assert (await own_bus.js.stream_info(JOBS.name)).state.messages == 0


async def test_job_whose_holders_all_died_is_dead_lettered_and_failed(own_bus: Bus) -> None:
    """Deliveries taken and never answered are what killed evaluators leave behind."""
    lost = await own_bus.pull(
        JOBS, "evaluators-normal", "lb.jobs.normal.>", ack_wait=1.0, max_deliver=2
    )
    await publish_job(own_bus, "s-lost", "BIOSSES")
    for _ in range(2):
        await lost.fetch(1, timeout=5)  # an evaluator takes it, then dies
        await asyncio.sleep(1.2)
    runner = ScriptedRunner(lambda job: None)
    async with Serving(Evaluator(own_bus, runner, ack_wait=1.0, max_deliver=2)):
        (failed,) = await statuses(own_bus, "s-lost", count=1)
        letter = await dead_letter_for(
            own_bus, JOBS.name, Subjects.job(Priority.NORMAL, "s-lost", "BIOSSES")
        )
        async with asyncio.timeout(10):
            while (await own_bus.js.stream_info(JOBS.name)).state.messages:
                await asyncio.sleep(0.1)
    assert runner.calls == []
    assert (failed.state, failed.failure, failed.attempt) == (
        TaskState.FAILED,
        FailureKind.EXHAUSTED,
        2,
    )
    assert failed.reason and "2 deliveries" in failed.reason
    assert letter.headers is not None and letter.headers[REASON_HEADER] == failed.reason


async def test_high_priority_jobs_are_taken_first(own_bus: Bus) -> None:
    for task in ("BIOSSES", "STSBenchmark"):
        await publish_job(own_bus, "s-normal", task)
    urgent = Job(submission_id="s-high", model="a/b", revision="r", task="SciFact")
    await own_bus.publish(Subjects.job(Priority.HIGH, "s-high", "SciFact"), urgent, "job:high")
    runner = ScriptedRunner(lambda job: None)
    async with Serving(Evaluator(own_bus, runner, ACK_WAIT, max_deliver=3)):
        await statuses(own_bus, "s-normal", count=4)
    assert [task for task, _, _ in runner.calls] == ["SciFact", "BIOSSES", "STSBenchmark"]


async def test_a_cancellation_nobody_accepted_is_ignored(own_bus: Bus) -> None:
    """A forged `cancelled` for an id before its `accepted` does not make evaluators skip it."""
    runner = ScriptedRunner(lambda job: None)
    forged = SubmissionCancelled(submission_id="s-forged")
    await own_bus.publish(Subjects.cancelled("s-forged"), forged, "cancelled:s-forged")
    await publish_accepted(own_bus, "s-forged", ["BIOSSES"])
    async with Serving(Evaluator(own_bus, runner, ACK_WAIT, max_deliver=3)):
        await publish_job(own_bus, "s-forged", "BIOSSES")
        events = await statuses(own_bus, "s-forged", count=2)
    assert [e.state for e in events] == [TaskState.RUNNING, TaskState.DONE]


async def test_a_job_with_hostile_fields_is_dead_lettered_unrun(own_bus: Bus) -> None:
    """A model id leading out of the mirror, or a wildcard submission id, never runs."""
    runner = ScriptedRunner(lambda job: None)
    hostile = [
        {"submission_id": "s-hostile", "model": "../../../etc", "revision": "r", "task": "A"},
        {"submission_id": "s-hostile", "model": "a/b", "revision": "../../x", "task": "A"},
        {"submission_id": "*", "model": "a/b", "revision": "r", "task": "A"},
    ]
    async with Serving(Evaluator(own_bus, runner, ACK_WAIT, max_deliver=3)):
        for number, fields in enumerate(hostile):
            data = json.dumps({"schema_version": 1} | fields).encode()
            await own_bus.js.publish(f"lb.jobs.normal.s-hostile.T{number}", data)
        for number in range(len(hostile)):
            letter = await dead_letter_for(
                own_bus, JOBS.name, f"lb.jobs.normal.s-hostile.T{number}"
            )
            assert letter.headers is not None
            assert "invalid job" in letter.headers[REASON_HEADER]
            assert "../" not in letter.headers[REASON_HEADER]
    assert runner.calls == []
