"""Duplicates: one live evaluation per `(model, sha, task)`, safe against concurrent submissions.

A claim document per key (unique `_id`) says which submission evaluates it. The insert that
creates it decides a race; a claim whose task failed or was cancelled is stale and is taken over
with a compare-and-set on its holder.
"""

from __future__ import annotations

from datetime import timedelta

from shared.documents import SubmissionDoc, TaskClaimDoc, task_claim_id
from shared.events import TaskState, utcnow
from shared.store import Store

IMPORTED = "result:"
"""The holder of a task an imported result covers (no submission): `result:<result id>`."""
UNSTORED_GRACE = timedelta(minutes=5)
"""A claim whose submission is not stored yet is live this long (it is being accepted)."""


def task_is_live(submission: SubmissionDoc, task: str) -> bool:
    """Whether `submission` still evaluates, or has evaluated, `task`."""
    progress = submission.task(task)
    if progress is None:
        return False
    if progress.state == TaskState.DONE:
        return True
    return (
        progress.state in (TaskState.QUEUED, TaskState.RUNNING) and not submission.status.terminal
    )


def claimed_task(key: str) -> str:
    """The task a claim key names: a custom task's key is `<task>@<data revision>`."""
    return key.partition("@")[0]


async def claim_is_live(store: Store, claim: TaskClaimDoc, task: str) -> bool:
    submission = await store.get_submission(claim.submission_id)
    if submission is None:
        return utcnow() - claim.claimed_at < UNSTORED_GRACE
    return task_is_live(submission, claimed_task(task))


async def holders(store: Store, model: str, sha: str, tasks: list[str]) -> dict[str, str]:
    """The tasks already queued, running or done for `model@sha`, each with its submission."""
    found: dict[str, str] = {}
    claims = await store.get_claims([task_claim_id(model, sha, task) for task in tasks])
    by_id = {claim.id: claim for claim in claims}
    for task in tasks:
        claim = by_id.get(task_claim_id(model, sha, task))
        if claim is not None and await claim_is_live(store, claim, task):
            found[task] = claim.submission_id
        elif (result := await store.find_result(model, sha, task)) is not None:
            found[task] = result.submission_id or f"{IMPORTED}{result.id}"
    return found


async def claim(
    store: Store, model: str, sha: str, tasks: list[str], submission_id: str
) -> tuple[list[str], dict[str, str]]:
    """Claim `tasks` for `submission_id`: the tasks won, and the others with their holder."""
    won: list[str] = []
    taken: dict[str, str] = {}
    for task in tasks:
        wanted = TaskClaimDoc(_id=task_claim_id(model, sha, task), submission_id=submission_id)
        held = await store.claim_task(wanted)
        if held.submission_id == submission_id:
            won.append(task)
        elif await claim_is_live(store, held, task):
            taken[task] = held.submission_id
        elif await store.take_over_claim(held.id, held.submission_id, submission_id):
            won.append(task)
        else:  # another submission took it over first
            current = await store.get_claims([held.id])
            taken[task] = current[0].submission_id if current else held.submission_id
    return won, taken


async def release(store: Store, model: str, sha: str, tasks: list[str], submission_id: str) -> None:
    """Give up the claims `submission_id` holds on `tasks` (its acceptance failed)."""
    await store.release_claims([task_claim_id(model, sha, task) for task in tasks], submission_id)
