"""Custom tasks over HTTP: upload and check the data, then store it; list, read, publish, delete.

Nothing is stored, put or published for a refused upload: the data is checked whole on disk
first (`shared.custom_tasks.ingest`), then its files go to the task data object store, then the
task's document, then the `created` event.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from services.submission.access import (
    Viewer,
    current_catalogue,
    intake_of,
    key_of,
    require_change,
    settings_of,
    viewer,
    visible_task,
)
from services.submission.hub_dataset import download_dataset
from services.submission.intake import Intake
from services.submission.refusals import Refusal, RefusalCode, error_responses
from services.submission.task_upload import (
    DATA,
    HUB_DATASET,
    HUB_REVISION,
    ROLES,
    Upload,
    read_upload,
)
from services.submission.validation import in_registry
from shared.custom_tasks.ingest import Caps, TaskDataError, prepare_task
from shared.custom_tasks.spec import TaskSpec
from shared.documents import ApiKeyDoc, CustomTaskDoc, HubSource
from shared.events import (
    Subjects,
    TaskCreated,
    TaskDeleted,
    TaskPublished,
    UtcDatetime,
    Visibility,
    utcnow,
)
from shared.settings import Settings
from shared.task_data import TaskData

log = logging.getLogger(__name__)

Code = RefusalCode
router = APIRouter()
Who = Annotated[Viewer, Depends(viewer)]
READ_ERRORS = error_responses(Code.UNAUTHORIZED, Code.TASK_NOT_FOUND, Code.STORE_UNAVAILABLE)
CHANGE_ERRORS = error_responses(
    Code.UNAUTHORIZED,
    Code.FORBIDDEN,
    Code.TASK_NOT_FOUND,
    Code.BUS_UNAVAILABLE,
    Code.STORE_UNAVAILABLE,
)
CREATE_ERRORS = error_responses(
    Code.INVALID_REQUEST,
    Code.INVALID_TASK_DATA,
    Code.NAME_TAKEN,
    Code.TASK_EXISTS,
    Code.DUPLICATE_TASK,
    Code.DATASET_NOT_FOUND,
    Code.REVISION_NOT_FOUND,
    Code.UNAUTHORIZED,
    Code.BODY_TOO_LARGE,
    Code.HUB_UNREACHABLE,
    Code.BUS_UNAVAILABLE,
    Code.STORE_UNAVAILABLE,
)
DELETE_ERRORS = error_responses(
    Code.UNAUTHORIZED,
    Code.FORBIDDEN,
    Code.TASK_NOT_FOUND,
    Code.CONFIRMATION_REQUIRED,
    Code.BUS_UNAVAILABLE,
    Code.STORE_UNAVAILABLE,
)
UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "type"],
                    "properties": {
                        "name": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"},
                        "type": {
                            "type": "string",
                            "enum": [
                                "Retrieval",
                                "Reranking",
                                "STS",
                                "PairClassification",
                                "Classification",
                                "Clustering",
                            ],
                        },
                        "metadata": {
                            "type": "string",
                            "description": "JSON of the task's metadata: description, "
                            "languages, domains, main_score, eval_splits, license, score_range.",
                        },
                        "visibility": {"type": "string", "enum": ["private", "public"]},
                        HUB_DATASET: {
                            "type": "string",
                            "description": "Instead of files: a public Hub dataset id laid "
                            "out as mteb's own task of the type (with `hub_revision`).",
                        },
                        HUB_REVISION: {
                            "type": "string",
                            "description": "The dataset's branch, tag or commit; the commit "
                            "it resolves to is recorded as the task's `source`.",
                        },
                        DATA: {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "A Hugging Face datasets folder laid out as mteb's "
                            "own task of the type; each part's filename is its path inside.",
                        },
                    }
                    | {
                        role: {
                            "type": "string",
                            "format": "binary",
                            "description": f"The `{role}` file (JSONL, CSV or TSV); "
                            f"`{role}:<split>` for another split than the first.",
                        }
                        for role in sorted(ROLES)
                    },
                }
            }
        },
    }
}


class TaskView(BaseModel):
    """A custom task as the API shows it."""

    name: str
    owner: str = Field(description="Name of the API key that made it.")
    visibility: Visibility
    spec: TaskSpec = Field(description="Type, metadata, files and revision (the data's hash).")
    earlier_revisions: list[str]
    source: HubSource | None = Field(
        default=None, description="The Hub dataset and commit the data was read from."
    )
    created_at: UtcDatetime
    updated_at: UtcDatetime


class TaskDeletion(BaseModel):
    """A deleted task and how many of its results went with it."""

    task: str
    results_deleted: int
    unfinished_evaluations: int = Field(
        description="Submissions that still had the task queued or running: jobs are not "
        "withdrawn; an evaluator that must fetch the (deleted) data fails them as "
        "`data_unavailable`."
    )


def task_view(document: CustomTaskDoc) -> TaskView:
    return TaskView(
        name=document.id,
        owner=document.owner,
        visibility=document.visibility,
        spec=document.spec,
        earlier_revisions=document.earlier_revisions,
        source=document.source,
        created_at=document.created_at,
        updated_at=document.updated_at,
    )


def caps(settings: Settings) -> Caps:
    return Caps(
        max_file_bytes=settings.task_max_file_bytes,
        max_total_bytes=settings.task_max_total_bytes,
        max_rows=settings.task_max_rows,
        max_text_chars=settings.task_max_text_chars,
    )


async def check_name(intake: Intake, name: str, key: ApiKeyDoc) -> CustomTaskDoc | None:
    """The caller's own task of this name (None: a new task); refused when the name is a
    registry task's or another key's task."""
    if await asyncio.to_thread(in_registry, name):
        raise Refusal(Code.NAME_TAKEN, f"{name!r} is a task of mteb's registry", "name")
    existing = await intake.store.get_custom_task(name)
    if existing is not None and existing.owner != key.name:
        raise Refusal(Code.TASK_EXISTS, f"another key owns a task named {name!r}", "name")
    return existing


def prepared(upload: Upload, into: Path, settings: Settings) -> tuple[TaskSpec, Path]:
    """The checked task and its canonical datasets folder; a typed refusal for bad data."""
    try:
        return prepare_task(
            upload.name,
            upload.task_type,
            upload.metadata,
            files=upload.files or None,
            file_names=upload.file_names or None,
            folder=upload.folder,
            into=into,
            caps=caps(settings),
        )
    except TaskDataError as error:
        raise Refusal(
            error.code, error.message, error.field, file=error.file, line=error.line
        ) from None


async def announce(intake: Intake, name: str, action: str, event: Any, private: bool) -> None:
    """Publish a task event; the store's data version and this process's catalogue follow."""
    await intake.store.bump_data_version()
    await current_catalogue(intake)
    subject = Subjects.task_event(name, action, private)  # type: ignore[arg-type]
    await intake.bus.publish(subject, event, f"task-{action}:{name}:{utcnow().isoformat()}")


async def store_task(
    intake: Intake,
    upload: Upload,
    spec: TaskSpec,
    folder: Path,
    key: ApiKeyDoc,
    source: HubSource | None = None,
) -> CustomTaskDoc:
    """Put the files, then the document (new, or a new revision of the caller's task), then
    announce it; what was kept is taken back when the announcement fails."""
    existing = await intake.store.get_custom_task(upload.name)
    if existing is not None and existing.spec.revision == spec.revision:
        raise Refusal(
            Code.DUPLICATE_TASK,
            f"task {upload.name!r} already has this data (revision {spec.revision[:12]})",
            DATA,
        )
    data = TaskData(intake.bus)
    put = await data.put(folder, spec.files)
    try:
        if existing is None:
            document = CustomTaskDoc(
                _id=upload.name,
                spec=spec,
                owner=key.name,
                visibility=upload.visibility or Visibility.PRIVATE,
                source=source,
            )
            await intake.store.insert_custom_task(document)
        else:
            document = existing.model_copy(
                update={
                    "spec": spec,
                    "visibility": upload.visibility or existing.visibility,
                    "earlier_revisions": [*existing.earlier_revisions, existing.spec.revision],
                    "source": source,
                    "updated_at": utcnow(),
                }
            )
            await intake.store.replace_custom_task(document)
    except DuplicateKeyError:  # made meanwhile by another request
        await data.delete(put)
        raise Refusal(Code.TASK_EXISTS, f"a task named {upload.name!r} exists", "name") from None
    except BaseException:
        await data.delete(put)
        raise
    private = document.visibility is Visibility.PRIVATE
    event = TaskCreated(task=document.spec, owner=document.owner, visibility=document.visibility)
    try:
        await announce(intake, document.id, "created", event, private)
    except Exception as error:  # unannounced: the task is taken back, as if never made
        log.warning("announcing task %s failed: %s", document.id, type(error).__name__)
        if existing is None:
            await intake.store.delete_custom_task(document.id)
        else:
            await intake.store.replace_custom_task(existing)
        await data.delete(put)
        await current_catalogue(intake)
        raise Refusal(
            Code.BUS_UNAVAILABLE, "the event bus is unavailable: nothing was kept"
        ) from error
    return document


async def from_hub(
    intake: Intake, upload: Upload, into: Path, settings: Settings
) -> HubSource | None:
    """The upload's Hub dataset downloaded under `into` (its folder becomes the upload's)."""
    if upload.hub is None:
        return None
    dataset, revision = upload.hub
    api = intake.resolver.hub.api
    commit = await asyncio.to_thread(download_dataset, api, dataset, revision, into, caps(settings))
    upload.folder = into / "folder"
    return HubSource(hub_dataset=dataset, hub_revision=revision, hub_commit=commit)


@router.post(
    "/v1/tasks",
    status_code=201,
    response_model=TaskView,
    responses=CREATE_ERRORS,
    openapi_extra=UPLOAD_SCHEMA,
    summary="Create a custom task from uploaded data, or give yours a new revision (API key)",
)
async def create_task(request: Request) -> TaskView:
    """`multipart/form-data`: `name`, `type`, `metadata` (JSON), and the data: one part per
    file named by its role (`corpus`, `queries`, `qrels`, `pairs`, `train`, `test`; `qrels:dev`
    for another split), `data` parts holding a datasets folder, or `hub_dataset` and
    `hub_revision` naming a public Hub dataset laid out as such a folder. Private unless
    `visibility=public`; posting new data for a task of yours makes a new revision."""
    intake, settings = intake_of(request), settings_of(request)
    key = await key_of(request)
    folder = Path(tempfile.mkdtemp(prefix="task-upload-"))
    try:
        upload = await read_upload(request, folder / "upload")
        await check_name(intake, upload.name, key)
        source = await from_hub(intake, upload, folder / "hub", settings)
        spec, data = await asyncio.to_thread(prepared, upload, folder / "task", settings)
        document = await store_task(intake, upload, spec, data, key, source)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    return task_view(document)


@router.get(
    "/v1/tasks",
    response_model=list[TaskView],
    responses=error_responses(Code.UNAUTHORIZED, Code.STORE_UNAVAILABLE),
    summary="Custom tasks: the public ones and, with a key, its own (an admin key: all)",
)
async def list_tasks(request: Request, who: Who) -> list[TaskView]:
    tasks = await intake_of(request).store.custom_tasks()
    return [task_view(task) for task in tasks if who.sees(task)]


@router.get(
    "/v1/tasks/{name}",
    response_model=TaskView,
    responses=READ_ERRORS,
    summary="A custom task (a private one: with its owner's key or an admin key)",
)
async def get_task(name: str, request: Request, who: Who) -> TaskView:
    return task_view(await visible_task(intake_of(request), name, who))


@router.post(
    "/v1/tasks/{name}/publish",
    response_model=TaskView,
    responses=CHANGE_ERRORS,
    summary="Make a custom task public (its owner's key or an admin key)",
)
async def publish_task(name: str, request: Request) -> TaskView:
    intake = intake_of(request)
    who = Viewer.of(await key_of(request))
    task = await visible_task(intake, name, who)
    require_change(task, who)
    if task.visibility is Visibility.PUBLIC:
        return task_view(task)
    task = task.model_copy(update={"visibility": Visibility.PUBLIC, "updated_at": utcnow()})
    await intake.store.replace_custom_task(task)
    event = TaskPublished(task=task.id, revision=task.spec.revision)
    await announce(intake, task.id, "published", event, private=False)
    return task_view(task)


async def unused_objects(intake: Intake, task: CustomTaskDoc) -> list[str]:
    """The task's file digests that no other custom task uses."""
    others = {
        digest
        for other in await intake.store.custom_tasks()
        if other.id != task.id
        for digest in other.spec.files.values()
    }
    return sorted(set(task.spec.files.values()) - others)


@router.delete(
    "/v1/tasks/{name}",
    response_model=TaskDeletion,
    responses=DELETE_ERRORS,
    summary="Delete a custom task with its data and results (owner or admin; `?confirm=<name>`)",
)
async def delete_task(
    name: str,
    request: Request,
    confirm: Annotated[
        str | None, Query(description="The task's name again: deleting cannot be undone.")
    ] = None,
) -> TaskDeletion:
    intake = intake_of(request)
    who = Viewer.of(await key_of(request))
    task = await visible_task(intake, name, who)
    require_change(task, who)
    if confirm != name:
        count = await intake.store.count_task_results(name)
        raise Refusal(
            Code.CONFIRMATION_REQUIRED,
            f"deleting {name} deletes its data and its {count} result(s); "
            f"send ?confirm={name} to do it",
            "confirm",
        )
    digests = await unused_objects(intake, task)
    unfinished = await intake.store.count_unfinished_evaluations(name)
    deleted = await intake.store.delete_task_results(name)
    await intake.store.delete_custom_task(name)
    for benchmark in await intake.store.custom_benchmarks():
        if name in benchmark.tasks:
            kept = [other for other in benchmark.tasks if other != name]
            await intake.store.replace_custom_benchmark(
                benchmark.model_copy(update={"tasks": kept})
            )
    await TaskData(intake.bus).delete(digests)
    event = TaskDeleted(task=name, results_deleted=deleted)
    private = task.visibility is Visibility.PRIVATE
    await announce(intake, name, "deleted", event, private)
    return TaskDeletion(task=name, results_deleted=deleted, unfinished_evaluations=unfinished)
