"""`leaderboard reevaluate`: stored results queued again as low-priority submissions.

One submission per model revision, its tasks' claims taken over from the submissions (or
imports) that made the old results, its jobs on the low-priority subject so that new
submissions go first. The new result is kept beside the old one (results are stored per mteb
major.minor) and replaces it in the tables, which prefer the newest mteb version.

A custom task is evaluated again on its current data: its jobs carry its current spec, its
claim is keyed by that revision (as intake keys it), and a private task makes the submission
private (its events on `lb.private.` subjects, its jobs `private`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass

import mteb

from services.submission.intake import claim_keys, publish_submission
from services.submission.operator import store_url
from shared.bus import Bus
from shared.custom_tasks import catalogue
from shared.custom_tasks.spec import TaskSpec
from shared.documents import (
    CustomTaskDoc,
    ModelFacts,
    ResultDoc,
    StatusChange,
    SubmissionDoc,
    SubmissionStatus,
    TaskClaimDoc,
    TaskProgress,
    task_claim_id,
)
from shared.events import Priority, TaskState, Visibility
from shared.settings import Settings, get_settings
from shared.staleness import stale_reason
from shared.store import RESULT_LISTING, Store

SUBMITTER = "reevaluate"
BUS_CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Wanted:
    """The tasks of one model revision to evaluate again."""

    model: str
    revision: str
    tasks: tuple[str, ...]


def is_stale(result: ResultDoc) -> bool:
    return stale_reason(result.task, result.mteb_version, result.dataset_revision) is not None


def choose(results: list[ResultDoc], stale_only: bool) -> list[Wanted]:
    """Per model revision, the tasks to evaluate again; with `stale_only`, those whose every
    stored result is stale (a current one needs nothing)."""
    by_key: dict[tuple[str, str, str], list[ResultDoc]] = defaultdict(list)
    for result in results:
        by_key[(result.model, result.revision, result.task)].append(result)
    tasks: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (model, revision, task), found in sorted(by_key.items()):
        if stale_only and not all(is_stale(result) for result in found):
            continue
        tasks[(model, revision)].append(task)
    return [Wanted(model, revision, tuple(names)) for (model, revision), names in tasks.items()]


async def stored_results(
    store: Store, model: str | None, tasks: list[str] | None
) -> list[ResultDoc]:
    query: dict[str, object] = {}
    if model is not None:
        query["model"] = model
    if tasks is not None:
        query["task"] = {"$in": tasks}
    cursor = store.results.find(query, RESULT_LISTING)
    return [ResultDoc.model_validate(doc) async for doc in cursor]


async def under_way(store: Store, claim: TaskClaimDoc, task: str) -> bool:
    """Whether the claim's submission is queued or running on `task` (nothing to add then)."""
    holder = await store.get_submission(claim.submission_id)
    progress = holder.task(task) if holder is not None else None
    return (
        holder is not None
        and progress is not None
        and not holder.status.terminal
        and progress.state in (TaskState.QUEUED, TaskState.RUNNING)
    )


async def claim(
    store: Store, wanted: Wanted, submission_id: str, custom: dict[str, TaskSpec]
) -> list[str]:
    """Take the tasks' claims for `submission_id`; those evaluated right now are left alone.
    A custom task's claim is keyed by its current revision, as intake keys it."""
    won = []
    for key, task in claim_keys(list(wanted.tasks), custom).items():
        claim_id = task_claim_id(wanted.model, wanted.revision, key)
        held = await store.claim_task(TaskClaimDoc(_id=claim_id, submission_id=submission_id))
        if held.submission_id == submission_id or (
            not await under_way(store, held, task)
            and await store.take_over_claim(claim_id, held.submission_id, submission_id)
        ):
            won.append(task)
    return won


async def known_facts(store: Store, model: str, revision: str) -> ModelFacts:
    """What the latest submission of `model@revision` learned about it, if any."""
    page, _ = await store.list_submissions({"model": model, "revision": revision}, 0, 1)
    return page[0].facts if page else ModelFacts()


async def queue(
    store: Store,
    bus: Bus,
    wanted: Wanted,
    benchmark: str | None,
    custom: dict[str, CustomTaskDoc] | None = None,
) -> SubmissionDoc | None:
    """A low-priority submission of `wanted`, stored and published; None if nothing was free.
    `custom`: the custom tasks by name, whose current specs their jobs carry."""
    custom = custom or {}
    specs = {task: custom[task].spec for task in wanted.tasks if task in custom}
    submission_id = uuid.uuid4().hex
    won = await claim(store, wanted, submission_id, specs)
    if not won:
        return None
    private = any(custom[task].visibility is Visibility.PRIVATE for task in won if task in custom)
    submission = SubmissionDoc(
        _id=submission_id,
        model=wanted.model,
        revision=wanted.revision,
        requested_revision=wanted.revision,
        benchmark=benchmark,
        priority=Priority.LOW,
        submitted_by=SUBMITTER,
        facts=await known_facts(store, wanted.model, wanted.revision),
        tasks=[TaskProgress(task=task) for task in won],
        history=[StatusChange(status=SubmissionStatus.ACCEPTED)],
        visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
    )
    await store.insert_submission(submission)
    await publish_submission(bus, submission, None, specs)
    return submission


def nats_url(settings: Settings) -> str:
    """The bus: the configured one, else the embedded server `leaderboard up` starts."""
    return settings.nats_url or f"nats://127.0.0.1:{settings.embedded_nats_port}"


async def reevaluate(args: argparse.Namespace) -> int:
    tasks = [name.strip() for name in args.tasks.split(",") if name.strip()] if args.tasks else None
    if args.benchmark is not None:
        try:
            of_benchmark = [task.metadata.name for task in mteb.get_benchmark(args.benchmark).tasks]
        except KeyError:
            print(f"no benchmark named {args.benchmark!r} in mteb", file=sys.stderr)
            return 2
        tasks = [name for name in of_benchmark if tasks is None or name in tasks]
    settings = get_settings()
    store = Store(store_url(settings), settings.mongodb_database)
    try:
        current = await catalogue.refresh(store)  # staleness compares custom tasks' revisions
        chosen = choose(await stored_results(store, args.model, tasks), args.stale)
        if args.dry_run or not chosen:
            for wanted in chosen:
                print(f"would queue  {wanted.model}@{wanted.revision}  {', '.join(wanted.tasks)}")
            print(f"{len(chosen)} model revision(s) to re-evaluate", file=sys.stderr)
            return 0
        bus = await asyncio.wait_for(
            Bus.connect(nats_url(settings), "reevaluate", **settings.nats_login("submission")),
            BUS_CONNECT_TIMEOUT_S,
        )
        try:
            queued = 0
            for wanted in chosen:
                submission = await queue(store, bus, wanted, args.benchmark, current.tasks)
                if submission is not None:
                    queued += 1
                    names = ", ".join(progress.task for progress in submission.tasks)
                    print(f"{submission.id}  {wanted.model}@{wanted.revision}  {names}")
        finally:
            await bus.close()
    finally:
        await store.close()
    print(f"queued {queued} low-priority submission(s)", file=sys.stderr)
    return 0
