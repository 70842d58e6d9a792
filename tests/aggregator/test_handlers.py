"""The aggregator checks what anyone on the bus could send: results and statuses of tasks it
knows, at the attempt it knows, with scores mteb could have made."""

from __future__ import annotations

import uuid

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from services.aggregator.handlers import Aggregator
from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from shared.bus import RESULTS, Bus, InvalidMessage
from shared.documents import SubmissionDoc, SubmissionStatus, TaskProgress
from shared.events import ResultEvent, StatusEvent, Subjects, TaskState
from shared.store import Store
from tests.aggregator.test_benchmark_updates import (
    NEW_MODEL,
    biosses_result,
    deliver,
    result_event,
)


@pytest.fixture
def aggregator(store: Store, bus: Bus) -> Aggregator:
    return Aggregator(bus, store, BenchmarkUpdater(store, None, bootstrap_resamples=0))


async def submitted(store: Store, *tasks: str) -> str:
    submission_id = uuid.uuid4().hex
    progress = [TaskProgress(task=task) for task in tasks]
    await store.insert_submission(
        SubmissionDoc(_id=submission_id, model=NEW_MODEL, revision="r1", tasks=progress)
    )
    return submission_id


async def deliver_again(bus: Bus, aggregator: Aggregator, event: ResultEvent) -> None:
    """Publish `event` under a message id of its own and hand it to `on_result`."""
    subject = Subjects.result(event.submission_id, event.task)
    await bus.publish(subject, event, f"forged:{uuid.uuid4().hex}")
    pull = await bus.js.pull_subscribe(
        subject, stream=RESULTS.name, config=ConsumerConfig(deliver_policy=DeliverPolicy.LAST)
    )
    [msg] = await pull.fetch(1, timeout=10)
    try:
        await aggregator.on_result(msg)
    finally:
        await pull.unsubscribe()


async def report(bus: Bus, aggregator: Aggregator, event: StatusEvent) -> None:
    subject = Subjects.status(event.submission_id)
    msg_id = f"status:{event.submission_id}:{event.task}:{event.state}:{event.attempt}"
    await bus.publish(subject, event, msg_id)
    pull = await bus.js.pull_subscribe(
        subject, stream=RESULTS.name, config=ConsumerConfig(deliver_policy=DeliverPolicy.LAST)
    )
    [msg] = await pull.fetch(1, timeout=10)
    await aggregator.on_status(msg)
    await pull.unsubscribe()


def status(submission_id: str, state: TaskState, attempt: int = 1) -> StatusEvent:
    return StatusEvent(
        submission_id=submission_id,
        task="BIOSSES",
        state=state,
        evaluator_id="evaluator-0",
        attempt=attempt,
        reason="forged" if state == TaskState.FAILED else None,
    )


@pytest.mark.parametrize("score", [1.5, -1.01])
async def test_a_main_score_out_of_range_is_refused_and_stores_nothing(
    store: Store, bus: Bus, aggregator: Aggregator, score: float
) -> None:
    submission_id = await submitted(store, "BIOSSES")
    event = result_event(submission_id, biosses_result(score), "BIOSSES")
    with pytest.raises(InvalidMessage, match="outside"):
        await deliver(bus, store, event, aggregator)
    assert await store.results.count_documents({}) == 0


async def test_a_second_result_for_a_done_task_is_refused(
    store: Store, bus: Bus, aggregator: Aggregator
) -> None:
    submission_id = await submitted(store, "BIOSSES")
    await deliver(
        bus, store, result_event(submission_id, biosses_result(0.8), "BIOSSES"), aggregator
    )
    forged = result_event(submission_id, biosses_result(0.99), "BIOSSES")
    with pytest.raises(InvalidMessage, match="the task is done"):
        await deliver_again(bus, aggregator, forged)
    await deliver_again(
        bus, aggregator, result_event(submission_id, biosses_result(0.8), "BIOSSES")
    )
    [stored] = [doc async for doc in store.results.find({})]
    assert stored["main_score"] == 0.8


async def test_a_forged_failure_does_not_stick_once_the_task_finishes(
    store: Store, bus: Bus, aggregator: Aggregator
) -> None:
    submission_id = await submitted(store, "BIOSSES")
    await report(bus, aggregator, status(submission_id, TaskState.RUNNING))
    await report(bus, aggregator, status(submission_id, TaskState.FAILED))
    failed = await store.get_submission(submission_id)
    assert failed is not None and failed.status == SubmissionStatus.FAILED
    await deliver(
        bus, store, result_event(submission_id, biosses_result(0.8), "BIOSSES"), aggregator
    )
    done = await store.get_submission(submission_id)
    assert done is not None and done.status == SubmissionStatus.COMPLETED
    assert done.tasks[0].state == TaskState.DONE and done.tasks[0].main_score == 0.8


async def test_a_report_of_an_earlier_attempt_is_ignored(
    store: Store, bus: Bus, aggregator: Aggregator
) -> None:
    submission_id = await submitted(store, "BIOSSES")
    await report(bus, aggregator, status(submission_id, TaskState.RUNNING, attempt=2))
    await report(bus, aggregator, status(submission_id, TaskState.FAILED, attempt=1))
    running = await store.get_submission(submission_id)
    assert running is not None and running.tasks[0].state == TaskState.RUNNING
    stale = result_event(submission_id, biosses_result(0.8), "BIOSSES")
    with pytest.raises(InvalidMessage, match="stale"):
        await deliver(bus, store, stale, aggregator)
