"""The submission pipeline shared by HTTP and the bus: check, authorize, dedupe, store, publish."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from services.submission import duplicates, webhooks
from services.submission.auth import authenticate, check_rate
from services.submission.duplicates import IMPORTED
from services.submission.hub import ModelDescription
from services.submission.model_files import ModelDetails
from services.submission.refusals import Refusal, RefusalCode
from services.submission.validation import (
    ModelResolver,
    Policy,
    check_model,
    check_request,
    custom_tasks_of,
    is_private,
)
from shared.bus import Bus
from shared.custom_tasks import catalogue
from shared.custom_tasks.spec import TaskSpec
from shared.documents import (
    ModelFacts,
    StatusChange,
    SubmissionDoc,
    SubmissionStatus,
    TaskProgress,
)
from shared.events import (
    Job,
    Priority,
    Subjects,
    SubmissionAccepted,
    SubmissionRequest,
    Visibility,
)
from shared.secrets import NoSecretKey, seal_token
from shared.store import Store
from shared.transitions import publish_transition

log = logging.getLogger(__name__)


class SubmissionCreated(BaseModel):
    """The answer to an accepted submission."""

    id: str
    status: SubmissionStatus
    model: str
    revision: str
    tasks: list[str] = Field(description="The tasks this submission evaluates.")
    duplicates: dict[str, str] = Field(
        default_factory=dict,
        description="Tasks asked for that another submission already queued, runs or ran: "
        "task name → that submission's id.",
    )
    callback_secret: str | None = Field(
        default=None,
        description="With a `callback_url`: the key of the HMAC-SHA256 signature of its "
        "deliveries (`Lb-Signature`); shown only here.",
    )


@dataclass
class Intake:
    """Everything a submission passes through, in the order of DESIGN §3."""

    bus: Bus
    store: Store
    resolver: ModelResolver
    policy: Policy
    submissions_per_day: int
    secret_key_file: Path | None = None

    async def submit(
        self,
        request: SubmissionRequest,
        authorization: str | None,
        submission_id: str | None = None,
        priority: Priority = Priority.NORMAL,
    ) -> SubmissionCreated:
        """Validate `request` and accept it; raises `Refusal` at the first failed check.

        The key first, then the request (off the event loop: mteb's registry is searched), then
        the day's count; nothing is published for a refused request.
        """
        key = await authenticate(self.store, authorization)
        visible = (await catalogue.refresh(self.store)).visible_to(key.name, key.admin)
        tasks = await asyncio.to_thread(check_request, request, visible)
        custom = await asyncio.to_thread(custom_tasks_of, tasks, visible)
        private = is_private(request, tasks, visible)
        webhooks.check_callbacks_possible(request.callback_url, self.secret_key_file)
        await check_rate(self.store, key, self.submissions_per_day)
        token = request.hf_token.get_secret_value() if request.hf_token else None
        described = await self.resolver.describe(request.model, request.revision, token)
        sealed = self.sealed_token(request.model, described, token)
        submission_id = submission_id or uuid.uuid4().hex
        keys = claim_keys(tasks, custom)
        held = {  # a redelivered intake message finds its own claims: they are not duplicates
            keys[key]: holder
            for key, holder in (
                await duplicates.holders(self.store, request.model, described.sha, list(keys))
            ).items()
            if holder != submission_id
        }
        new = [task for task in tasks if task not in held]
        if not new:
            raise duplicate_refusal(request.model, held)
        parameters = await self.resolver.parameters(request.model, described, token)
        check_model(request.model, described, parameters, self.policy)
        details = await self.resolver.details(request.model, described, token)
        submission = SubmissionDoc(
            _id=submission_id,
            model=request.model,
            revision=described.sha,
            requested_revision=request.revision,
            benchmark=request.benchmark,
            priority=priority,
            visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
            submitted_by=key.name,
            facts=facts(described, parameters, details),
            tasks=[TaskProgress(task=task) for task in new],
            history=[StatusChange(status=SubmissionStatus.ACCEPTED)],
        )
        if request.callback_url is not None and self.secret_key_file is not None:
            await webhooks.register(self.store, submission_id, request.callback_url)
            created = await self.accept(submission, held, sealed, custom)
            created.callback_secret = webhooks.callback_secret(self.secret_key_file, created.id)
            return created
        return await self.accept(submission, held, sealed, custom)

    def sealed_token(
        self, model: str, described: ModelDescription, token: str | None
    ) -> str | None:
        """The token sealed for the evaluators when the model is private; else None."""
        if not described.private:
            return None
        if token is None:
            raise Refusal(
                RefusalCode.PRIVATE_MODEL,
                f"{model} is private: give an `hf_token` that can read it",
                "hf_token",
            )
        try:
            return seal_token(token, self.secret_key_file)
        except (NoSecretKey, OSError):
            raise Refusal(
                RefusalCode.PRIVATE_MODEL,
                "this leaderboard takes no private models (no secret key is configured)",
                "hf_token",
            ) from None

    async def accept(
        self,
        submission: SubmissionDoc,
        held: dict[str, str],
        sealed: str | None,
        custom: dict[str, TaskSpec],
    ) -> SubmissionCreated:
        """Claim the tasks, store the submission, publish it; races lost count as duplicates."""
        keys = claim_keys([progress.task for progress in submission.tasks], custom)
        won_keys, taken = await duplicates.claim(
            self.store, submission.model, submission.revision, list(keys), submission.id
        )
        won = [keys[key] for key in won_keys]
        held = held | {keys[key]: holder for key, holder in taken.items()}
        if not won:
            raise duplicate_refusal(submission.model, held)
        submission.tasks = [progress for progress in submission.tasks if progress.task in won]
        try:
            await self.store.insert_submission(submission)
        except DuplicateKeyError:  # a redelivered intake message: publish the stored one again
            stored = await self.store.get_submission(submission.id)
            submission = stored or submission
        except BaseException:
            await duplicates.release(
                self.store, submission.model, submission.revision, won_keys, submission.id
            )
            raise
        try:
            await publish_submission(self.bus, submission, sealed, custom)
        except Exception as error:
            log.exception("publishing submission %s failed", submission.id)
            reason = f"bus unavailable: {type(error).__name__}"
            await self.store.update_submission(
                submission.id, lambda doc: doc.set_status(SubmissionStatus.FAILED, reason)
            )
            raise Refusal(RefusalCode.BUS_UNAVAILABLE, "the event bus is unavailable") from error
        return SubmissionCreated(
            id=submission.id,
            status=submission.status,
            model=submission.model,
            revision=submission.revision,
            tasks=[progress.task for progress in submission.tasks],
            duplicates=held,
        )


def facts(described: ModelDescription, parameters: int | None, details: ModelDetails) -> ModelFacts:
    return ModelFacts(
        parameters=parameters,
        embed_dim=details.embed_dim,
        max_tokens=details.max_tokens,
        embedding_parameters=details.embedding_parameters,
        release_date=details.release_date,
        license=described.license,
        languages=described.languages,
        base_model=described.base_model,
        private=described.private,
        source=described.source,
    )


def duplicate_refusal(model: str, held: dict[str, str]) -> Refusal:
    """Every task asked for is covered already: answer with (the first) covering submission,
    which `GET /v1/submissions/{id}` reads; none when imported results cover them all."""
    submissions = [holder for holder in held.values() if not holder.startswith(IMPORTED)]
    if not submissions:
        return Refusal(
            RefusalCode.DUPLICATE,
            f"every task asked for already has an imported result for {model} at this commit",
            "tasks",
        )
    return Refusal(
        RefusalCode.DUPLICATE,
        f"every task asked for is already queued, running or done for {model} at this commit "
        f"(submission {submissions[0]})",
        "tasks",
        submission_id=submissions[0],
    )


def claim_keys(tasks: list[str], custom: dict[str, TaskSpec]) -> dict[str, str]:
    """The key each task is claimed under → the task: its name; a custom task's names its
    revision too (`name@revision`), so that new data is evaluated again."""
    return {(f"{task}@{custom[task].revision}" if task in custom else task): task for task in tasks}


async def publish_submission(
    bus: Bus,
    submission: SubmissionDoc,
    sealed: str | None,
    custom: dict[str, TaskSpec] | None = None,
) -> None:
    """The `accepted` event and transition, then one job per task; ids make retries harmless.
    A private submission's events go to `lb.private.` subjects; `custom`: the custom tasks'
    definitions, which their jobs carry.

    Nothing is published while the client is disconnected: it would wait in the client's buffer
    and go out once NATS is back, after the submission was answered `bus_unavailable`.
    """
    if not bus.client.is_connected:
        raise ConnectionError("not connected to NATS")
    accepted = SubmissionAccepted(
        submission_id=submission.id,
        model=submission.model,
        revision=submission.revision,
        tasks=[progress.task for progress in submission.tasks],
        benchmark=submission.benchmark,
        priority=submission.priority,
    )
    subject = Subjects.accepted(submission.id, submission.private)
    await bus.publish(subject, accepted, f"accepted:{submission.id}")
    await publish_transition(bus, submission)
    for progress in submission.tasks:
        spec = (custom or {}).get(progress.task)
        await publish_job(bus, submission, progress.task, sealed, custom_task=spec)


async def publish_job(
    bus: Bus,
    submission: SubmissionDoc,
    task: str,
    sealed: str | None,
    suffix: str = "",
    custom_task: TaskSpec | None = None,
) -> None:
    job = Job(
        submission_id=submission.id,
        model=submission.model,
        revision=submission.revision,
        task=task,
        priority=submission.priority,
        sealed_token=sealed,
        custom_task=custom_task,
        private=submission.private,
    )
    subject = Subjects.job(job.priority, submission.id, task)
    await bus.publish(subject, job, f"job:{submission.id}:{task}{suffix}")
