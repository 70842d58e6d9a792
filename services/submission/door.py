"""The bus as a door: `SubmissionRequest`s published on `lb.intake.submissions`.

The key comes in an `Authorization: Bearer <key>` header. The decision is published on
`lb.submissions.<sid>.accepted|rejected` and, when the message names an inbox in `Lb-Reply-To`
(`_INBOX.…`, outside every stream), sent there too; a request naming any other subject is
rejected unanswered. Every request is deleted from the stream once handled, whatever the outcome
(its key and token must not outlive it): the decision event is the lasting record. A payload that
does not validate is answered and dead-lettered with any secret redacted, the error never
quoting the values that failed. A reply that cannot be sent is logged; the request is not
handled again.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

from nats.aio.msg import Msg
from pydantic import ValidationError

from services.submission.intake import Intake
from services.submission.refusals import ErrorBody, ErrorDetail, Refusal, RefusalCode
from services.submission.validation import is_private
from shared.bus import SUBMISSIONS, decode, describe
from shared.custom_tasks import catalogue
from shared.events import Subjects, SubmissionRejected, SubmissionRequest

log = logging.getLogger(__name__)

DURABLE = "submission-intake"
REPLY_HEADER = "Lb-Reply-To"
AUTHORIZATION_HEADER = "Authorization"
RETRIED = {RefusalCode.BUS_UNAVAILABLE, RefusalCode.STORE_UNAVAILABLE, RefusalCode.HUB_UNREACHABLE}
"""Refusals that say nothing about the request: the message is redelivered later."""
INBOX = re.compile(r"_INBOX(\.[A-Za-z0-9_-]{1,64}){1,4}")
"""The reply subjects answered: NATS inboxes, which no stream captures."""

INTAKE_NAMESPACE = uuid.UUID("6f0e6c1e-4d0b-4b5e-9a57-1c2f5e0a7d31")


def intake_submission_id(msg: Msg) -> str:
    """A submission id fixed by the message's place in the stream: redelivery reuses it."""
    meta = msg.metadata
    return uuid.uuid5(INTAKE_NAMESPACE, f"{meta.sequence.stream}:{meta.timestamp}").hex


def is_inbox(subject: str) -> bool:
    return INBOX.fullmatch(subject) is not None


def error_answer(detail: ErrorDetail) -> str:
    return json.dumps(ErrorBody(error=detail).payload())


class Door:
    """Handles one intake message with the same pipeline as `POST /v1/submissions`."""

    def __init__(self, intake: Intake, attempts: int) -> None:
        self.intake = intake
        self.attempts = attempts

    async def on_request(self, msg: Msg) -> None:
        """Decide, forget the request, ack, then answer; a failure is retried while tries remain."""
        headers = msg.headers or {}
        try:
            answer = await self.decide(msg, headers)
        except Exception as error:
            if msg.metadata.num_delivered < self.attempts:
                raise  # `consume` hands it back for a later try
            log.error("intake request failed for good: %s", type(error).__name__)
            await self.intake.bus.dead_letter(
                msg, SUBMISSIONS, f"handler failed: {type(error).__name__}"
            )
            failed = ErrorDetail(code=RefusalCode.BUS_UNAVAILABLE, message="the request failed")
            answer = error_answer(error.detail if isinstance(error, Refusal) else failed)
        await self.forget(msg)
        await msg.ack()
        reply_to = headers.get(REPLY_HEADER)
        if answer is not None and reply_to is not None:
            await self.answer(reply_to, answer)

    async def decide(self, msg: Msg, headers: dict[str, str]) -> str | None:
        """The answer to the request (None: none is sent); refusals are published as events."""
        submission_id = intake_submission_id(msg)
        reply_to = headers.get(REPLY_HEADER)
        if reply_to is not None and not is_inbox(reply_to):
            refusal = Refusal(
                RefusalCode.INVALID_REQUEST,
                f"{REPLY_HEADER} must name an inbox (_INBOX.<token>…)",
                REPLY_HEADER,
            )
            await self.reject(submission_id, refusal, None)
            return None
        try:
            request = decode(msg, SubmissionRequest)
        except ValidationError as error:
            reason = describe(error)
            await self.intake.bus.dead_letter(msg, SUBMISSIONS, f"invalid payload: {reason}")
            return error_answer(ErrorDetail(code=RefusalCode.INVALID_REQUEST, message=reason))
        try:
            created = await self.intake.submit(
                request, headers.get(AUTHORIZATION_HEADER), submission_id
            )
        except Refusal as refusal:
            if refusal.detail.code in RETRIED:
                raise
            private = is_private(request, request.tasks or [], catalogue.CURRENT)
            await self.reject(submission_id, refusal, request.model, private)
            return error_answer(refusal.detail)
        return created.model_dump_json()

    async def reject(
        self, submission_id: str, refusal: Refusal, model: str | None, private: bool = False
    ) -> None:
        """Publish the rejection (on `lb.private.` when the request named a private task)."""
        rejected = SubmissionRejected(
            submission_id=submission_id,
            code=str(refusal.detail.code),
            message=refusal.detail.message,
            field=refusal.detail.field,
            model=model,
        )
        subject = Subjects.rejected(submission_id, private)
        await self.intake.bus.publish(subject, rejected, f"rejected:{submission_id}")

    async def forget(self, msg: Msg) -> None:
        """Delete the handled request (its key and token) from the stream."""
        await self.intake.bus.js.delete_msg(SUBMISSIONS.name, msg.metadata.sequence.stream)

    async def answer(self, reply_to: str, answer: str) -> None:
        """Send `answer` to the request's inbox; a failure loses the answer, not the decision."""
        try:
            await self.intake.bus.client.publish(reply_to, answer.encode())
        except Exception as error:
            log.warning("answering an intake request failed: %s", type(error).__name__)
