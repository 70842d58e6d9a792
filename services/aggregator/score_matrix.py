"""Model × task score matrices of a benchmark, following mteb 2.26's summary table rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from mteb.abstasks.abstask import AbsTask

from shared.tables import ResultRow


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
    """The score matrix of the joined results on `tasks` (tasks without any result dropped).

    Several cells are summed as polars sums mteb's frame (Kahan summation, in the result's own
    split and subset order), so that equal and near-equal scores tie or not exactly as in mteb.
    """
    n_all = len(tasks)
    position = {task.name: index for index, task in enumerate(tasks)}
    model_index: dict[str, int] = {}
    subset_index: dict[tuple[int, str], int] = {}
    task_cell: list[tuple[int, float, int]] = []  # (model × n_all + task, sum, cells)
    subset_cell: list[tuple[int, int, float, int]] = []  # (model, (task, subset), sum, cells)
    observed: set[tuple[int, str, str]] = set()
    with_result = [False] * n_all
    for (model, task_name), row in joined.items():
        t = position[task_name]
        cells = tasks[t]
        m = model_index.setdefault(model, len(model_index))
        with_result[t] = True
        values: list[float] = []
        by_subset_values: dict[str, list[float]] = {}
        for split, by_subset in row.scores.items():
            if split not in cells.splits:
                continue
            wanted = cells.subsets if len(cells.subsets) == 1 else by_subset  # keep the order
            for subset in wanted:
                value = by_subset.get(subset)
                if value is None or value != value or subset not in cells.subsets:
                    continue  # absent, NaN (missing) or outside the benchmark
                observed.add((t, split, subset))
                values.append(value)
                if partition_by_subset:
                    by_subset_values.setdefault(subset, []).append(value)
        if values:
            total = values[0] if len(values) == 1 else kahan_sum(values)
            task_cell.append((m * n_all + t, total, len(values)))
        for subset, subset_values in by_subset_values.items():
            p = subset_index.setdefault((t, subset), len(subset_index))
            subset_cell.append((m, p, kahan_sum(subset_values), len(subset_values)))
    has_result = np.asarray(with_result, dtype=bool)
    kept = np.flatnonzero(has_result)
    renumbered = np.full(n_all, -1, dtype=np.int64)
    renumbered[kept] = np.arange(len(kept))
    n_models, n_tasks = len(model_index), len(kept)
    keys = np.asarray([key for key, _, _ in task_cell], dtype=np.int64)
    task_sums = _spread(
        (keys // n_all) * n_tasks + renumbered[keys % n_all], task_cell, (n_models, n_tasks)
    )
    sums, counts = task_sums
    required = _cells_required(observed, n_all)[kept]
    complete = (counts > 0) & (counts >= required)
    if partition_by_subset:
        partition_task = np.empty(len(subset_index), dtype=np.int64)
        for (t, _), p in subset_index.items():
            partition_task[p] = renumbered[t]
        shape = (n_models, len(subset_index))
        flat = np.asarray([m * shape[1] + p for m, p, _, _ in subset_cell], dtype=np.int64)
        part_sums, part_counts = _spread(flat, [c[1:] for c in subset_cell], shape)
    else:
        partition_task, part_sums, part_counts = np.arange(n_tasks), sums, counts
    with np.errstate(invalid="ignore", divide="ignore"):
        task_scores = np.where(complete, sums / counts, np.nan)
        partial_means = part_sums / part_counts
    return ScoreMatrix(
        models=list(model_index),
        tasks=[tasks[t] for t in kept.tolist()],
        task_scores=task_scores,
        partial_means=partial_means,
        partition_task=partition_task,
    )


def kahan_sum(values: Sequence[float]) -> float:
    """Compensated (Kahan) sum in the given order: polars' float sum in mteb's group means."""
    total, compensation = 0.0, 0.0
    for value in values:
        adjusted = value - compensation
        running = total + adjusted
        compensation = (running - total) - adjusted
        total = running
    return total


def _spread(
    flat_index: np.ndarray, cells: Sequence[tuple[object, float, int]], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(sums, counts) matrices of `shape` with each cell's sum and count at its flat index."""
    sums, counts = np.zeros(shape), np.zeros(shape)
    sums.flat[flat_index] = [total for _, total, _ in cells]
    counts.flat[flat_index] = [count for _, _, count in cells]
    return sums, counts


def _cells_required(observed: set[tuple[int, str, str]], n_tasks: int) -> np.ndarray:
    """Per task, the distinct splits × distinct subsets scored by any model of the pool."""
    splits, subsets = np.zeros(n_tasks), np.zeros(n_tasks)
    for t, _ in {(t, split) for t, split, _ in observed}:
        splits[t] += 1
    for t, _ in {(t, subset) for t, _, subset in observed}:
        subsets[t] += 1
    return splits * subsets
