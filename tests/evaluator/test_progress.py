"""Progress of a running task: texts encoded of the expected total, from the runner to the
heartbeat's status event, the stored submission, `leaderboard status` and the submission page."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import mteb
import pytest

from services.evaluator.cache import ModelCache
from services.evaluator.progress import expected_texts
from services.evaluator.runner import Runner
from services.stack import Stack
from shared.bus import Bus
from shared.documents import SubmissionDoc, TaskProgress
from shared.events import Job, StatusEvent, Subjects, TaskState
from shared.store import Store
from tests.conftest import MODEL_ID


def test_expected_texts_come_from_mteb_statistics() -> None:
    assert expected_texts(mteb.get_task("BIOSSES")) == 200  # 100 pairs
    assert expected_texts(mteb.get_task("STSBenchmark")) == 2 * 1379
    assert expected_texts(mteb.get_task("SciFact")) == 5183 + 300  # documents and queries


def test_the_runner_reports_texts_encoded_while_it_runs(
    models_dir: Path, datasets_dir: Path | None
) -> None:
    if datasets_dir is None:
        pytest.skip("needs the offline task data")
    runner = Runner(ModelCache(models_dir, "cpu", "fp32", 1), datasets_dir, 16, "progress-test")
    job = Job(submission_id=uuid.uuid4().hex, model=MODEL_ID, revision="r", task="BIOSSES")
    seen: set[tuple[int, int | None]] = set()
    running = threading.Thread(target=runner.run, args=(job, 1))
    running.start()
    while running.is_alive():
        if (progress := runner.progress()) is not None:
            seen.add(progress)
        running.join(0.005)
    assert runner.progress() is None  # between jobs
    assert {total for _, total in seen} == {200}
    encoded = sorted(done for done, _ in seen)
    assert encoded[-1] <= 200 and any(0 < done < 200 for done in encoded), encoded


async def test_progress_is_stored_and_shown(stack: Stack, stack_store: Store, bus: Bus) -> None:
    submission = SubmissionDoc(
        _id=uuid.uuid4().hex,
        model=MODEL_ID,
        revision="progress",
        tasks=[TaskProgress(task="BIOSSES")],
    )
    await stack_store.insert_submission(submission)
    event = StatusEvent(
        submission_id=submission.id,
        task="BIOSSES",
        state=TaskState.RUNNING,
        evaluator_id="progress-test",
        encoded=64,
        total=200,
    )
    await bus.publish(Subjects.status(submission.id), event, f"progress-test:{submission.id}")
    for _ in range(200):
        stored = await stack_store.get_submission(submission.id)
        assert stored is not None
        if stored.tasks[0].encoded == 64:
            break
        await asyncio.sleep(0.1)
    assert (stored.tasks[0].state, stored.tasks[0].total) == (TaskState.RUNNING, 200)

    page = httpx.get(f"{stack.web_url}/submissions/{submission.id}")
    assert "64 of 200 texts encoded" in page.text
    status = subprocess.run(
        [sys.executable, "-m", "services.cli", "status", submission.id],
        env=stack.env | {"LEADERBOARD_API_URL": stack.api_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[1].split() == ["BIOSSES", "running", "64/200", "texts"]
