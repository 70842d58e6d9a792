"""Re-evaluation on the real stack: a stale result is run again by an evaluator (mteb), the new
result replaces it in the task table, and the old one stays stored."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import mteb
import pytest

from services.aggregator.leaderboards.tasks import refresh_task_leaderboard
from services.stack import Stack
from shared.documents import ResultDoc, result_id, task_leaderboard_id
from shared.events import Priority
from shared.store import Store
from tests.conftest import MODEL_ID
from tests.support.helpers import wait_for_submission

REVISION = "8b3219a92973c328a8e22fadcfa821b5dc75636a"  # the registry's, as in tests/test_e2e.py
OFFICIAL_BIOSSES = 0.8164041444909368
OLD_VERSION = "1.12.0"


@pytest.mark.timeout(1200)
async def test_a_stale_result_is_replaced_and_kept(stack: Stack, stack_store: Store) -> None:
    old = ResultDoc(
        _id=result_id(MODEL_ID, REVISION, "BIOSSES", OLD_VERSION),
        model=MODEL_ID,
        revision=REVISION,
        task="BIOSSES",
        main_score=0.5,
        evaluated_at=datetime(2024, 1, 1, tzinfo=UTC),
        mteb_version=OLD_VERSION,
        source="import",
    )
    await stack_store.upsert_result(old)
    await refresh_task_leaderboard(stack_store, None, "BIOSSES")

    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "reevaluate",
            "--model",
            MODEL_ID,
            "--tasks",
            "BIOSSES",
        ],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    submission_id = ran.stdout.split()[0]
    finished = await wait_for_submission(stack.api_url, submission_id, timeout=900)
    assert finished["status"] == "completed", finished
    assert finished["priority"] == Priority.LOW.value
    assert finished["submitted_by"] == "reevaluate"

    board = await stack_store.get_leaderboard(task_leaderboard_id("BIOSSES"))
    assert board is not None
    [row] = [row for row in board.rows if row.model == MODEL_ID]
    assert row.main_score == pytest.approx(OFFICIAL_BIOSSES, abs=1e-6)
    assert row.stale_reason is None
    new = await stack_store.results.find_one(
        {"_id": result_id(MODEL_ID, REVISION, "BIOSSES", mteb.__version__)}
    )
    assert new is not None and new["mteb_version"] == mteb.__version__
    assert await stack_store.results.count_documents({"_id": old.id}) == 1  # history kept
