"""The whole pipeline on real parts: CLI → API → NATS → evaluator (mteb) → aggregator → web."""

from __future__ import annotations

import subprocess
import sys

import httpx
import mteb
import pytest
from mteb.results import TaskResult

from services.stack import Stack
from shared.bus import LEADERBOARD, RESULTS, Bus
from shared.documents import result_id, task_leaderboard_id
from shared.events import LeaderboardUpdated, ResultEvent, Subjects
from shared.store import Store
from tests.conftest import MODEL_ID
from tests.support.helpers import wait_for_submission

# The official MTEB results of all-MiniLM-L6-v2 (results repository, revision 8b3219a9…).
OFFICIAL = {"BIOSSES": 0.8164041444909368, "STSBenchmark": 0.8203246731235654}
REVISION = "8b3219a92973c328a8e22fadcfa821b5dc75636a"


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=stack.env | {"LEADERBOARD_API_URL": stack.api_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
async def finished(stack: Stack) -> dict:
    """A submission of the mirrored model on BIOSSES and STSBenchmark, run to its end."""
    submitted = cli(stack, "submit", MODEL_ID, "--tasks", "BIOSSES,STSBenchmark")
    assert submitted.returncode == 0, submitted.stderr
    submission_id = submitted.stdout.strip()
    return await wait_for_submission(stack.api_url, submission_id)


async def test_submission_completes_with_official_scores(finished: dict) -> None:
    assert finished["status"] == "completed", finished
    assert finished["revision"] == REVISION
    assert [s["status"] for s in finished["history"]] == [
        "accepted",
        "queued",
        "running",
        "completed",
    ]
    for task in finished["tasks"]:
        assert task["state"] == "done"
        assert task["main_score"] == pytest.approx(OFFICIAL[task["task"]], abs=1e-6)


async def test_result_event_carries_mteb_task_result_and_envelope(finished: dict, bus: Bus) -> None:
    for name, official in OFFICIAL.items():
        raw = await bus.js.get_last_msg(RESULTS.name, Subjects.result(finished["id"], name))
        event = ResultEvent.model_validate_json(raw.data)
        assert event.main_score == pytest.approx(official, abs=1e-6)
        task_result = TaskResult.model_validate(event.task_result)
        task = mteb.get_task(name)
        assert task_result.task_name == name
        assert task_result.dataset_revision == task.metadata.dataset["revision"]
        assert event.envelope.revision == REVISION
        assert event.envelope.dataset_revision == task.metadata.dataset["revision"]
        assert event.envelope.eval_splits == ["test"]
        assert event.envelope.versions["mteb"] == mteb.__version__
        assert event.envelope.evaluation_time_s > 0


async def test_result_and_leaderboard_are_stored(finished: dict, stack_store: Store) -> None:
    stored = await stack_store.results.find_one(
        {"_id": result_id(MODEL_ID, REVISION, "BIOSSES", mteb.__version__)}
    )
    assert stored is not None
    assert stored["main_score"] == pytest.approx(OFFICIAL["BIOSSES"], abs=1e-6)
    assert stored["submission_id"] == finished["id"]
    leaderboard = await stack_store.get_leaderboard(task_leaderboard_id("BIOSSES"))
    assert leaderboard is not None
    row = next(row for row in leaderboard.rows if row.submission_id == finished["id"])
    assert (row.model, row.revision, row.rank) == (MODEL_ID, REVISION, 1)


async def test_leaderboard_update_is_announced(finished: dict, bus: Bus) -> None:
    subject = Subjects.leaderboard_updated(task_leaderboard_id("STSBenchmark"))
    update = LeaderboardUpdated.model_validate_json(
        (await bus.js.get_last_msg(LEADERBOARD.name, subject)).data
    )
    assert update.leaderboard_id == "task:STSBenchmark"
    assert update.version >= 1


async def test_web_shows_the_model_in_html_and_json(finished: dict, stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.web_url) as web:
        page = await web.get("/tasks/BIOSSES")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert MODEL_ID in page.text
        assert "81.64" in page.text
        data = (await web.get("/tasks/BIOSSES.json")).json()
        row = next(row for row in data["rows"] if row["submission_id"] == finished["id"])
        assert row["model"] == MODEL_ID
        assert row["revision"] == REVISION
        assert row["main_score"] == pytest.approx(OFFICIAL["BIOSSES"], abs=1e-6)
        assert row["evaluated_at"]
        csv = (await web.get("/tasks/STSBenchmark.csv")).text
        assert csv.splitlines()[0] == (
            "rank,model,revision,main_score,evaluated_at,source,submission_id,source_file,"
            "source_commit"
        )
        assert MODEL_ID in csv
        home = await web.get("/")
        assert "/tasks/BIOSSES" in home.text
        assert "MTEB(eng, v2)" in home.text
        status_page = await web.get(f"/submissions/{finished['id']}")
        assert "completed" in status_page.text


async def test_cli_status_shows_per_task_progress(finished: dict, stack: Stack) -> None:
    shown = cli(stack, "status", finished["id"])
    assert shown.returncode == 0, shown.stderr
    assert "completed" in shown.stdout
    assert "BIOSSES" in shown.stdout
    assert "0.81640" in shown.stdout
