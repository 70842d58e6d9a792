"""The submission API: submit, list, read, cancel, prioritize and re-queue submissions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from huggingface_hub import HfApi
from pydantic import BaseModel, Field
from pymongo.errors import PyMongoError

from services.submission import benchmarks_api, best_models, control, tasks_api, webhooks
from services.submission.access import Viewer, viewer
from services.submission.auth import authenticate
from services.submission.door import DURABLE, Door
from services.submission.gate import MAX_BODY_BYTES, Gate
from services.submission.intake import Intake, SubmissionCreated
from services.submission.refusals import ErrorBody, Refusal, RefusalCode, error_responses
from services.submission.validation import ModelResolver, Policy
from shared.bus import PRIVATE, SUBMISSIONS, Bus, consume
from shared.documents import ApiKeyDoc, SubmissionDoc, SubmissionStatus
from shared.events import Subjects, SubmissionRequest
from shared.health import StoreWatch
from shared.http_metrics import instrument
from shared.settings import Settings, get_settings
from shared.store import Store

log = logging.getLogger(__name__)

Code = RefusalCode
SUBMIT_CODES = (
    Code.INVALID_REQUEST,
    Code.INVALID_MODEL_ID,
    Code.UNKNOWN_TASK,
    Code.UNKNOWN_BENCHMARK,
    Code.UNAUTHORIZED,
    Code.BODY_TOO_LARGE,
    Code.RATE_LIMITED,
    Code.MODEL_NOT_FOUND,
    Code.REVISION_NOT_FOUND,
    Code.GATED_MODEL,
    Code.PRIVATE_MODEL,
    Code.DISABLED_MODEL,
    Code.DUPLICATE,
    Code.NO_WEIGHTS,
    Code.TOO_LARGE,
    Code.NOT_SENTENCE_TRANSFORMERS,
    Code.TRUST_REMOTE_CODE_REQUIRED,
    Code.LICENSE_MISSING,
    Code.HUB_UNREACHABLE,
    Code.BUS_UNAVAILABLE,
    Code.STORE_UNAVAILABLE,
)
ACTION_CODES = (
    Code.INVALID_REQUEST,
    Code.UNAUTHORIZED,
    Code.BODY_TOO_LARGE,
    Code.FORBIDDEN,
    Code.SUBMISSION_NOT_FOUND,
    Code.INVALID_STATE,
    Code.BUS_UNAVAILABLE,
    Code.STORE_UNAVAILABLE,
)
SUBMIT_ERRORS = error_responses(*SUBMIT_CODES)
ACTION_ERRORS = error_responses(*ACTION_CODES)
REQUEUE_ERRORS = error_responses(*dict.fromkeys(ACTION_CODES + SUBMIT_CODES))
READ_ERRORS = error_responses(Code.INVALID_REQUEST, Code.STORE_UNAVAILABLE)
INTAKE_ATTEMPTS = 10
STORE_DOWN = Refusal(RefusalCode.STORE_UNAVAILABLE, "the store is unavailable")
BUS_DOWN = Refusal(RefusalCode.BUS_UNAVAILABLE, "the event bus is unavailable")

bearer = HTTPBearer(auto_error=False, description="An API key (`leaderboard keys create NAME`).")


class SubmissionView(SubmissionDoc):
    """A submission as the API shows it: `id` rather than the store's `_id`."""

    id: str = Field(description="The submission id.")


class SubmissionPage(BaseModel):
    """One page of submissions, newest first."""

    items: list[SubmissionView]
    total: int = Field(description="How many submissions match the filters.")
    offset: int
    limit: int


def view(submission: SubmissionDoc) -> SubmissionView:
    return SubmissionView.model_validate(submission.model_dump())


def intake_of(request: Request) -> Intake:
    return request.app.state.intake  # type: ignore[no-any-return]


def authorization(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str | None:
    """The `Authorization` header as the intake reads it (the bus door passes it raw)."""
    return f"Bearer {credentials.credentials}" if credentials else None


FoundIntake = Annotated[Intake, Depends(intake_of)]
Authorization = Annotated[str | None, Depends(authorization)]


async def caller(intake: Intake, header: str | None) -> ApiKeyDoc:
    return await authenticate(intake.store, header)


def make_intake(settings: Settings, bus: Bus, store: Store, hub: HfApi | None) -> Intake:
    return Intake(
        bus=bus,
        store=store,
        resolver=ModelResolver(settings.models_dir, hub),
        policy=Policy.from_settings(settings),
        submissions_per_day=settings.submissions_per_day,
        secret_key_file=settings.secret_key_file,
    )


async def start_deliveries(
    settings: Settings, bus: Bus, store: Store, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """The webhook consumers of public and private submissions' transitions, when a secret key
    can sign callbacks (`webhooks`)."""
    if settings.secret_key_file is None:
        return []
    attempts = settings.webhook_attempts
    public = await bus.pull(SUBMISSIONS, webhooks.DURABLE, webhooks.FILTER, max_deliver=attempts)
    private = await bus.pull(
        PRIVATE, webhooks.PRIVATE_DURABLE, webhooks.PRIVATE_FILTER, max_deliver=attempts
    )
    client = httpx.AsyncClient(timeout=settings.webhook_timeout_s, follow_redirects=False)
    deliveries = webhooks.Deliveries(
        bus,
        store,
        settings.secret_key_file,
        settings.webhook_attempts,
        settings.webhook_retry_backoff_s,
        client,
    )

    async def run() -> None:
        try:
            await asyncio.gather(
                consume(bus, public, SUBMISSIONS, deliveries.on_transition, stop),
                consume(bus, private, PRIVATE, deliveries.on_transition, stop),
            )
        finally:
            await client.aclose()

    return [asyncio.create_task(run())]


def create_app(settings: Settings | None = None, hub: HfApi | None = None) -> FastAPI:
    """The API; `hub` replaces the default `HfApi()` (tests give one with a local endpoint)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.nats_url and settings.mongodb_url, (
            "set LEADERBOARD_NATS_URL and _MONGODB_URL"
        )
        bus = await Bus.connect(settings.nats_url, "submission", **settings.nats_login())
        store = Store(settings.mongodb_url, settings.mongodb_database, settings.store_timeout_s)
        await store.ensure_indexes()
        intake = make_intake(settings, bus, store, hub)
        app.state.intake = intake
        app.state.watch = StoreWatch(store, settings.store_timeout_s)
        app.state.watch.start()
        stop = asyncio.Event()
        subscription = await bus.pull(
            SUBMISSIONS, DURABLE, Subjects.INTAKE, max_deliver=INTAKE_ATTEMPTS
        )
        door = asyncio.create_task(
            consume(bus, subscription, SUBMISSIONS, Door(intake, INTAKE_ATTEMPTS).on_request, stop)
        )
        app.state.door = door
        deliveries = await start_deliveries(settings, bus, store, stop)
        yield
        stop.set()
        await asyncio.gather(door, *deliveries, return_exceptions=True)
        await app.state.watch.stop()
        try:
            await bus.close()
        except Exception as error:  # closed or unreachable already: nothing left to flush
            log.warning("closing the bus: %s", type(error).__name__)
        await store.close()

    app = FastAPIOffline(  # Swagger UI served from the package, no CDN (ReDoc fetches a logo)
        redoc_url=None,
        title="leaderboard submission API",
        version="1",
        description="Submit a model for MTEB evaluation and follow its progress. Submitting and "
        "acting on submissions need an API key (`Authorization: Bearer <key>`); reads are public. "
        "The key is checked first, before the body is read; bodies larger than "
        f"{MAX_BODY_BYTES // 1024} KiB are refused with 413 `body_too_large`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(Gate)
    for router in (tasks_api.router, benchmarks_api.router, best_models.router):
        app.include_router(router)

    webhooks.document(app)

    @app.exception_handler(Refusal)
    async def refused(_: Request, refusal: Refusal) -> JSONResponse:
        body = ErrorBody(error=refusal.detail)
        return JSONResponse(
            body.payload(), status_code=refusal.status_code, headers=refusal.headers
        )

    @app.exception_handler(PyMongoError)
    async def store_down(request: Request, error: PyMongoError) -> JSONResponse:
        request.app.state.watch.failed(error)
        return await refused(request, STORE_DOWN)

    @app.middleware("http")
    async def dependencies_first(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """503 at once while what a request needs is known to be down: the store for every
        call, the bus too for those that change something (nothing is stored then)."""
        if request.url.path.startswith("/v1/"):
            if not request.app.state.watch.up:
                return await refused(request, STORE_DOWN)
            if request.method != "GET" and not intake_of(request).bus.connected:
                return await refused(request, BUS_DOWN)
        return await call_next(request)

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
        responses=SUBMIT_ERRORS,
        summary="Submit a model for evaluation (API key required)",
    )
    async def submit(
        request: SubmissionRequest, intake: FoundIntake, header: Authorization
    ) -> SubmissionCreated:
        return await intake.submit(request, header)

    @app.get(
        "/v1/submissions",
        response_model=SubmissionPage,
        responses=READ_ERRORS,
        summary="Submissions, newest first, filtered and paged (private ones: with their key)",
    )
    async def list_submissions(
        intake: FoundIntake,
        who: Annotated[Viewer, Depends(viewer)],
        status: Annotated[SubmissionStatus | None, Query(description="Only this status.")] = None,
        model: Annotated[str | None, Query(description="Only this model id.")] = None,
        since: Annotated[
            datetime | None, Query(description="Only those created at or after this time.")
        ] = None,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> SubmissionPage:
        query: dict[str, object] = {}
        if status is not None:
            query["status"] = status.value
        if model is not None:
            query["model"] = model
        if since is not None:
            query["created_at"] = {"$gte": since}
        if not who.admin:  # private submissions: their own key's only
            public: dict[str, object] = {"visibility": {"$ne": "private"}}
            query |= {"$or": [public, {"submitted_by": who.name}]} if who.name else public
        page, total = await intake.store.list_submissions(query, offset, limit)
        return SubmissionPage(
            items=[view(doc) for doc in page], total=total, offset=offset, limit=limit
        )

    @app.get(
        "/v1/submissions/{submission_id}",
        response_model=SubmissionView,
        responses=error_responses(Code.INVALID_REQUEST, Code.SUBMISSION_NOT_FOUND),
        summary="A submission's status and per-task progress (a private one: with its key)",
    )
    async def get_submission(
        submission_id: str, intake: FoundIntake, who: Annotated[Viewer, Depends(viewer)]
    ) -> SubmissionView:
        submission = await control.stored_submission(intake, submission_id)
        if not who.sees_submission(submission):
            raise control.not_found()
        return view(submission)

    @app.delete(
        "/v1/submissions/{submission_id}",
        status_code=202,
        response_model=control.CancelAccepted,
        responses=ACTION_ERRORS,
        summary="Cancel a submission (admin key or the submitting key)",
    )
    async def cancel(
        submission_id: str, intake: FoundIntake, header: Authorization
    ) -> control.CancelAccepted:
        return await control.cancel(intake, submission_id, await caller(intake, header))

    @app.post(
        "/v1/submissions/{submission_id}/priority",
        response_model=SubmissionView,
        responses=ACTION_ERRORS,
        summary="Move a submission's pending jobs to high priority (admin key)",
    )
    async def prioritize(
        submission_id: str, intake: FoundIntake, header: Authorization
    ) -> SubmissionView:
        key = await caller(intake, header)
        return view(await control.raise_priority(intake, submission_id, key))

    @app.post(
        "/v1/submissions/{submission_id}/requeue",
        status_code=202,
        response_model=SubmissionCreated,
        responses=REQUEUE_ERRORS,
        summary="Submit a submission's failed and cancelled tasks again, high priority (admin)",
    )
    async def requeue(
        submission_id: str, intake: FoundIntake, header: Authorization
    ) -> SubmissionCreated:
        key = await caller(intake, header)
        return await control.requeue(intake, submission_id, header, key)

    @app.get(
        "/healthz",
        summary="Healthy when the store answers, the bus is connected and the intake consumer runs",
    )
    async def healthz(request: Request, intake: FoundIntake) -> JSONResponse:
        watch: StoreWatch = request.app.state.watch
        store_up = watch.up and await watch.check()  # known down: answer at once
        connected = intake.bus.connected
        door_running = not request.app.state.door.done()
        healthy = store_up and connected and door_running
        return JSONResponse(
            {
                "status": "ok" if healthy else "degraded",
                "store": watch.state,
                "bus": "connected" if connected else "down",
                "intake": "running" if door_running else "stopped",
            },
            status_code=200 if healthy else 503,
        )

    instrument(app)
    return app
