"""Webhooks to a real local HTTP receiver: signed, retried with backoff, then dead-lettered."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shared.bus import DLQ, ORIGINAL_SUBJECT_HEADER, REASON_HEADER
from shared.documents import SubmissionDoc, SubmissionStatus
from shared.events import Subjects, SubmissionStatusChanged, TaskState, utcnow
from shared.transitions import publish_transition
from tests.support.helpers import last_sequence
from tests.support.hub_server import ORG
from tests.support.service import Service, hub_url, own_nats_url, service

__all__ = ["hub_url", "own_nats_url"]  # fixtures

ATTEMPTS = 3


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP server recording POSTs; `failures[path]` answers 503 that often (-1: always)."""

    url: str
    received: dict[str, list[Delivery]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.received.setdefault(self.path, []).append(Delivery(dict(self.headers), body))
            left = receiver.failures.get(self.path, 0)
            if left:
                receiver.failures[self.path] = left - 1 if left > 0 else left
            self.send_response(503 if left else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture(scope="module")
async def svc(
    own_nats_url: str,
    mongodb_url: str,
    hub_url: str,
    models_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Service]:
    async with service(
        own_nats_url,
        mongodb_url,
        hub_url,
        tmp_path_factory.mktemp("webhooks"),
        max_model_parameters=10**9,
        models_dir=models_dir,
        webhook_attempts=ATTEMPTS,
        webhook_retry_backoff_s=0.25,
    ) as running:
        yield running


def verified(secret: str, delivery: Delivery) -> bool:
    """The check a receiver makes (docs/api.md): HMAC-SHA256 of the raw body, compared safely."""
    expected = "sha256=" + hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, delivery.headers["Lb-Signature"])


async def submit(svc: Service, task: str, callback_url: str) -> dict[str, Any]:
    body = {"model": f"{ORG}/public", "tasks": [task], "callback_url": callback_url}
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    assert created["callback_secret"]
    return created


async def finish(svc: Service, submission_id: str, status: SubmissionStatus) -> None:
    """What the aggregator does when the last task ends: store the status, announce it."""

    def settle(submission: SubmissionDoc) -> None:
        for progress in submission.tasks:
            progress.state = TaskState.DONE if status == SubmissionStatus.COMPLETED else status
            progress.main_score = 0.8125 if status == SubmissionStatus.COMPLETED else None
        submission.set_status(status, None if status == SubmissionStatus.COMPLETED else "boom")

    updated = await svc.store.update_submission(submission_id, settle)
    assert updated is not None
    await publish_transition(svc.bus, updated)


async def deliveries(receiver: Receiver, path: str, count: int) -> list[Delivery]:
    deadline = time.monotonic() + 60
    while len(receiver.received.get(path, [])) < count:
        assert time.monotonic() < deadline, f"{path}: {len(receiver.received.get(path, []))}"
        await asyncio.sleep(0.1)
    return receiver.received[path]


async def test_the_outcome_is_posted_once_and_signed(svc: Service, receiver: Receiver) -> None:
    created = await submit(svc, "BIOSSES", f"{receiver.url}/ok")
    await finish(svc, created["id"], SubmissionStatus.COMPLETED)
    (delivery,) = await deliveries(receiver, "/ok", 1)
    assert verified(created["callback_secret"], delivery)
    assert not verified("another secret", delivery)
    assert delivery.headers["Lb-Event"] == "submission.finished"
    assert delivery.headers["Lb-Delivery"] == f"{created['id']}:completed"
    outcome = json.loads(delivery.body)
    assert outcome["submission_id"] == created["id"]
    assert outcome["status"] == "completed"
    assert outcome["tasks"] == [
        {"task": "BIOSSES", "state": "done", "main_score": 0.8125, "reason": None}
    ]
    await asyncio.sleep(1.0)
    assert len(receiver.received["/ok"]) == 1  # acknowledged: never sent again
    public = (await svc.api.get(f"/v1/submissions/{created['id']}")).json()
    assert "callback" not in json.dumps(public)  # the URL may hold a token: not shown


async def test_a_receiver_that_fails_twice_gets_it_on_the_third_try(
    svc: Service, receiver: Receiver
) -> None:
    receiver.failures["/flaky"] = 2
    dead_letters = await last_sequence(svc.bus, DLQ)
    created = await submit(svc, "STSBenchmark", f"{receiver.url}/flaky")
    await finish(svc, created["id"], SubmissionStatus.FAILED)
    tries = await deliveries(receiver, "/flaky", 3)
    assert [d.headers["Lb-Attempt"] for d in tries] == ["1", "2", "3"]
    assert len({d.body for d in tries}) == 1
    assert all(verified(created["callback_secret"], d) for d in tries)
    assert json.loads(tries[0].body)["status"] == "failed"
    assert json.loads(tries[0].body)["reason"] == "boom"
    await asyncio.sleep(1.5)
    assert len(receiver.received["/flaky"]) == 3
    assert await last_sequence(svc.bus, DLQ) == dead_letters


async def test_a_receiver_that_always_fails_gets_the_outcome_dead_lettered(
    svc: Service, receiver: Receiver
) -> None:
    receiver.failures["/down"] = -1
    created = await submit(svc, "STS12", f"{receiver.url}/down")
    await finish(svc, created["id"], SubmissionStatus.CANCELLED)
    await deliveries(receiver, "/down", ATTEMPTS)
    deadline = time.monotonic() + 30
    while True:
        letter = await svc.bus.js.get_last_msg(DLQ.name, Subjects.dead_letter("LB_SUBMISSIONS"))
        headers = letter.headers or {}
        if headers.get(ORIGINAL_SUBJECT_HEADER) == Subjects.submission_status(created["id"]):
            break
        assert time.monotonic() < deadline, "no dead letter"
        await asyncio.sleep(0.2)
    assert f"failed {ATTEMPTS} times, last: HTTP 503" in headers[REASON_HEADER]
    assert json.loads(letter.data or b"")["status"] == "cancelled"
    await asyncio.sleep(1.5)
    assert len(receiver.received["/down"]) == ATTEMPTS


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hook",
        "javascript:alert(1)",
        "http://user:secret@example.org/hook",
        "https:///no-host",
        "https://example.org/hook#part",
        "https://example.org/" + "a" * 2048,
    ],
)
async def test_a_bad_callback_url_is_refused_and_nothing_stored(svc: Service, url: str) -> None:
    before = await svc.store.submissions.count_documents({})
    body = {"model": f"{ORG}/public", "tasks": ["STS13"], "callback_url": url}
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["field"] == "callback_url"
    assert await svc.store.submissions.count_documents({}) == before


async def test_without_a_secret_key_callbacks_are_refused(
    own_nats_url: str, mongodb_url: str, hub_url: str, models_dir: Path, tmp_path: Path
) -> None:
    async with service(
        own_nats_url, mongodb_url, hub_url, tmp_path, secret_key_file=None, models_dir=models_dir
    ) as keyless:
        body = {"model": f"{ORG}/public", "tasks": ["STS14"], "callback_url": "https://x.org/h"}
        response = await keyless.api.post(
            "/v1/submissions", json=body, headers=keyless.auth(keyless.admin_key)
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "callback_url"


async def test_a_transition_to_no_known_status_is_dead_lettered_at_once(svc: Service) -> None:
    submission_id = "f" * 32
    event = SubmissionStatusChanged(submission_id=submission_id, status="bogus", at=utcnow())
    subject = Subjects.submission_status(submission_id)
    await svc.bus.publish(subject, event, f"transition:{submission_id}:bogus")
    deadline = time.monotonic() + 30
    while True:
        letter = await svc.bus.js.get_last_msg(DLQ.name, Subjects.dead_letter("LB_SUBMISSIONS"))
        headers = letter.headers or {}
        if headers.get(ORIGINAL_SUBJECT_HEADER) == subject:
            break
        assert time.monotonic() < deadline, "no dead letter"
        await asyncio.sleep(0.2)
    assert headers[REASON_HEADER].startswith("invalid payload: no submission status 'bogus'")


async def test_a_private_submissions_outcome_is_posted_too(
    svc: Service, receiver: Receiver
) -> None:
    """Its transitions are on `lb.private.…`: the private consumer delivers them."""
    name = f"t{uuid.uuid4().hex[:10]}"
    pairs = "".join(
        json.dumps({"sentence1": f"a{i}", "sentence2": f"b{i}", "score": i}) + "\n"
        for i in range(4)
    )
    made = await svc.api.post(
        "/v1/tasks",
        data={"name": name, "type": "STS", "metadata": json.dumps({"score_range": [0, 5]})},
        files=[("pairs", ("pairs.jsonl", pairs.encode()))],
        headers=svc.auth(svc.admin_key),
    )
    assert made.status_code == 201, made.text
    created = await submit(svc, name, f"{receiver.url}/private")
    stored = await svc.store.get_submission(created["id"])
    assert stored is not None and stored.private
    await finish(svc, created["id"], SubmissionStatus.COMPLETED)
    (delivery,) = await deliveries(receiver, "/private", 1)
    assert verified(created["callback_secret"], delivery)
    assert json.loads(delivery.body)["status"] == "completed"
