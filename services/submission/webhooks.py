"""Webhooks: a submission's outcome POSTed to its callback URL, signed, retried, dead-lettered.

The body is signed with HMAC-SHA256 under the submission's own secret, handed to the submitter
once in the 202 answer (`callback_secret`); the signature goes in `Lb-Signature: sha256=<hex>`.
Deliveries ride on a durable JetStream consumer of the status transitions, so a try that fails
is redelivered after a delay that doubles (`webhook_retry_backoff_s`), surviving restarts; after
`webhook_attempts` tries the transition is dead-lettered with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Header
from nats.aio.msg import Msg
from pydantic import BaseModel, Field

from services.submission.refusals import Refusal, RefusalCode
from shared.bus import SUBMISSIONS, Bus, InvalidMessage, decode
from shared.documents import SubmissionDoc, SubmissionStatus
from shared.events import PRIVATE_PREFIX, SubmissionStatusChanged, TaskState, UtcDatetime
from shared.store import Store

log = logging.getLogger(__name__)

DURABLE = "submission-webhooks"
FILTER = "lb.submissions.*.status"
PRIVATE_DURABLE = "submission-webhooks-private"
PRIVATE_FILTER = f"{PRIVATE_PREFIX}{FILTER.removeprefix('lb.')}"
"""Private submissions' transitions (`lb.private.…`), delivered the same way."""
EVENT = "submission.finished"
SIGNATURE_HEADER = "Lb-Signature"
COLLECTION = "callbacks"


class TaskOutcome(BaseModel):
    """One task of a finished submission."""

    task: str
    state: TaskState
    main_score: float | None = None
    reason: str | None = None


class SubmissionFinished(BaseModel):
    """The webhook body: a submission reached `completed`, `failed` or `cancelled`."""

    event: Literal["submission.finished"] = "submission.finished"
    submission_id: str
    model: str
    revision: str
    status: SubmissionStatus
    reason: str | None = None
    tasks: list[TaskOutcome]
    finished_at: UtcDatetime = Field(description="When the submission reached this status.")


def callback_secret(key_file: Path, submission_id: str) -> str:
    """The submission's signing secret, derived from the deployment's secret key (not stored)."""
    key = key_file.read_bytes().strip()
    return hmac.new(key, f"webhook:{submission_id}".encode(), hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body under `secret`, as `Lb-Signature` carries."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_callbacks_possible(callback_url: str | None, key_file: Path | None) -> None:
    """Refuse a callback URL when no secret key is configured to sign its deliveries."""
    if callback_url is not None and (key_file is None or not key_file.is_file()):
        raise Refusal(
            RefusalCode.INVALID_REQUEST,
            "this leaderboard sends no callbacks (no secret key is configured)",
            "callback_url",
        )


async def register(store: Store, submission_id: str, url: str) -> None:
    """Keep the callback URL beside (not in) the submission: submissions are public, URLs not."""
    # the `_id` in the document too: the embedded Mongo-wire server does not take it from the filter
    await store.db[COLLECTION].replace_one(
        {"_id": submission_id}, {"_id": submission_id, "url": url}, upsert=True
    )


async def registered(store: Store, submission_id: str) -> str | None:
    found = await store.db[COLLECTION].find_one({"_id": submission_id})
    return str(found["url"]) if found else None


def outcome(submission: SubmissionDoc, event: SubmissionStatusChanged) -> SubmissionFinished:
    return SubmissionFinished(
        submission_id=submission.id,
        model=submission.model,
        revision=submission.revision,
        status=SubmissionStatus(event.status),
        reason=event.reason,
        tasks=[
            TaskOutcome(task=p.task, state=p.state, main_score=p.main_score, reason=p.reason)
            for p in submission.tasks
        ],
        finished_at=event.at,
    )


VERIFYING = """Sent to a submission's `callback_url` when it completes, fails or is cancelled.
Verify it before trusting it: compute HMAC-SHA256 of the raw request body with the submission's
`callback_secret` (its UTF-8 bytes) as key and compare `sha256=<hex digest>` with the
`Lb-Signature` header in constant time. Answer 2xx to take it; anything else (or no answer within
`webhook_timeout_s`) is retried with a doubling delay, `webhook_attempts` times in all, then
dead-lettered. `Lb-Delivery` is the same on every try: use it to ignore repeats."""


def document(app: FastAPI) -> None:
    """Describe the webhook in the API's OpenAPI document (`webhooks`)."""

    @app.webhooks.post(EVENT, summary="A submission finished", description=VERIFYING)
    def submission_finished(
        body: SubmissionFinished,
        signed: Annotated[
            str, Header(alias=SIGNATURE_HEADER, description="`sha256=<hex>` of the raw body.")
        ],
        delivery: Annotated[
            str, Header(alias="Lb-Delivery", description="`<submission id>:<status>`.")
        ],
        attempt: Annotated[int, Header(alias="Lb-Attempt", description="Try 1, 2, …")],
    ) -> None: ...


class Deliveries:
    """Handles status transitions: POSTs terminal ones to their callback URL."""

    def __init__(
        self,
        bus: Bus,
        store: Store,
        key_file: Path,
        attempts: int,
        backoff_s: float,
        client: httpx.AsyncClient,
    ) -> None:
        self.bus = bus
        self.store = store
        self.key_file = key_file
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.client = client

    async def on_transition(self, msg: Msg) -> None:
        event = decode(msg, SubmissionStatusChanged)
        try:
            status = SubmissionStatus(event.status)
        except ValueError:
            raise InvalidMessage(f"no submission status {event.status!r}") from None
        if not status.terminal:
            await msg.ack()
            return
        url = await registered(self.store, event.submission_id)
        if url is None:
            await msg.ack()
            return
        submission = await self.store.get_submission(event.submission_id)
        if submission is None:
            raise InvalidMessage(f"no submission {event.submission_id}")
        body = outcome(submission, event).model_dump_json().encode()
        attempt = msg.metadata.num_delivered or 1
        problem = await self.post(url, body, event, attempt)
        if problem is None:
            await msg.ack()
            return
        host = urlsplit(url).hostname  # the rest of a URL may hold a token: never logged
        if attempt < self.attempts:
            delay = self.backoff_s * 2 ** (attempt - 1)
            log.warning(
                "callback of %s to %s: %s; try %d of %d in %.0f s",
                event.submission_id,
                host,
                problem,
                attempt + 1,
                self.attempts,
                delay,
            )
            await msg.nak(delay=delay)
            return
        reason = f"callback to {host} failed {attempt} times, last: {problem}"
        await self.bus.dead_letter(msg, SUBMISSIONS, reason)
        await msg.term()

    async def post(
        self, url: str, body: bytes, event: SubmissionStatusChanged, attempt: int
    ) -> str | None:
        """POST `body`; None when the receiver took it (2xx), else what went wrong."""
        secret = callback_secret(self.key_file, event.submission_id)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "leaderboard-webhooks/1",
            SIGNATURE_HEADER: signature(secret, body),
            "Lb-Event": EVENT,
            "Lb-Delivery": f"{event.submission_id}:{event.status}",
            "Lb-Attempt": str(attempt),
        }
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return type(error).__name__
        if 200 <= response.status_code < 300:
            log.info("callback of %s delivered (%s)", event.submission_id, event.status)
            return None
        return f"HTTP {response.status_code}"
