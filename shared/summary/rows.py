"""mteb TaskResults reduced to the ResultRows that tables are built from: the one reading of a
TaskResult, and the one task main score."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mteb.abstasks import AbsTask
from mteb.results import TaskResult
from packaging.version import Version
from pydantic import BaseModel, ConfigDict


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


class InvalidTaskResultError(ValueError):
    """A TaskResult (object or JSON) that cannot be reduced to a ResultRow."""


def task_result_from_json(data: Mapping[str, Any]) -> TaskResult:
    """A TaskResult from its JSON, read exactly as mteb's `TaskResult.from_disk` reads a file.

    Files written before mteb 1.11.0 are converted, and pair-classification scores of files
    before 1.12.48 fixed, by mteb's own code, so old results score as on mteb's leaderboard.
    """
    raw = dict(data)
    min_version = TaskResult._parse_mteb_version_min(raw.get("mteb_version"))
    historic = "mteb_version" not in raw or (
        min_version is not None and min_version < Version("1.11.0")
    )
    try:
        try:
            result = TaskResult.model_validate(raw)
        except ValueError:
            if not historic:
                raise
            result = TaskResult._convert_from_before_v1_11_0(raw)
        if min_version is not None and min_version < Version("1.12.48"):
            TaskResult._fix_pair_classification_scores(result)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise InvalidTaskResultError(f"not an mteb TaskResult: {error}") from error
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
        task_result = task_result_from_json(task_result)
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
