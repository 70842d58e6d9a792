"""Cancel, raise priority, re-queue: who may, what happens to the jobs and to the status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.aggregator.handlers import Aggregator
from shared.bus import JOBS, SUBMISSIONS, consume
from shared.documents import SubmissionDoc, SubmissionStatus
from shared.events import Subjects, SubmissionCancelled, SubmissionStatusChanged, TaskState
from tests.support.hub_server import ORG
from tests.support.service import Service, hub_url, own_nats_url, service

__all__ = ["hub_url", "own_nats_url"]  # fixtures


@pytest.fixture(scope="module")
async def svc(
    own_nats_url: str, mongodb_url: str, hub_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    """The service, and the aggregator's submission handlers consuming its events."""
    folder = tmp_path_factory.mktemp("cancel")
    async with service(own_nats_url, mongodb_url, hub_url, folder, submissions_per_day=100) as s:
        aggregator = Aggregator(s.bus, s.store)
        stop = asyncio.Event()
        routes = [
            ("cancel-tests-accepted", "lb.submissions.*.accepted", aggregator.on_accepted),
            ("cancel-tests-cancelled", "lb.submissions.*.cancelled", aggregator.on_cancelled),
        ]
        consumers = [
            asyncio.create_task(
                consume(
                    s.bus, await s.bus.pull(SUBMISSIONS, durable, subject), SUBMISSIONS, h, stop
                )
            )
            for durable, subject, h in routes
        ]
        yield s
        stop.set()
        await asyncio.gather(*consumers)


async def submit(svc: Service, tasks: list[str], key: str | None = None) -> dict[str, Any]:
    body = {"model": f"{ORG}/another", "tasks": tasks}
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(key))
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    return created


async def pending_jobs(svc: Service, submission_id: str) -> int:
    info = await svc.bus.js.stream_info(JOBS.name, subjects_filter=f"lb.jobs.*.{submission_id}.>")
    return sum((info.state.subjects or {}).values())


async def settled(svc: Service, submission_id: str, status: SubmissionStatus) -> SubmissionDoc:
    for _ in range(150):
        found = await svc.store.get_submission(submission_id)
        if found is not None and found.status == status:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{submission_id} never became {status}: {found}")


async def test_owner_cancels_pending_jobs_are_dropped_and_status_says_cancelled(
    svc: Service,
) -> None:
    created = await submit(svc, ["STS12", "STS13", "STS14"])
    assert await pending_jobs(svc, created["id"]) == 3
    response = await svc.api.delete(f"/v1/submissions/{created['id']}", headers=svc.auth())
    assert response.status_code == 202, response.text
    assert await pending_jobs(svc, created["id"]) == 0
    raw = await svc.bus.js.get_last_msg(SUBMISSIONS.name, Subjects.cancelled(created["id"]))
    assert SubmissionCancelled.model_validate_json(raw.data or b"").submission_id == created["id"]

    cancelled = await settled(svc, created["id"], SubmissionStatus.CANCELLED)
    assert {task.state for task in cancelled.tasks} == {TaskState.CANCELLED}
    assert [change.status for change in cancelled.history][-1] == SubmissionStatus.CANCELLED
    transition = await svc.bus.js.get_last_msg(
        SUBMISSIONS.name, Subjects.submission_status(created["id"])
    )
    assert SubmissionStatusChanged.model_validate_json(transition.data or b"").status == "cancelled"

    again = await svc.api.delete(f"/v1/submissions/{created['id']}", headers=svc.auth())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"


async def test_cancelled_tasks_may_be_submitted_again(svc: Service) -> None:
    created = await submit(svc, ["STS15"])
    await svc.api.delete(f"/v1/submissions/{created['id']}", headers=svc.auth())
    await settled(svc, created["id"], SubmissionStatus.CANCELLED)
    assert (await submit(svc, ["STS15"]))["id"] != created["id"]


async def test_only_admin_or_owner_may_cancel(svc: Service) -> None:
    from services.submission.auth import create_key

    created = await submit(svc, ["STS16"])
    stranger = await create_key(svc.store, "stranger")
    url = f"/v1/submissions/{created['id']}"
    assert (await svc.api.delete(url)).json()["error"]["code"] == "unauthorized"
    refused = await svc.api.delete(url, headers=svc.auth(stranger))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert await pending_jobs(svc, created["id"]) == 1
    assert (await svc.api.delete(url, headers=svc.auth(svc.admin_key))).status_code == 202
    missing = await svc.api.delete("/v1/submissions/nope", headers=svc.auth(svc.admin_key))
    assert missing.json()["error"]["code"] == "submission_not_found"


async def test_admin_raises_priority_jobs_move_to_high(svc: Service) -> None:
    created = await submit(svc, ["SICK-R", "STSBenchmark"])
    url = f"/v1/submissions/{created['id']}/priority"
    assert (await svc.api.post(url, headers=svc.auth())).json()["error"]["code"] == "forbidden"
    response = await svc.api.post(url, headers=svc.auth(svc.admin_key))
    assert response.status_code == 200, response.text
    assert response.json()["priority"] == "high"
    high = await svc.bus.js.stream_info(
        JOBS.name, subjects_filter=f"lb.jobs.high.{created['id']}.>"
    )
    normal = await svc.bus.js.stream_info(
        JOBS.name, subjects_filter=f"lb.jobs.normal.{created['id']}.>"
    )
    assert sum((high.state.subjects or {}).values()) == 2
    assert not normal.state.subjects


async def test_admin_requeues_failed_tasks_as_a_new_high_priority_submission(svc: Service) -> None:
    created = await submit(svc, ["STS17"])

    def fail(doc: SubmissionDoc) -> None:
        doc.tasks[0].state = TaskState.FAILED
        doc.set_status(SubmissionStatus.FAILED, "failed tasks: STS17")

    await svc.store.update_submission(created["id"], fail)
    url = f"/v1/submissions/{created['id']}/requeue"
    response = await svc.api.post(url, headers=svc.auth(svc.admin_key))
    assert response.status_code == 202, response.text
    requeued = response.json()
    assert requeued["tasks"] == ["STS17"] and requeued["id"] != created["id"]
    stored = await svc.store.get_submission(requeued["id"])
    assert stored is not None and stored.priority == "high"
    nothing_left = await svc.api.post(
        f"/v1/submissions/{requeued['id']}/requeue", headers=svc.auth(svc.admin_key)
    )
    assert nothing_left.json()["error"]["code"] == "invalid_state"


async def test_listing_filters_and_pages(svc: Service) -> None:
    first = await submit(svc, ["STS22"])
    listed = (await svc.api.get("/v1/submissions", params={"model": f"{ORG}/another"})).json()
    assert listed["total"] >= 1 and listed["items"][0]["id"] == first["id"]  # newest first
    page = (await svc.api.get("/v1/submissions", params={"limit": 1, "offset": 1})).json()
    assert len(page["items"]) == 1 and page["items"][0]["id"] != first["id"]
    since = (await svc.api.get("/v1/submissions", params={"since": "2999-01-01T00:00:00Z"})).json()
    assert since == {"items": [], "total": 0, "offset": 0, "limit": 50}
    a_minute_ago = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    recent = (await svc.api.get("/v1/submissions", params={"since": a_minute_ago})).json()
    assert first["id"] in [item["id"] for item in recent["items"]]
    by_status = (await svc.api.get("/v1/submissions", params={"status": "cancelled"})).json()
    assert by_status["items"] and {item["status"] for item in by_status["items"]} == {"cancelled"}
    bad = await svc.api.get("/v1/submissions", params={"status": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
