"""`leaderboard reevaluate` on a real store and nats-server: low-priority jobs for stale results."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import mteb
import pytest

from shared.bus import JOBS, PRIVATE, Bus
from shared.custom_tasks.spec import TaskType
from shared.documents import (
    CustomTaskDoc,
    ResultDoc,
    StatusChange,
    SubmissionDoc,
    SubmissionStatus,
    TaskClaimDoc,
    TaskProgress,
    result_id,
    task_claim_id,
)
from shared.embedded import free_port, start_nats, stop
from shared.events import Job, Priority, Subjects, TaskState, Visibility
from shared.store import Store
from tests.support.custom_seed import spec

OLD = "1.12.0"


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    server = start_nats(tmp_path / "nats", port)
    yield f"nats://127.0.0.1:{port}"
    stop(server)


def stored(model: str, task: str, version: str, submission_id: str | None = None) -> ResultDoc:
    return ResultDoc(
        _id=result_id(model, "r1", task, version),
        model=model,
        revision="r1",
        task=task,
        main_score=0.5,
        evaluated_at=datetime(2026, 1, 1, tzinfo=UTC),
        mteb_version=version,
        submission_id=submission_id,
        source="evaluator" if submission_id else "import",
    )


def reevaluate(
    mongodb_url: str, store: Store, nats: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, against this test's store and bus."""
    env = dict(os.environ) | {
        "LEADERBOARD_MONGODB_URL": mongodb_url,
        "LEADERBOARD_MONGODB_DATABASE": store.db.name,
        "LEADERBOARD_NATS_URL": nats,
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "reevaluate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_stale_results_are_queued_once_at_low_priority(
    mongodb_url: str, store: Store, nats: str
) -> None:
    done = SubmissionDoc(
        _id="old-submission",
        model="org/a",
        revision="r1",
        status=SubmissionStatus.COMPLETED,
        tasks=[TaskProgress(task="BIOSSES", state=TaskState.DONE, main_score=0.5)],
        history=[StatusChange(status=SubmissionStatus.COMPLETED)],
    )
    await store.insert_submission(done)
    claim_id = task_claim_id("org/a", "r1", "BIOSSES")
    await store.claim_task(TaskClaimDoc(_id=claim_id, submission_id=done.id))
    old = stored("org/a", "BIOSSES", OLD, done.id)
    for result in (
        old,
        stored("org/a", "STSBenchmark", mteb.__version__),  # current: nothing to do
        stored("org/b", "BIOSSES", OLD),
        stored("org/b", "BIOSSES", mteb.__version__),  # re-evaluated already
    ):
        await store.upsert_result(result)

    planned = reevaluate(mongodb_url, store, nats, "--stale", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines() == ["would queue  org/a@r1  BIOSSES"]
    assert await store.submissions.count_documents({}) == 1

    ran = reevaluate(mongodb_url, store, nats, "--stale")
    assert ran.returncode == 0, ran.stderr
    (line,) = ran.stdout.splitlines()
    submission_id, target, tasks = line.split("  ")
    assert (target, tasks) == ("org/a@r1", "BIOSSES")
    submission = await store.get_submission(submission_id)
    assert submission is not None
    assert submission.priority == Priority.LOW
    assert submission.submitted_by == "reevaluate"
    assert [p.task for p in submission.tasks] == ["BIOSSES"]
    (claim,) = await store.get_claims([claim_id])
    assert claim.submission_id == submission_id
    assert await store.results.count_documents({"_id": old.id}) == 1  # the old one stays

    bus = await Bus.connect(nats, "test")
    try:
        raw = await bus.js.get_last_msg(
            JOBS.name, Subjects.job(Priority.LOW, submission_id, "BIOSSES")
        )
        job = Job.model_validate_json(raw.data or b"")
        assert (job.model, job.revision, job.task, job.priority) == (
            "org/a",
            "r1",
            "BIOSSES",
            Priority.LOW,
        )
        jobs = (await bus.js.stream_info(JOBS.name)).state.messages
    finally:
        await bus.close()
    assert jobs == 1

    again = reevaluate(mongodb_url, store, nats, "--stale")
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""  # under way already: not queued twice
    assert "queued 0" in again.stderr


async def test_a_custom_task_is_evaluated_again_on_its_current_data(
    mongodb_url: str, store: Store, nats: str
) -> None:
    current = spec("mine-sts", TaskType.STS, "cosine_spearman")
    task = CustomTaskDoc(_id="mine-sts", spec=current, owner="alice", earlier_revisions=["a" * 64])
    await store.insert_custom_task(task)
    shared = spec("shared-sts", TaskType.STS, "cosine_spearman")
    await store.insert_custom_task(
        CustomTaskDoc(_id="shared-sts", spec=shared, owner="bob", visibility=Visibility.PUBLIC)
    )
    earlier = stored("org/a", "mine-sts", mteb.__version__).model_copy(
        update={"dataset_revision": "a" * 64}
    )
    on_current = stored("org/a", "shared-sts", mteb.__version__).model_copy(
        update={"dataset_revision": shared.revision}
    )
    for result in (earlier, on_current):
        await store.upsert_result(result)

    ran = reevaluate(mongodb_url, store, nats, "--stale")
    assert ran.returncode == 0, ran.stderr
    (line,) = ran.stdout.splitlines()
    submission_id, target, tasks = line.split("  ")
    assert (target, tasks) == ("org/a@r1", "mine-sts")  # the other one is current
    submission = await store.get_submission(submission_id)
    assert submission is not None and submission.visibility is Visibility.PRIVATE
    claim_id = task_claim_id("org/a", "r1", f"mine-sts@{current.revision}")
    (claim,) = await store.get_claims([claim_id])
    assert claim.submission_id == submission_id

    bus = await Bus.connect(nats, "test")
    try:
        raw = await bus.js.get_last_msg(
            JOBS.name, Subjects.job(Priority.LOW, submission_id, "mine-sts")
        )
        job = Job.model_validate_json(raw.data or b"")
        assert job.custom_task == current and job.private
        accepted = await bus.js.get_last_msg(
            PRIVATE.name, Subjects.accepted(submission_id, private=True)
        )
        assert accepted.data
    finally:
        await bus.close()

    public = reevaluate(mongodb_url, store, nats, "--tasks", "shared-sts")
    assert public.returncode == 0, public.stderr
    (line,) = public.stdout.splitlines()
    again = await store.get_submission(line.split("  ")[0])
    assert again is not None and again.visibility is Visibility.PUBLIC


async def test_bad_arguments_are_refused(mongodb_url: str, store: Store, nats: str) -> None:
    unnamed = reevaluate(mongodb_url, store, nats)
    assert unnamed.returncode == 2
    assert "--stale" in unnamed.stderr
    unknown = reevaluate(mongodb_url, store, nats, "--benchmark", "MTEB(nowhere, v9)")
    assert unknown.returncode == 2
    assert "no benchmark" in unknown.stderr
