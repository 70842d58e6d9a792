"""Poison messages end on the dead-letter subject; the services keep serving."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from services.stack import Stack
from shared.bus import DLQ, ORIGINAL_SUBJECT_HEADER, REASON_HEADER, Bus
from shared.events import Subjects
from tests.conftest import MODEL_ID
from tests.support.helpers import wait_for_submission


async def dead_letter_for(bus: Bus, stream: str, original_subject: str, timeout: float = 30.0):
    """The dead letter whose original subject is `original_subject`, waiting for it."""
    subscription = await bus.js.subscribe(
        Subjects.dead_letter(stream),
        stream=DLQ.name,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    try:
        async with asyncio.timeout(timeout):
            while True:
                msg = await subscription.next_msg(timeout=timeout)
                if (msg.headers or {}).get(ORIGINAL_SUBJECT_HEADER) == original_subject:
                    return msg
    finally:
        await subscription.unsubscribe()


@pytest.mark.parametrize(
    "payload",
    [b"not json at all", b'{"schema_version": 1, "task": "BIOSSES"}', b'{"schema_version": 99}'],
    ids=["not json", "missing fields", "unknown schema version"],
)
async def test_malformed_job_is_dead_lettered(stack: Stack, bus: Bus, payload: bytes) -> None:
    subject = f"lb.jobs.normal.poison{abs(hash(payload))}.BIOSSES"
    await bus.js.publish(subject, payload)
    letter = await dead_letter_for(bus, "LB_JOBS", subject)
    assert letter.data == payload
    assert letter.headers is not None
    assert "invalid job" in letter.headers[REASON_HEADER]


async def test_malformed_result_is_dead_lettered(stack: Stack, bus: Bus) -> None:
    subject = "lb.results.poison.BIOSSES"
    await bus.js.publish(subject, b'{"schema_version": 1, "main_score": "high"}')
    letter = await dead_letter_for(bus, "LB_RESULTS", subject)
    assert letter.headers is not None
    assert "invalid payload" in letter.headers[REASON_HEADER]


async def test_evaluator_keeps_serving_after_poison(stack: Stack, bus: Bus) -> None:
    subject = "lb.jobs.normal.poison-before-work.BIOSSES"
    await bus.js.publish(subject, b"\xff\xfe garbage")
    await dead_letter_for(bus, "LB_JOBS", subject)
    # a revision of its own: the same (model, revision, task) elsewhere would be a duplicate
    body = {"model": MODEL_ID, "revision": "dead-letters-test", "tasks": ["BIOSSES"]}
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers) as api:
        response = await api.post("/v1/submissions", json=body)
    assert response.status_code == 202, response.text
    finished = await wait_for_submission(stack.api_url, response.json()["id"])
    assert finished["status"] == "completed"
    assert not stack.failed()
