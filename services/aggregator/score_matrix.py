"""Model × task score matrices of a benchmark, following mteb 2.26's summary table rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from mteb.abstasks.abstask import AbsTask

from services.aggregator.table_models import ResultRow


@dataclass(frozen=True)
class TaskCells:
    """The (split, subset) cells a benchmark reads of one task."""

    name: str
    task_type: str
    splits: frozenset[str]
    subsets: frozenset[str]

    @classmethod
    def of(cls, task: AbsTask) -> TaskCells:
        """The task object's own (possibly language-filtered) eval splits and hf_subsets.

        An aggregate task is read from its "default" subset only, as mteb's
        `TaskResult.validate_and_filter_scores` does.
        """
        subsets = {"default"} if task.is_aggregate else set(task.hf_subsets)
        return cls(
            name=task.metadata.name,
            task_type=task.metadata.type,
            splits=frozenset(task.eval_splits),
            subsets=frozenset(subsets),
        )


@dataclass(frozen=True)
class ScoreMatrix:
    """Scores of every model with a result on a benchmark task ("the frame").

    `task_scores[m, t]` is mteb's task score: the mean of the model's scored cells of task t,
    NaN (null) when the model lacks a cell that some model of the pool has. A task is
    "required" to have n_subsets × n_splits cells, counted over the whole pool's scored cells
    (mteb's `_incomplete_task_pairs`), not over the task's metadata.
    `partial_means[m, p]` is the plain mean of the model's scored cells in Borda partition p
    (a task, or a (task, subset) pair for subset-weighted benchmarks), NaN when it has none:
    mteb's Borda count ranks these partial means, complete or not.
    """

    models: list[str]
    tasks: list[TaskCells]
    task_scores: np.ndarray
    partial_means: np.ndarray
    partition_task: np.ndarray
    """The task index of each Borda partition."""

    @property
    def in_table(self) -> np.ndarray:
        """Models with at least one task score: the rows of mteb's summary table."""
        return np.asarray(~np.isnan(self.task_scores).all(axis=1))


def build_score_matrix(
    joined: Mapping[tuple[str, str], ResultRow],
    tasks: Sequence[TaskCells],
    partition_by_subset: bool,
) -> ScoreMatrix:
    """The score matrix of the joined results on `tasks` (tasks without any result dropped)."""
    position = {task.name: index for index, task in enumerate(tasks)}
    model_index: dict[str, int] = {}
    partition_index: dict[tuple[int, str], int] = {}
    cell_model: list[int] = []
    cell_task: list[int] = []
    cell_partition: list[int] = []
    cell_value: list[float] = []
    observed = [(set[str](), set[str]()) for _ in tasks]
    has_result = np.zeros(len(tasks), dtype=bool)
    for (model, task_name), row in joined.items():
        t = position[task_name]
        cells = tasks[t]
        m = model_index.setdefault(model, len(model_index))
        has_result[t] = True
        splits, subsets = observed[t]
        for split, by_subset in row.scores.items():
            if split not in cells.splits:
                continue
            found = cells.subsets.intersection(by_subset)
            for subset in found:
                value = by_subset[subset]
                if value != value:
                    continue  # NaN: missing
                splits.add(split)
                subsets.add(subset)
                cell_model.append(m)
                cell_task.append(t)
                key = (t, subset if partition_by_subset else "")
                cell_partition.append(partition_index.setdefault(key, len(partition_index)))
                cell_value.append(value)
    kept = np.flatnonzero(has_result)
    renumbered = np.full(len(tasks), -1, dtype=np.int64)
    renumbered[kept] = np.arange(len(kept))
    n_models, n_tasks, n_partitions = len(model_index), len(kept), len(partition_index)
    models = np.asarray(cell_model, dtype=np.int64)
    task_of_cell = renumbered[np.asarray(cell_task, dtype=np.int64)]
    partitions = np.asarray(cell_partition, dtype=np.int64)
    values = np.asarray(cell_value, dtype=np.float64)
    sums, counts = _sums_and_counts(models * n_tasks + task_of_cell, values, n_models * n_tasks)
    required = np.asarray([len(observed[t][0]) * len(observed[t][1]) for t in kept])
    counts = counts.reshape(n_models, n_tasks)
    complete = (counts > 0) & (counts >= required)
    part_sums, part_counts = _sums_and_counts(
        models * n_partitions + partitions, values, n_models * n_partitions
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        task_scores = np.where(complete, sums.reshape(n_models, n_tasks) / counts, np.nan)
        partial_means = (part_sums / part_counts).reshape(n_models, n_partitions)
    partition_task = np.empty(n_partitions, dtype=np.int64)
    for (t, _), p in partition_index.items():
        partition_task[p] = renumbered[t]
    return ScoreMatrix(
        models=list(model_index),
        tasks=[tasks[t] for t in kept.tolist()],
        task_scores=task_scores,
        partial_means=partial_means,
        partition_task=partition_task,
    )


def _sums_and_counts(
    bins: np.ndarray, values: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    return np.bincount(bins, values, size), np.bincount(bins, None, size)
