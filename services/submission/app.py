"""The submission API: `POST /v1/submissions`, `GET /v1/submissions/{id}`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pymongo.errors import PyMongoError

from services.submission.refusals import ErrorBody, Refusal, RefusalCode
from services.submission.validation import ModelResolver, ValidSubmission, validate
from shared.bus import Bus
from shared.documents import StatusChange, SubmissionDoc, SubmissionStatus, TaskProgress
from shared.events import Job, Subjects, SubmissionAccepted, SubmissionRequest
from shared.settings import Settings, get_settings
from shared.store import Store

log = logging.getLogger(__name__)

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (403, 404, 422, 503)
}


class SubmissionCreated(BaseModel):
    """The answer to an accepted submission."""

    id: str
    status: SubmissionStatus
    model: str
    revision: str
    tasks: list[str]


class SubmissionView(SubmissionDoc):
    """A submission as the API shows it: `id` rather than the store's `_id`."""

    id: str = Field(description="The submission id.")


class Services:
    """What a request handler needs: the bus, the store and the model resolver."""

    def __init__(self, bus: Bus, store: Store, resolver: ModelResolver) -> None:
        self.bus = bus
        self.store = store
        self.resolver = resolver


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def publish_submission(bus: Bus, submission: SubmissionDoc) -> None:
    """The `accepted` event, then one job per task; ids make retries harmless."""
    accepted = SubmissionAccepted(
        submission_id=submission.id,
        model=submission.model,
        revision=submission.revision,
        tasks=[progress.task for progress in submission.tasks],
        benchmark=submission.benchmark,
        priority=submission.priority,
    )
    await bus.publish(Subjects.accepted(submission.id), accepted, f"accepted:{submission.id}")
    for progress in submission.tasks:
        job = Job(
            submission_id=submission.id,
            model=submission.model,
            revision=submission.revision,
            task=progress.task,
            priority=submission.priority,
        )
        subject = Subjects.job(job.priority, submission.id, progress.task)
        await bus.publish(subject, job, f"job:{submission.id}:{progress.task}")


async def accept(found: Services, valid: ValidSubmission) -> SubmissionDoc:
    """Store the submission, then publish it; a bus failure leaves it stored as failed."""
    submission = SubmissionDoc(
        _id=uuid.uuid4().hex,
        model=valid.model,
        revision=valid.revision,
        requested_revision=valid.requested_revision,
        benchmark=valid.benchmark,
        tasks=[TaskProgress(task=task) for task in valid.tasks],
        history=[StatusChange(status=SubmissionStatus.ACCEPTED)],
    )
    await found.store.insert_submission(submission)
    try:
        await publish_submission(found.bus, submission)
    except Exception as error:
        log.exception("publishing submission %s failed", submission.id)
        reason = f"bus unavailable: {error!r}"
        await found.store.update_submission(
            submission.id, lambda doc: doc.set_status(SubmissionStatus.FAILED, reason)
        )
        raise Refusal(RefusalCode.BUS_UNAVAILABLE, "the event bus is unavailable") from error
    return submission


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.nats_url and settings.mongodb_url, (
            "set LEADERBOARD_NATS_URL and _MONGODB_URL"
        )
        bus = await Bus.connect(settings.nats_url, "submission")
        store = Store(settings.mongodb_url, settings.mongodb_database)
        await store.ensure_indexes()
        app.state.services = Services(bus, store, ModelResolver(settings.models_dir))
        yield
        await bus.close()
        await store.close()

    app = FastAPI(
        title="leaderboard submission API",
        version="1",
        description="Submit a model for MTEB evaluation and follow its progress.",
        lifespan=lifespan,
    )

    @app.exception_handler(Refusal)
    async def refused(_: Request, refusal: Refusal) -> JSONResponse:
        body = ErrorBody(error=refusal.detail)
        return JSONResponse(body.model_dump(mode="json"), status_code=refusal.status_code)

    @app.exception_handler(PyMongoError)
    async def store_down(request: Request, error: PyMongoError) -> JSONResponse:
        log.error("store error: %r", error)
        refusal = Refusal(RefusalCode.STORE_UNAVAILABLE, "the store is unavailable")
        return await refused(request, refusal)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        field = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
        refusal = Refusal(RefusalCode.INVALID_REQUEST, first.get("msg", "invalid request"), field)
        return await refused(_, refusal)

    @app.post(
        "/v1/submissions",
        status_code=202,
        response_model=SubmissionCreated,
        responses=ERROR_RESPONSES,
        summary="Submit a model for evaluation",
    )
    async def submit(
        request: SubmissionRequest, found: Annotated[Services, Depends(services)]
    ) -> SubmissionCreated:
        valid = await validate(request, found.resolver)
        submission = await accept(found, valid)
        return SubmissionCreated(
            id=submission.id,
            status=submission.status,
            model=submission.model,
            revision=submission.revision,
            tasks=valid.tasks,
        )

    @app.get(
        "/v1/submissions/{submission_id}",
        response_model=SubmissionView,
        responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
        summary="A submission's status and per-task progress",
    )
    async def get_submission(
        submission_id: str, found: Annotated[Services, Depends(services)]
    ) -> SubmissionView:
        submission = await found.store.get_submission(submission_id)
        if submission is None:
            raise Refusal(
                RefusalCode.SUBMISSION_NOT_FOUND, f"no submission {submission_id}", "submission_id"
            )
        return SubmissionView.model_validate(submission.model_dump())

    @app.get("/healthz", summary="Healthy when the store answers and the bus is connected")
    async def healthz(found: Annotated[Services, Depends(services)]) -> JSONResponse:
        await found.store.ping()
        connected = found.bus.client.is_connected
        return JSONResponse(
            {
                "status": "ok" if connected else "degraded",
                "bus": "connected" if connected else "down",
            },
            status_code=200 if connected else 503,
        )

    return app
