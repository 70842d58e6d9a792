"""mteb TaskResults reduced to the ResultRows that tables are built from: the one reading of a
TaskResult, and the one task main score."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mteb.abstasks import AbsTask
from mteb.results import TaskResult
from packaging.version import Version
from pydantic import BaseModel, ConfigDict, ValidationError


class ResultRow(BaseModel):
    """One stored result reduced to what rankings need."""

    model_config = ConfigDict(frozen=True)

    model: str
    revision: str
    task: str
    mteb_version: str | None
    scores: dict[str, dict[str, float]]
    """split -> hf_subset -> main_score, from the TaskResult."""
    evaluated_here: bool = False
    """Computed by this installation's evaluators (not imported)."""
    stale: bool = False
    """Made by an older mteb or on another dataset revision than installed (`shared.staleness`)."""


class InvalidTaskResultError(ValueError):
    """A TaskResult (object or JSON) that cannot be reduced to a ResultRow."""


PAIR_SCORES_FIXED_IN = Version("1.12.48")
"""mteb's `from_disk` rewrites pair-classification scores of files older than this."""
HISTORIC_BEFORE = Version("1.11.0")
"""mteb's `from_disk` converts files of this format (or without `mteb_version`) that do not
validate as they are."""


def read_task_result(text: str) -> tuple[TaskResult, str | None]:
    """One result file's text, read as mteb's `TaskResult.from_disk` reads it (the same
    validation, old formats converted and old pair-classification scores fixed by mteb's own
    code), the text validated once; with it the text when mteb takes it as it is, None when mteb
    changes it."""
    try:
        result = TaskResult.model_validate_json(text)
    except ValidationError as invalid:
        return _converted(text, invalid), None
    version = TaskResult._parse_mteb_version_min(result.mteb_version)
    if version is not None and version < PAIR_SCORES_FIXED_IN:
        TaskResult._fix_pair_classification_scores(result)
        return result, None
    return result, text


def _converted(text: str, invalid: ValidationError) -> TaskResult:
    """`from_disk`'s fallback for a file that does not validate as it is: the pre-1.11 format
    (or no `mteb_version`) converted by mteb; else, or when that fails, `invalid` is raised."""
    try:
        data = json.loads(text)
        version = TaskResult._parse_mteb_version_min(data.get("mteb_version"))
        if "mteb_version" in data and (version is None or version >= HISTORIC_BEFORE):
            raise invalid
        result = TaskResult._convert_from_before_v1_11_0(data)
        if version is not None and version < PAIR_SCORES_FIXED_IN:
            TaskResult._fix_pair_classification_scores(result)
    except Exception:
        raise invalid from None
    return result


def result_row_from_task_result(
    task_result: TaskResult | Mapping[str, Any], model: str, revision: str
) -> ResultRow:
    """The ResultRow of one TaskResult (an mteb object or its JSON) of `model` at `revision`.

    Keeps every split and hf_subset with a `main_score`, as mteb's own table frame does (a
    benchmark keeps only its own splits and subsets later). A score item without `hf_subset`
    is mteb's "default" subset; a missing or null `main_score` is dropped, which mteb's table
    treats exactly like a missing (split, subset); NaN is kept and counts as missing too.
    """
    if not isinstance(task_result, TaskResult):
        try:
            task_result, _ = read_task_result(json.dumps(task_result))
        except (ValueError, TypeError) as error:
            raise InvalidTaskResultError(f"not an mteb TaskResult: {error}") from error
    scores: dict[str, dict[str, float]] = {}
    for split, items in task_result.scores.items():
        by_subset: dict[str, float] = {}
        for item in items:
            value = item.get("main_score")
            if isinstance(value, int | float) and not isinstance(value, bool):
                by_subset[str(item.get("hf_subset", "default"))] = float(value)
        scores[str(split)] = by_subset
    return ResultRow(
        model=model,
        revision=revision,
        task=task_result.task_name,
        mteb_version=task_result.mteb_version,
        scores=scores,
    )


def task_main_score(scores: Mapping[str, Mapping[str, float]], task: AbsTask) -> float | None:
    """The mean main score over the task's own eval splits × hf_subsets (`scores` as a
    ResultRow holds them); None when one is missing or NaN."""
    values = [
        scores.get(split, {}).get(subset)
        for split in task.metadata.eval_splits
        for subset in task.hf_subsets
    ]
    present = [value for value in values if value is not None and value == value]
    if not values or len(present) < len(values):
        return None
    return sum(present) / len(present)
