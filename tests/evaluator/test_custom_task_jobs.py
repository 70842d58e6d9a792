"""Custom-task jobs through an evaluator on a real nats-server: the task's files fetched from the
object store, mteb's score, the data's hash in the envelope; private jobs' events on the private
subjects only."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TypeVar

import mteb
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import BaseModel, ValidationError
from sentence_transformers import SentenceTransformer

from services.evaluator.cache import ModelCache
from services.evaluator.metadata import load_task
from services.evaluator.runner import Runner
from services.evaluator.worker import Evaluator
from shared.bus import EXHAUSTED_JOBS, JOBS, PRIVATE, REASON_HEADER, RESULTS, STREAMS, Bus, Stream
from shared.custom_tasks.spec import TaskSpec, TaskType
from shared.events import (
    FailureKind,
    Job,
    Priority,
    ResultEvent,
    StatusEvent,
    Subjects,
    SubmissionAccepted,
    SubmissionCancelled,
    TaskState,
)
from shared.task_data import TaskData, manifest
from tests.conftest import MODEL_ID
from tests.evaluator.test_evaluator_bus import ScriptedRunner, Serving
from tests.shared.test_dead_letters import dead_letter_for
from tests.support.offline_data import data, offline_datasets
from tests.test_e2e import REVISION

__all__ = ["data", "offline_datasets"]  # fixtures

E = TypeVar("E", bound=BaseModel)
NAME = "my-biosses"


@pytest.fixture(scope="module")
def mteb_biosses(models_dir: Path, data: Path) -> float:
    """mteb's own BIOSSES main score of the packaged model, run by mteb alone."""
    model = SentenceTransformer(str(models_dir / MODEL_ID), device="cpu")
    task = load_task("BIOSSES", data)
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False)
    return float(result.task_results[0].get_score())


def biosses_spec(data: Path, name: str = NAME) -> TaskSpec:
    files = manifest(data / "BIOSSES")
    return TaskSpec(
        name=name,
        type=TaskType.STS,
        main_score="cosine_spearman",
        score_range=(0, 4),
        files=files,
        revision=TaskSpec.manifest_revision(files),
    )


def custom_job(submission_id: str, spec: TaskSpec, private: bool = False) -> Job:
    return Job(
        submission_id=submission_id,
        model=MODEL_ID,
        revision=REVISION,
        task=spec.name,
        custom_task=spec,
        private=private,
    )


async def publish(bus: Bus, job: Job) -> None:
    subject = Subjects.job(Priority.NORMAL, job.submission_id, job.task)
    await bus.publish(subject, job, f"job:{job.submission_id}:{job.task}")


async def events(
    bus: Bus, stream: Stream, subject: str, model: type[E], count: int, timeout: float = 300.0
) -> list[E]:
    """The first `count` messages of `subject` in `stream`, waiting for them."""
    subscription = await bus.js.subscribe(
        subject,
        stream=stream.name,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    found: list[E] = []
    try:
        async with asyncio.timeout(timeout):
            while len(found) < count:
                msg = await subscription.next_msg(timeout=timeout)
                found.append(model.model_validate_json(msg.data))
    finally:
        await subscription.unsubscribe()
    return found


EVENT_STREAMS = [stream for stream in STREAMS if stream not in (JOBS, EXHAUSTED_JOBS)]
"""The streams of events (the jobs' are read by evaluators only, and emptied as they go)."""


async def statuses_until_done(bus: Bus, submission_id: str, private: bool) -> list[StatusEvent]:
    """The submission's status events up to its `done` (running ones report progress)."""
    stream = PRIVATE if private else RESULTS
    subject = Subjects.status(submission_id, private)
    count = 1
    while (found := await events(bus, stream, subject, StatusEvent, count))[-1].state not in {
        TaskState.DONE,
        TaskState.FAILED,
    }:
        count += 1
    return found


async def subjects_naming(bus: Bus, submission_id: str) -> dict[str, list[str]]:
    """Every subject of an event stream naming `submission_id`, by stream."""
    named: dict[str, list[str]] = {}
    for stream in EVENT_STREAMS:
        info = await bus.js.stream_info(stream.name, subjects_filter=">")
        subjects = [s for s in (info.state.subjects or {}) if submission_id in s]
        if subjects:
            named[stream.name] = sorted(subjects)
    return named


async def test_a_custom_task_job_scores_as_mteb_and_private_events_stay_private(
    own_bus: Bus, models_dir: Path, data: Path, mteb_biosses: float, tmp_path: Path
) -> None:
    spec = biosses_spec(data)
    await TaskData(own_bus).put(data / "BIOSSES", spec.files)
    runner = Runner(ModelCache(models_dir, "cpu"), None, 32, "custom-runs")
    cache = tmp_path / "task-data"
    evaluator = Evaluator(own_bus, runner, 30.0, max_deliver=2, task_data_dir=cache)
    async with Serving(evaluator):
        await publish(own_bus, custom_job("s-custom", spec))
        await publish(own_bus, custom_job("s-private", spec, private=True))
        [public] = await events(own_bus, RESULTS, Subjects.result("s-custom", NAME), ResultEvent, 1)
        [private] = await events(
            own_bus, PRIVATE, Subjects.result("s-private", NAME, private=True), ResultEvent, 1
        )
        private_states = await statuses_until_done(own_bus, "s-private", private=True)

    for result in (public, private):
        assert result.task == result.envelope.task == NAME
        assert result.main_score == pytest.approx(mteb_biosses, abs=1e-6)
        assert result.envelope.dataset_revision == spec.revision
        assert result.envelope.task_type == "STS"
        assert result.envelope.main_metric == "cosine_spearman"
    assert {event.state for event in private_states} == {TaskState.RUNNING, TaskState.DONE}
    assert [path.name for path in cache.iterdir()] == [spec.revision]  # fetched once

    assert await subjects_naming(own_bus, "s-private") == {
        PRIVATE.name: [Subjects.result("s-private", NAME, True), Subjects.status("s-private", True)]
    }
    assert await subjects_naming(own_bus, "s-custom") == {
        "LB_RESULTS": [Subjects.result("s-custom", NAME), Subjects.status("s-custom")]
    }


async def test_a_private_submission_cancelled_on_its_private_subjects_is_not_run(
    own_bus: Bus, data: Path, tmp_path: Path
) -> None:
    sid = "s-private-cancel"
    accepted = SubmissionAccepted(submission_id=sid, model=MODEL_ID, revision="r", tasks=[NAME])
    await own_bus.publish(Subjects.accepted(sid, private=True), accepted, f"accepted:{sid}")
    cancelled = SubmissionCancelled(submission_id=sid)
    await own_bus.publish(Subjects.cancelled(sid, private=True), cancelled, f"cancelled:{sid}")
    runner = ScriptedRunner(lambda job: None)
    evaluator = Evaluator(own_bus, runner, 5.0, max_deliver=2, task_data_dir=tmp_path)
    async with Serving(evaluator):
        await publish(own_bus, custom_job(sid, biosses_spec(data), private=True))
        [status] = await events(
            own_bus, PRIVATE, Subjects.status(sid, private=True), StatusEvent, 1
        )
    assert (status.state, status.failure) == (TaskState.CANCELLED, FailureKind.CANCELLED)
    assert runner.calls == []
    assert list(await subjects_naming(own_bus, sid)) == [PRIVATE.name]


async def test_a_custom_task_whose_data_is_gone_fails_unretried(
    own_bus: Bus, data: Path, tmp_path: Path
) -> None:
    spec = biosses_spec(data, name="gone-task")
    files = spec.files | {"extra.jsonl": os.urandom(32).hex()}  # never stored
    gone = spec.model_copy(update={"files": files, "revision": TaskSpec.manifest_revision(files)})
    await TaskData(own_bus).put(data / "BIOSSES", spec.files)
    runner = ScriptedRunner(lambda job: None)
    evaluator = Evaluator(own_bus, runner, 5.0, max_deliver=3, task_data_dir=tmp_path / "cache")
    async with Serving(evaluator):
        await publish(own_bus, custom_job("s-gone", gone))
        _, failed = await events(own_bus, RESULTS, Subjects.status("s-gone"), StatusEvent, 2)
        letter = await dead_letter_for(
            own_bus, JOBS.name, Subjects.job(Priority.NORMAL, "s-gone", "gone-task")
        )
    assert runner.calls == []
    assert (failed.state, failed.failure, failed.attempt) == (
        TaskState.FAILED,
        FailureKind.DATA_UNAVAILABLE,
        1,
    )
    assert failed.reason and "extra.jsonl" in failed.reason and "is not stored" in failed.reason
    assert letter.headers is not None and letter.headers[REASON_HEADER] == failed.reason
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-fetched left


async def test_a_private_job_whose_holders_died_fails_on_the_private_subject(
    own_bus: Bus, data: Path
) -> None:
    lost = await own_bus.pull(
        JOBS, "evaluators-normal", "lb.jobs.normal.>", ack_wait=1.0, max_deliver=2
    )
    await publish(own_bus, custom_job("s-lost-private", biosses_spec(data), private=True))
    for _ in range(2):
        await lost.fetch(1, timeout=5)  # an evaluator takes it, then dies
        await asyncio.sleep(1.2)
    runner = ScriptedRunner(lambda job: None)
    async with Serving(Evaluator(own_bus, runner, ack_wait=1.0, max_deliver=2)):
        [failed] = await events(
            own_bus, PRIVATE, Subjects.status("s-lost-private", True), StatusEvent, 1, 30
        )
    assert (failed.state, failed.failure) == (TaskState.FAILED, FailureKind.EXHAUSTED)
    assert list(await subjects_naming(own_bus, "s-lost-private")) == [PRIVATE.name]


def test_a_custom_job_names_its_own_task(data: Path) -> None:
    with pytest.raises(ValidationError, match=r"custom_task\.name"):
        Job(
            submission_id="s",
            model=MODEL_ID,
            revision=REVISION,
            task="BIOSSES",
            custom_task=biosses_spec(data),
        )


async def test_a_fetch_failing_on_this_machine_is_retried(
    own_bus: Bus, data: Path, tmp_path: Path
) -> None:
    """The cache folder cannot be made (a file is in its way): transient, tried again."""
    spec = biosses_spec(data, name="blocked-task")
    await TaskData(own_bus).put(data / "BIOSSES", spec.files)
    blocked = tmp_path / "cache"
    blocked.write_text("not a folder")
    runner = ScriptedRunner(lambda job: None)
    evaluator = Evaluator(
        own_bus, runner, 5.0, max_deliver=2, retry_backoff_s=0.2, task_data_dir=blocked
    )
    async with Serving(evaluator):
        await publish(own_bus, custom_job("s-blocked", spec))
        states = await events(own_bus, RESULTS, Subjects.status("s-blocked"), StatusEvent, 3)
    assert runner.calls == []
    assert [(e.state, e.attempt) for e in states] == [
        (TaskState.RUNNING, 1),
        (TaskState.RUNNING, 2),
        (TaskState.FAILED, 2),
    ]
    assert states[-1].failure == FailureKind.DATA_UNAVAILABLE
    assert states[-1].reason and states[-1].reason.endswith("(attempt 2 of 2)")
    assert "could not be fetched (FileExistsError" in states[-1].reason
