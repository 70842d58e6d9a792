"""The bus as a door: `SubmissionRequest`s on `lb.intake.submissions`, decided like HTTP ones."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.js.errors import NotFoundError

from services.submission.door import DURABLE, REPLY_HEADER
from shared.bus import DLQ, JOBS, REASON_HEADER, RESULTS, SUBMISSIONS
from shared.events import Subjects, SubmissionAccepted, SubmissionRejected, SubmissionRequest
from tests.support.helpers import last_sequence
from tests.support.hub_server import ORG, PRIVATE_TOKEN
from tests.support.service import Service, hub_url, own_nats_url, service

__all__ = ["hub_url", "own_nats_url"]  # fixtures


@pytest.fixture(scope="module")
async def svc(
    own_nats_url: str, mongodb_url: str, hub_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    async with service(own_nats_url, mongodb_url, hub_url, tmp_path_factory.mktemp("door")) as s:
        yield s


async def ask(svc: Service, body: dict[str, Any] | bytes, key: str | None) -> dict[str, Any]:
    """Publish an intake request with a reply subject; the service's answer."""
    inbox = svc.bus.client.new_inbox()
    answers = await svc.bus.client.subscribe(inbox, max_msgs=1)
    headers = {REPLY_HEADER: inbox}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    ack = await svc.bus.js.publish(Subjects.INTAKE, data, headers=headers)
    assert ack.stream == SUBMISSIONS.name
    answer = await answers.next_msg(timeout=30)
    decoded: dict[str, Any] = json.loads(answer.data)
    return decoded


async def test_accepted_request_is_answered_and_published(svc: Service) -> None:
    answer = await ask(svc, {"model": f"{ORG}/public", "tasks": ["BIOSSES"]}, svc.user_key)
    assert answer["status"] == "accepted", answer
    raw = await svc.bus.js.get_last_msg(SUBMISSIONS.name, Subjects.accepted(answer["id"]))
    accepted = SubmissionAccepted.model_validate_json(raw.data or b"")
    assert accepted.tasks == ["BIOSSES"]
    stored = await svc.store.get_submission(answer["id"])
    assert stored is not None and stored.submitted_by == "user"


@pytest.mark.parametrize(
    ("body", "key", "code"),
    [
        ({"model": f"{ORG}/public", "tasks": ["BIOSSES"]}, None, "unauthorized"),
        ({"model": f"{ORG}/public", "tasks": ["NoSuchTask"]}, "user", "unknown_task"),
        ({"model": f"{ORG}/ten-billion", "tasks": ["BIOSSES"]}, "user", "too_large"),
    ],
)
async def test_refused_request_is_answered_and_rejected(
    svc: Service, body: dict[str, Any], key: str | None, code: str
) -> None:
    stored = await svc.store.submissions.count_documents({})
    answer = await ask(svc, body, svc.user_key if key else None)
    assert answer["error"]["code"] == code, answer
    assert await svc.store.submissions.count_documents({}) == stored
    info = await svc.bus.js.stream_info(
        SUBMISSIONS.name, subjects_filter="lb.submissions.*.rejected"
    )
    subjects = list((info.state.subjects or {}).keys())
    events = [
        SubmissionRejected.model_validate_json(
            (await svc.bus.js.get_last_msg(SUBMISSIONS.name, subject)).data or b""
        )
        for subject in subjects
    ]
    assert any(event.code == code and event.model == body["model"] for event in events)


async def test_invalid_payload_is_answered_and_dead_lettered(svc: Service) -> None:
    answer = await ask(svc, b'{"model": 3}', svc.user_key)
    assert answer["error"]["code"] == "invalid_request"
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        try:
            letter = await svc.bus.js.get_last_msg(DLQ.name, Subjects.dead_letter(SUBMISSIONS.name))
        except NotFoundError:
            await asyncio.sleep(0.2)
            continue
        if letter.data == b'{"model": 3}':
            assert letter.headers is not None
            assert "invalid payload" in letter.headers[REASON_HEADER]
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the invalid intake message was not dead-lettered")


async def test_no_key_or_token_stays_on_the_bus(svc: Service) -> None:
    """Handled requests are deleted (key and token); a dead letter has its token redacted."""
    body = {"model": f"{ORG}/private", "tasks": ["BIOSSES"], "hf_token": PRIVATE_TOKEN}
    answer = await ask(svc, body, svc.user_key)
    assert answer["status"] == "accepted", answer
    assert PRIVATE_TOKEN not in json.dumps(answer)
    invalid = {"model": 3, "tasks": ["BIOSSES"], "hf_token": PRIVATE_TOKEN}
    assert (await ask(svc, invalid, svc.user_key))["error"]["code"] == "invalid_request"
    await asyncio.sleep(1.0)  # the dead letter is written after the answer
    for stream in (SUBMISSIONS, DLQ):
        info = await svc.bus.js.stream_info(stream.name)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await svc.bus.js.get_msg(stream.name, seq)
            except NotFoundError:
                continue
            assert PRIVATE_TOKEN.encode() not in (msg.data or b"")
            assert svc.user_key not in str(msg.headers or {})


def test_reply_header_is_documented() -> None:
    events = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    assert REPLY_HEADER in events


async def test_a_redelivered_request_makes_one_submission(svc: Service) -> None:
    """A message redelivered after a crash reuses its id: the same submission, published again."""
    intake = svc.intake
    request = SubmissionRequest(model=f"{ORG}/another", tasks=["STS12"])
    first = await intake.submit(request, f"Bearer {svc.admin_key}", "f" * 32)
    again = await intake.submit(request, f"Bearer {svc.admin_key}", "f" * 32)
    assert again.id == first.id == "f" * 32
    assert again.tasks == ["STS12"] and again.duplicates == {}
    assert await svc.store.submissions.count_documents({"_id": "f" * 32}) == 1


async def gone(svc: Service, seq: int, timeout: float = 30.0) -> bool:
    """Whether intake message `seq` is deleted (handled) within `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            await svc.bus.js.get_msg(SUBMISSIONS.name, seq)
        except NotFoundError:
            return True
        await asyncio.sleep(0.2)
    return False


@pytest.mark.parametrize(
    "reply_to",
    ["lb.jobs.normal.forged.BIOSSES", "lb.results.forged.BIOSSES", "bad reply subject", "_INBOX.>"],
)
async def test_a_reply_subject_that_is_no_inbox_is_rejected_unanswered(
    svc: Service, reply_to: str
) -> None:
    """Answers go to inboxes only, never into a stream; the request is decided once."""
    before = [await last_sequence(svc.bus, stream) for stream in (JOBS, RESULTS)]
    headers = {REPLY_HEADER: reply_to, "Authorization": f"Bearer {svc.user_key}"}
    body = json.dumps({"model": f"{ORG}/public", "tasks": ["STS14"]}).encode()
    ack = await svc.bus.js.publish(Subjects.INTAKE, body, headers=headers)
    assert await gone(svc, ack.seq), "the request was not handled"
    await asyncio.sleep(2.0)  # a redelivery would come within this
    info = await svc.bus.js.stream_info(
        SUBMISSIONS.name, subjects_filter="lb.submissions.*.rejected"
    )
    events = [
        SubmissionRejected.model_validate_json(
            (await svc.bus.js.get_last_msg(SUBMISSIONS.name, subject)).data or b""
        )
        for subject in (info.state.subjects or {})
    ]
    assert [event.code for event in events if event.field == REPLY_HEADER]
    assert [await last_sequence(svc.bus, stream) for stream in (JOBS, RESULTS)] == before
    consumer = await svc.bus.js.consumer_info(SUBMISSIONS.name, DURABLE)
    assert consumer.num_redelivered == 0 and consumer.num_ack_pending == 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": 3, "tasks": ["BIOSSES"], "hf_token": "hf_SECRETsecret1234"}',
        b'{"model": "o/n", "hf_token": "hf_SECRETsecret1234"}',
        b'{"model": 3, "hf_\\u0074oken": "hf_SECRETsecret1234"}',
    ],
    ids=["invalid model", "no tasks", "escaped key"],
)
async def test_an_invalid_request_never_quotes_its_token(
    svc: Service, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the answer, the dead letter (body and reason) nor the log carry the token."""
    caplog.set_level(logging.DEBUG)
    letters_before = await last_sequence(svc.bus, DLQ)
    answer = await ask(svc, body, svc.user_key)
    assert answer["error"]["code"] == "invalid_request"
    deadline = asyncio.get_running_loop().time() + 30
    while await last_sequence(svc.bus, DLQ) == letters_before:
        assert asyncio.get_running_loop().time() < deadline, "no dead letter"
        await asyncio.sleep(0.2)
    letter = await svc.bus.js.get_msg(DLQ.name, await last_sequence(svc.bus, DLQ))
    assert letter.headers is not None and "invalid payload" in letter.headers[REASON_HEADER]
    shown = [json.dumps(answer), (letter.data or b"").decode(), str(letter.headers), caplog.text]
    assert not [text for text in shown if "SECRETsecret" in text]
