"""The queue and submission pages over a store holding submissions in every state."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from services.web.app import create_app
from shared.documents import ResultDoc, SubmissionDoc, SubmissionStatus, TaskProgress
from shared.events import FailureKind, TaskState, utcnow
from shared.settings import Settings
from shared.store import Store
from tests.support.helpers import make_envelope


def progress(task: str, state: TaskState, **fields: object) -> TaskProgress:
    return TaskProgress.model_validate({"task": task, "state": state} | fields)


@pytest.fixture
async def seeded(store: Store) -> Store:
    """One running submission, one waiting, one failed; BIOSSES measured at 30 s here."""
    now = utcnow()
    await store.upsert_result(
        ResultDoc(
            id="org/done@r|BIOSSES|2.26",
            model="org/done",
            revision="r",
            task="BIOSSES",
            main_score=0.8,
            envelope=make_envelope(task="BIOSSES", evaluation_time_s=30.0),
            evaluated_at=now,
        )
    )
    submissions = [
        SubmissionDoc(
            id="running0",
            model="org/running",
            revision="r",
            status=SubmissionStatus.RUNNING,
            tasks=[
                progress(
                    "BIOSSES",
                    TaskState.RUNNING,
                    evaluator_id="ev-0",
                    started_at=now - timedelta(seconds=12),
                )
            ],
            created_at=now - timedelta(minutes=10),
        ),
        SubmissionDoc(
            id="waiting0",
            model="org/waiting",
            revision="r",
            status=SubmissionStatus.QUEUED,
            tasks=[progress("BIOSSES", TaskState.QUEUED), progress("STS12", TaskState.QUEUED)],
            created_at=now - timedelta(minutes=5),
        ),
        SubmissionDoc(
            id="failed00",
            model="org/failed",
            revision="r",
            status=SubmissionStatus.FAILED,
            reason="failed tasks: SciFact",
            tasks=[
                progress(
                    "SciFact",
                    TaskState.FAILED,
                    failure=FailureKind.OUT_OF_MEMORY,
                    reason="CUDA out of memory at batch 32",
                )
            ],
            created_at=now - timedelta(minutes=20),
        ),
    ]
    for submission in submissions:
        await store.insert_submission(submission)
    return store


@pytest.fixture
async def web(seeded: Store, mongodb_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(mongodb_url=mongodb_url, mongodb_database=seeded.db.name)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            yield client


async def test_the_queue_lists_every_state_with_positions_and_estimates(
    web: httpx.AsyncClient,
) -> None:
    queue = (await web.get("/queue.json")).json()
    submissions = {s["id"]: s for s in queue["submissions"]}
    assert set(submissions) == {"running0", "waiting0"}
    assert submissions["waiting0"]["jobs_ahead"] == 0
    # BIOSSES 30 s (18 s left of the running one), then BIOSSES and STS12 (unmeasured: 30 s)
    assert submissions["waiting0"]["remaining_s"] == pytest.approx(18 + 30 + 30, abs=2)
    assert submissions["running0"]["remaining_s"] == pytest.approx(18, abs=2)
    jobs = {(job["submission_id"], job["task"]): job for job in queue["jobs"]}
    running = jobs[("running0", "BIOSSES")]
    assert running["state"] == "running"
    assert running["evaluator_id"] == "ev-0"
    assert running["elapsed_s"] == pytest.approx(12, abs=2)
    assert [jobs[("waiting0", t)]["position"] for t in ("BIOSSES", "STS12")] == [1, 2]
    failed = jobs[("failed00", "SciFact")]
    assert (failed["failure"], failed["reason"]) == (
        "out_of_memory",
        "CUDA out of memory at batch 32",
    )
    assert [s["id"] for s in queue["finished"]] == ["failed00"]


async def test_the_queue_page_and_csv_show_the_same(web: httpx.AsyncClient) -> None:
    page = await web.get("/queue")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    assert "etag" not in page.headers
    assert '<meta http-equiv="refresh"' in page.text
    for text in ("org/running", "ev-0", "org/waiting", "out_of_memory", "CUDA out of memory"):
        assert text in page.text
    rows = list(csv.DictReader(io.StringIO((await web.get("/queue.csv")).text)))
    assert {(row["submission_id"], row["task"], row["state"]) for row in rows} == {
        ("running0", "BIOSSES", "running"),
        ("waiting0", "BIOSSES", "queued"),
        ("waiting0", "STS12", "queued"),
        ("failed00", "SciFact", "failed"),
    }


async def test_a_submission_page_shows_its_place_and_refreshes_until_it_ends(
    web: httpx.AsyncClient,
) -> None:
    waiting = await web.get("/submissions/waiting0")
    assert '<meta http-equiv="refresh"' in waiting.text
    assert re.search(r'id="jobs-ahead">next', waiting.text)
    assert re.search(r'id="estimate">about 7\d s', waiting.text)
    body = (await web.get("/submissions/waiting0.json")).json()
    assert body["jobs_ahead"] == 0
    failed = await web.get("/submissions/failed00")
    assert '<meta http-equiv="refresh"' not in failed.text
    assert "out_of_memory" in failed.text
    assert (await web.get("/submissions/nothing")).status_code == 404
