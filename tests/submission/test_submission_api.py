"""Bad input to the submission API: a typed 4xx, nothing stored, nothing published."""

from __future__ import annotations

import stat
from typing import Any

import httpx
import pytest

from services.stack import Stack
from services.submission.auth import key_hash
from shared.bus import JOBS, SUBMISSIONS, Bus
from shared.store import Store
from tests.conftest import MODEL_ID
from tests.support.helpers import last_sequence

BAD_REQUESTS = [
    pytest.param(None, 422, "invalid_request", None, id="empty body"),
    pytest.param({}, 422, "invalid_request", "model", id="no model"),
    pytest.param({"model": MODEL_ID}, 422, "invalid_request", None, id="no tasks nor benchmark"),
    pytest.param(
        {"model": MODEL_ID, "tasks": ["BIOSSES"], "benchmark": "MTEB(eng, v2)"},
        422,
        "invalid_request",
        None,
        id="tasks and benchmark",
    ),
    pytest.param(
        {"model": MODEL_ID, "tasks": ["BIOSSES"], "priority": "high"},
        422,
        "invalid_request",
        "priority",
        id="unknown field",
    ),
    pytest.param(
        {"model": "not a model id", "tasks": ["BIOSSES"]},
        422,
        "invalid_model_id",
        "model",
        id="malformed model id",
    ),
    pytest.param(
        {"model": "org--x/name", "tasks": ["BIOSSES"]},
        422,
        "invalid_model_id",
        "model",
        id="double dash",
    ),
    pytest.param(
        {"model": MODEL_ID, "tasks": ["BIOSSES", "NoSuchTask"]},
        422,
        "unknown_task",
        "tasks",
        id="unknown task",
    ),
    pytest.param(
        {"model": MODEL_ID, "benchmark": "MTEB(nowhere, v9)"},
        422,
        "unknown_benchmark",
        "benchmark",
        id="unknown benchmark",
    ),
    pytest.param(
        {"model": "some-org/not-in-the-mirror", "tasks": ["BIOSSES"]},
        404,
        "model_not_found",
        "model",
        id="missing mirror folder",
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), BAD_REQUESTS)
async def test_bad_submission_is_refused_and_leaves_no_trace(
    stack: Stack,
    stack_store: Store,
    bus: Bus,
    body: dict[str, Any] | None,
    status: int,
    code: str,
    field: str | None,
) -> None:
    stored_before = await stack_store.submissions.count_documents({})
    published_before = [await last_sequence(bus, s) for s in (SUBMISSIONS, JOBS)]
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers) as api:
        response = await api.post("/v1/submissions", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if field is not None:
        assert error["field"] == field
    assert await stack_store.submissions.count_documents({}) == stored_before
    assert [await last_sequence(bus, s) for s in (SUBMISSIONS, JOBS)] == published_before


async def test_submitting_without_a_key_is_401_and_leaves_no_trace(
    stack: Stack, stack_store: Store, bus: Bus
) -> None:
    stored_before = await stack_store.submissions.count_documents({})
    published_before = [await last_sequence(bus, s) for s in (SUBMISSIONS, JOBS)]
    async with httpx.AsyncClient(base_url=stack.api_url) as api:
        response = await api.post("/v1/submissions", json={"model": MODEL_ID, "tasks": ["BIOSSES"]})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    assert await stack_store.submissions.count_documents({}) == stored_before
    assert [await last_sequence(bus, s) for s in (SUBMISSIONS, JOBS)] == published_before


async def test_the_operator_key_is_owner_only_and_registered_as_admin(
    stack: Stack, stack_store: Store
) -> None:
    key_file = stack.settings.api_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == stack.api_key
    stored = await stack_store.get_api_key(key_hash(stack.api_key or ""))
    assert stored is not None and stored.admin
    secret = stack.settings.secret_key_file
    assert secret is not None and stat.S_IMODE(secret.stat().st_mode) == 0o600


async def test_unknown_submission_is_a_typed_404(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url) as api:
        response = await api.get("/v1/submissions/doesnotexist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "submission_not_found"


async def test_unknown_pages_are_404_in_every_rendering(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.web_url) as web:
        page = await web.get("/tasks/NoSuchTask")
        assert page.status_code == 404
        assert "NoSuchTask" in page.text
        data = await web.get("/tasks/NoSuchTask.json")
        assert data.status_code == 404
        assert "NoSuchTask" in data.json()["error"]
        assert (await web.get("/submissions/nope.json")).status_code == 404
