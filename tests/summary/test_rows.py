"""Reading a TaskResult into a ResultRow, and the one task main score: the mean over the task's
own eval splits × hf_subsets, as mteb's leaderboard computes it."""

from __future__ import annotations

import math

import mteb
import pytest

from shared.summary.rows import ResultRow, result_row_from_task_result, task_main_score

TASK = mteb.get_task("STS17")  # one test split, many language subsets


def scores(values: dict[str, float]) -> dict[str, dict[str, float]]:
    return {"test": values}


def test_the_main_score_is_the_mean_over_every_split_and_subset() -> None:
    subsets = list(TASK.hf_subsets)
    values = {subset: (i + 1) / 100 for i, subset in enumerate(subsets)}
    assert len(subsets) > 5
    assert task_main_score(scores(values), TASK) == pytest.approx(
        sum(values.values()) / len(values)
    )


def test_a_missing_or_nan_subset_or_split_gives_none() -> None:
    values = {subset: 0.5 for subset in TASK.hf_subsets}
    first = next(iter(values))
    assert task_main_score(scores({k: v for k, v in values.items() if k != first}), TASK) is None
    assert task_main_score(scores(values | {first: math.nan}), TASK) is None
    assert task_main_score({"dev": values}, TASK) is None


def test_a_task_result_keeps_every_numeric_main_score_by_split_and_subset() -> None:
    data = {
        "dataset_revision": "x",
        "task_name": "BIOSSES",
        "mteb_version": "2.26.24",
        "evaluation_time": 1.0,
        "scores": {
            "test": [
                {"hf_subset": "default", "main_score": 0.8, "languages": ["eng-Latn"]},
                {"hf_subset": "other", "languages": ["eng-Latn"], "main_score": None},
            ]
        },
    }
    row = result_row_from_task_result(data, "org/model", "r1")
    assert row == ResultRow(
        model="org/model",
        revision="r1",
        task="BIOSSES",
        mteb_version="2.26.24",
        scores={"test": {"default": 0.8}},
    )
    assert task_main_score(row.scores, mteb.get_task("BIOSSES")) == 0.8
