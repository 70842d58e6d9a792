"""Custom benchmarks over HTTP: a named set of registry and custom tasks, ranked like a registry
benchmark; create, list, read, publish, delete."""

from __future__ import annotations

import asyncio
from typing import Annotated

import mteb
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from pymongo.errors import DuplicateKeyError

from services.submission.access import (
    Viewer,
    current_catalogue,
    intake_of,
    key_of,
    require_change,
    viewer,
    visible_benchmark,
)
from services.submission.intake import Intake
from services.submission.refusals import Refusal, RefusalCode, error_responses
from services.submission.validation import in_registry
from shared.custom_tasks.spec import TASK_NAME
from shared.documents import CustomBenchmarkDoc, benchmark_leaderboard_id
from shared.events import TaskName, UtcDatetime, Visibility

Code = RefusalCode
router = APIRouter()
Who = Annotated[Viewer, Depends(viewer)]
MAX_BENCHMARK_TASKS = 500


class BenchmarkRequest(BaseModel):
    """A custom benchmark to make."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=TASK_NAME, description="Letters, digits, `_` and `-`; a letter first."
    )
    description: str = Field(default="", max_length=4000)
    tasks: list[TaskName] = Field(
        min_length=1,
        max_length=MAX_BENCHMARK_TASKS,
        description="Registry tasks and custom tasks this key may see.",
    )
    visibility: Visibility = Visibility.PRIVATE


class BenchmarkView(BaseModel):
    """A custom benchmark as the API shows it."""

    name: str
    description: str
    tasks: list[str]
    owner: str
    visibility: Visibility
    created_at: UtcDatetime


class BenchmarkDeletion(BaseModel):
    benchmark: str


def benchmark_view(document: CustomBenchmarkDoc) -> BenchmarkView:
    return BenchmarkView(
        name=document.id,
        description=document.description,
        tasks=document.tasks,
        owner=document.owner,
        visibility=document.visibility,
        created_at=document.created_at,
    )


def registry_benchmark(name: str) -> bool:
    try:
        mteb.get_benchmark(name)
    except (KeyError, ValueError):
        return False
    return True


async def check_tasks(
    intake: Intake, tasks: list[str], who: Viewer, visibility: Visibility
) -> list[str]:
    """The tasks, in order without repeats; each a registry task or a custom task `who` sees,
    public ones only in a public benchmark."""
    custom = {task.id: task for task in await intake.store.custom_tasks()}
    checked: list[str] = []
    for name in dict.fromkeys(tasks):
        task = custom.get(name)
        if task is not None and who.sees(task):
            if visibility is Visibility.PUBLIC and task.visibility is Visibility.PRIVATE:
                raise Refusal(
                    Code.PRIVATE_TASK_IN_PUBLIC_BENCHMARK,
                    f"task {name!r} is private: a public benchmark may hold public tasks only "
                    "(publish the task first)",
                    "tasks",
                )
        elif not await asyncio.to_thread(in_registry, name):
            raise Refusal(
                Code.UNKNOWN_TASK,
                f"no task named {name!r} in mteb's registry or among your custom tasks",
                "tasks",
            )
        checked.append(name)
    return checked


@router.post(
    "/v1/benchmarks",
    status_code=201,
    response_model=BenchmarkView,
    responses=error_responses(
        Code.INVALID_REQUEST,
        Code.NAME_TAKEN,
        Code.BENCHMARK_EXISTS,
        Code.UNKNOWN_TASK,
        Code.PRIVATE_TASK_IN_PUBLIC_BENCHMARK,
        Code.UNAUTHORIZED,
        Code.STORE_UNAVAILABLE,
    ),
    summary="Create a custom benchmark of registry and custom tasks (API key)",
)
async def create_benchmark(body: BenchmarkRequest, request: Request) -> BenchmarkView:
    intake = intake_of(request)
    key = await key_of(request)
    if await asyncio.to_thread(registry_benchmark, body.name):
        raise Refusal(Code.NAME_TAKEN, f"{body.name!r} is a benchmark of mteb's registry", "name")
    if await intake.store.get_custom_benchmark(body.name) is not None:
        raise Refusal(Code.BENCHMARK_EXISTS, f"a benchmark named {body.name!r} exists", "name")
    tasks = await check_tasks(intake, body.tasks, Viewer.of(key), body.visibility)
    document = CustomBenchmarkDoc(
        _id=body.name,
        description=body.description,
        tasks=tasks,
        owner=key.name,
        visibility=body.visibility,
    )
    try:
        await intake.store.insert_custom_benchmark(document)
    except DuplicateKeyError:
        raise Refusal(
            Code.BENCHMARK_EXISTS, f"a benchmark named {body.name!r} exists", "name"
        ) from None
    await changed(intake)
    return benchmark_view(document)


async def changed(intake: Intake) -> None:
    await intake.store.bump_data_version()
    await current_catalogue(intake)


@router.get(
    "/v1/benchmarks",
    response_model=list[BenchmarkView],
    responses=error_responses(Code.UNAUTHORIZED, Code.STORE_UNAVAILABLE),
    summary="Custom benchmarks: the public ones and, with a key, its own (an admin key: all)",
)
async def list_benchmarks(request: Request, who: Who) -> list[BenchmarkView]:
    benchmarks = await intake_of(request).store.custom_benchmarks()
    return [benchmark_view(b) for b in benchmarks if who.sees(b)]


@router.get(
    "/v1/benchmarks/{name}",
    response_model=BenchmarkView,
    responses=error_responses(Code.UNAUTHORIZED, Code.BENCHMARK_NOT_FOUND),
    summary="A custom benchmark (a private one: with its owner's key or an admin key)",
)
async def get_benchmark(name: str, request: Request, who: Who) -> BenchmarkView:
    return benchmark_view(await visible_benchmark(intake_of(request), name, who))


@router.post(
    "/v1/benchmarks/{name}/publish",
    response_model=BenchmarkView,
    responses=error_responses(
        Code.UNAUTHORIZED,
        Code.FORBIDDEN,
        Code.BENCHMARK_NOT_FOUND,
        Code.PRIVATE_TASK_IN_PUBLIC_BENCHMARK,
    ),
    summary="Make a custom benchmark public (owner or admin); its tasks must be public already",
)
async def publish_benchmark(name: str, request: Request) -> BenchmarkView:
    intake = intake_of(request)
    who = Viewer.of(await key_of(request))
    benchmark = await visible_benchmark(intake, name, who)
    require_change(benchmark, who)
    if benchmark.visibility is Visibility.PUBLIC:
        return benchmark_view(benchmark)
    await check_tasks(intake, benchmark.tasks, Viewer(admin=True), Visibility.PUBLIC)
    benchmark = benchmark.model_copy(update={"visibility": Visibility.PUBLIC})
    await intake.store.replace_custom_benchmark(benchmark)
    await changed(intake)
    return benchmark_view(benchmark)


@router.delete(
    "/v1/benchmarks/{name}",
    response_model=BenchmarkDeletion,
    responses=error_responses(Code.UNAUTHORIZED, Code.FORBIDDEN, Code.BENCHMARK_NOT_FOUND),
    summary="Delete a custom benchmark and its table (owner or admin); its tasks stay",
)
async def delete_benchmark(name: str, request: Request) -> BenchmarkDeletion:
    intake = intake_of(request)
    who = Viewer.of(await key_of(request))
    benchmark = await visible_benchmark(intake, name, who)
    require_change(benchmark, who)
    await intake.store.delete_custom_benchmark(name)
    await intake.store.delete_leaderboard(benchmark_leaderboard_id(name))
    await changed(intake)
    return BenchmarkDeletion(benchmark=name)
