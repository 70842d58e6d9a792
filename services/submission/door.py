"""The bus as a door: `SubmissionRequest`s published on `lb.intake.submissions`.

The key comes in an `Authorization: Bearer <key>` header. The decision is published on
`lb.submissions.<sid>.accepted|rejected` and, when the message names one in `Lb-Reply-To`, sent
there too (a plain NATS reply subject receives JetStream's publish acknowledgement instead).
A payload that does not validate is dead-lettered by `consume` (with any Hub token redacted).
Every request is deleted from the stream once handled: it carries an API key and maybe a Hub
token, and the decision event is the lasting record.
"""

from __future__ import annotations

import json
import uuid

from nats.aio.msg import Msg
from pydantic import ValidationError

from services.submission.intake import Intake
from services.submission.refusals import ErrorBody, ErrorDetail, Refusal, RefusalCode
from shared.bus import SUBMISSIONS, decode
from shared.events import Subjects, SubmissionRejected, SubmissionRequest

DURABLE = "submission-intake"
REPLY_HEADER = "Lb-Reply-To"
AUTHORIZATION_HEADER = "Authorization"
RETRIED = {RefusalCode.BUS_UNAVAILABLE, RefusalCode.STORE_UNAVAILABLE, RefusalCode.HUB_UNREACHABLE}
"""Refusals that say nothing about the request: the message is redelivered later."""

INTAKE_NAMESPACE = uuid.UUID("6f0e6c1e-4d0b-4b5e-9a57-1c2f5e0a7d31")


def intake_submission_id(msg: Msg) -> str:
    """A submission id fixed by the message's place in the stream: redelivery reuses it."""
    meta = msg.metadata
    return uuid.uuid5(INTAKE_NAMESPACE, f"{meta.sequence.stream}:{meta.timestamp}").hex


class Door:
    """Handles one intake message with the same pipeline as `POST /v1/submissions`."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    async def on_request(self, msg: Msg) -> None:
        headers = msg.headers or {}
        try:
            request = decode(msg, SubmissionRequest)
        except ValidationError as error:  # answered, then dead-lettered by `consume`
            detail = ErrorDetail(code=RefusalCode.INVALID_REQUEST, message=str(error)[:500])
            await self.answer(headers, json.dumps(ErrorBody(error=detail).payload()))
            await self.forget(msg)
            raise
        submission_id = intake_submission_id(msg)
        try:
            created = await self.intake.submit(
                request, headers.get(AUTHORIZATION_HEADER), submission_id
            )
            answer = created.model_dump_json()
        except Refusal as refusal:
            if refusal.detail.code in RETRIED:
                raise
            rejected = SubmissionRejected(
                submission_id=submission_id,
                code=refusal.detail.code.value,
                message=refusal.detail.message,
                field=refusal.detail.field,
                model=request.model,
            )
            bus = self.intake.bus
            await bus.publish(
                Subjects.rejected(submission_id), rejected, f"rejected:{submission_id}"
            )
            answer = json.dumps(ErrorBody(error=refusal.detail).payload())
        await self.answer(headers, answer)
        await self.forget(msg)
        await msg.ack()

    async def forget(self, msg: Msg) -> None:
        """Delete the handled request (its key and token) from the stream."""
        await self.intake.bus.js.delete_msg(SUBMISSIONS.name, msg.metadata.sequence.stream)

    async def answer(self, headers: dict[str, str], answer: str) -> None:
        """Send `answer` to the request's `Lb-Reply-To` subject, when it names one."""
        if reply_to := headers.get(REPLY_HEADER):
            await self.intake.bus.client.publish(reply_to, answer.encode())
