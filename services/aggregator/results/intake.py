"""Stored results made from mteb TaskResults: one path for live results and imported files."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import zlib
from datetime import datetime
from typing import Any, Literal

from mteb.abstasks import AbsTask
from mteb.results import TaskResult

from shared.documents import ResultDoc, result_id
from shared.events import Envelope, utcnow
from shared.summary.rows import (
    InvalidTaskResultError,
    result_row_from_task_result,
    task_main_score,
)
from shared.summary.tasks import UnknownTaskError, task_named

UNKNOWN_MTEB_VERSION = "unknown"


class InvalidResultError(ValueError):
    """A TaskResult that cannot be stored: unknown task, or scores that are not scores."""


def known_task(name: str) -> AbsTask:
    """The task `name` of mteb's registry, or a custom task of the catalogue."""
    try:
        return task_named(name)
    except UnknownTaskError:
        raise InvalidResultError(f"unknown task {name!r}") from None


def disk_json(task_result: TaskResult) -> str:
    """The TaskResult as `TaskResult.to_disk` serializes it, before its rounding (NaN kept)."""
    data = task_result.model_dump()
    data["date"] = task_result.date.timestamp() if task_result.date else None
    return json.dumps(data)


def packed(text: str) -> str:
    """`text` zlib-compressed and base64-encoded (a fifth of the size of a TaskResult's JSON)."""
    return base64.b64encode(zlib.compress(text.encode(), 1)).decode("ascii")


def unpacked(text: str) -> str:
    return zlib.decompress(base64.b64decode(text)).decode()


def content_digest(result: ResultDoc) -> str:
    """A hash of everything a result says (not when it was stored or evaluated)."""
    fields = {"digest", "stored_us", "evaluated_at", "task_result_z"}
    content = hashlib.sha256(result.model_dump_json(exclude=fields).encode())
    content.update(hashlib.sha256(result.task_result_z.encode()).digest())
    return content.hexdigest()


def result_doc(
    task_result: TaskResult,
    model: str,
    revision: str,
    *,
    source: Literal["evaluator", "import"],
    evaluated_at: datetime | None = None,
    submission_id: str | None = None,
    envelope: Envelope | None = None,
    source_json: str | None = None,
    source_file: str | None = None,
    source_sha: str | None = None,
    source_commit: str | None = None,
) -> ResultDoc:
    """The stored form of one TaskResult of `model` at `revision`.

    `evaluated_at` defaults to the TaskResult's own date, else now (most public files have none).
    `source_json` is the file `task_result` was validated from as is, kept instead of a re-dump;
    `source_file` and `source_sha` name an imported file and the SHA-256 of its bytes,
    `source_commit` the git commit of the checkout it was read from.
    """
    task = known_task(task_result.task_name)
    try:
        row = result_row_from_task_result(task_result, model, revision)
    except InvalidTaskResultError as error:
        raise InvalidResultError(str(error)) from None
    kept = {
        split: {subset: value for subset, value in by_subset.items() if not math.isnan(value)}
        for split, by_subset in row.scores.items()
    }
    version = task_result.mteb_version
    result = ResultDoc(
        _id=result_id(model, revision, task_result.task_name, version or UNKNOWN_MTEB_VERSION),
        model=model,
        revision=revision,
        task=task_result.task_name,
        main_score=task_main_score(kept, task),
        submission_id=submission_id,
        envelope=envelope,
        evaluated_at=evaluated_at or task_result.date or utcnow(),
        mteb_version=version,
        dataset_revision=task_result.dataset_revision,
        scores_json=json.dumps(kept),
        task_result_z=packed(source_json or disk_json(task_result)),
        source=source,
        source_file=source_file,
        source_sha=source_sha,
        source_commit=source_commit,
    )
    result.digest = content_digest(result)
    return result


def stored_task_json(result: ResultDoc) -> dict[str, Any]:
    """The TaskResult JSON a stored result was made from."""
    if result.task_result_z:
        data: dict[str, Any] = json.loads(unpacked(result.task_result_z))
        return data
    return result.task_result
