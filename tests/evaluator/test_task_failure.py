"""A task that cannot run fails with its reason; the submission's other tasks still finish."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.stack import Stack
from shared.bus import REASON_HEADER, Bus
from shared.events import Priority, Subjects
from tests.conftest import MODEL_ID
from tests.shared.test_dead_letters import dead_letter_for
from tests.support.helpers import wait_for_submission


async def test_failed_task_is_reported_and_the_rest_completes(
    stack: Stack, bus: Bus, datasets_dir: Path | None
) -> None:
    if datasets_dir is None or (datasets_dir / "STS12").exists():
        pytest.skip("needs offline task data without STS12, so that STS12 cannot load")
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers) as api:
        # a revision of its own: the same (model, revision, task) elsewhere would be a duplicate
        body = {"model": MODEL_ID, "revision": "task-failure-test", "tasks": ["STS12", "BIOSSES"]}
        response = await api.post("/v1/submissions", json=body)
    assert response.status_code == 202, response.text
    submission_id = response.json()["id"]
    finished = await wait_for_submission(stack.api_url, submission_id)

    states = {task["task"]: task for task in finished["tasks"]}
    assert states["BIOSSES"]["state"] == "done"
    assert states["STS12"]["state"] == "failed"
    assert states["STS12"]["reason"].startswith("data_unavailable: STS12: no local copy")
    assert finished["status"] == "failed"
    assert "STS12" in finished["reason"]

    letter = await dead_letter_for(
        bus, "LB_JOBS", Subjects.job(Priority.NORMAL, submission_id, "STS12")
    )
    assert letter.headers is not None
    assert letter.headers[REASON_HEADER] == states["STS12"]["reason"]
