"""Model × task score matrices of a benchmark, following mteb 2.26's summary table rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.summary.borda import average_ranks
from shared.summary.rows import ResultRow
from shared.summary.tasks import TaskCells


@dataclass(frozen=True)
class ScoreMatrix:
    """Scores of every model with a kept result on a benchmark task ("the frame").

    `task_scores[m, t]` is mteb's task score: the mean of the model's scored cells of task t,
    NaN (null) when the model lacks a cell that some model of the pool has. A task is
    "required" to have n_subsets × n_splits cells, counted over the whole pool's scored cells
    (mteb's `_incomplete_task_pairs`), not over the task's metadata.
    `partial_ranks[m, p]` is the model's `borda.average_ranks` rank in Borda partition p (a
    task, or a (task, subset) pair for subset-weighted benchmarks) by the plain mean of its
    scored cells there, NaN when it has none: mteb's Borda count ranks these partial means,
    complete or not.
    """

    models: list[str]
    tasks: list[TaskCells]
    task_scores: np.ndarray
    partial_ranks: np.ndarray
    partition_task: np.ndarray
    """The task index of each Borda partition."""
    revisions: list[str]
    """Per model, the revision most of its tasks' results come from (the first on a tie)."""

    @property
    def in_table(self) -> np.ndarray:
        """Models with at least one task score: the rows of mteb's summary table."""
        return np.asarray(~np.isnan(self.task_scores).all(axis=1))


def scored_cells(task: TaskCells, row: ResultRow) -> list[tuple[str, str, float]]:
    """The benchmark's (split, subset) cells of `task` that `row` scores, in the result's own
    split and subset order (absent and NaN cells left out)."""
    if len(task.splits) == 1 and len(task.subsets) == 1:  # most tasks: one cell to look up
        [split], [subset] = task.splits, task.subsets
        value = row.scores.get(split, {}).get(subset)
        return [] if value is None or value != value else [(split, subset, value)]
    return [
        (split, subset, value)
        for split, by_subset in row.scores.items()
        if split in task.splits
        for subset, value in by_subset.items()
        if subset in task.subsets and value == value
    ]


def kahan_sum(values: Sequence[float]) -> float:
    """Compensated (Kahan) sum in the given order: polars' float sum in mteb's group means, so
    that equal and near-equal scores tie or not exactly as in mteb."""
    total, compensation = 0.0, 0.0
    for value in values:
        adjusted = value - compensation
        running = total + adjusted
        compensation = (running - total) - adjusted
        total = running
    return total


@dataclass(frozen=True)
class TaskColumn:
    """One task's kept results (one per model) reduced to its matrix column."""

    task: TaskCells
    models: list[str]
    revisions: list[str]
    scores: np.ndarray
    """Per model, mteb's task score (NaN when a cell that the column has is missing)."""
    partial_ranks: np.ndarray
    """(models, partitions): the model's `borda.average_ranks` rank by the mean of its scored
    cells in each Borda partition (the task, or each subset for subset-weighted benchmarks);
    NaN without one. A partition's ranks depend on its own column only."""


def task_column(task: TaskCells, rows: Sequence[ResultRow], by_subset: bool) -> TaskColumn:
    """The column of `task` from its kept results (`revisions.join_revisions`)."""
    cells = [scored_cells(task, row) for row in rows]
    observed = {(split, subset) for row_cells in cells for split, subset, _ in row_cells}
    required = len({s for s, _ in observed}) * len({s for _, s in observed})
    partitions = sorted({s for _, s in observed}) if by_subset else [None]
    scores = np.full(len(rows), np.nan)
    partial_means = np.full((len(rows), len(partitions)), np.nan)
    for m, row_cells in enumerate(cells):
        if row_cells and len(row_cells) >= required:
            scores[m] = kahan_sum([value for *_, value in row_cells]) / len(row_cells)
        for p, partition in enumerate(partitions):
            values = [value for _, subset, value in row_cells if partition in (None, subset)]
            if values:
                partial_means[m, p] = kahan_sum(values) / len(values)
    return TaskColumn(
        task=task,
        models=[row.model for row in rows],
        revisions=[row.revision for row in rows],
        scores=scores,
        partial_ranks=average_ranks(partial_means),
    )


def assemble(columns: Sequence[TaskColumn]) -> ScoreMatrix:
    """The matrix of `columns`, in their order; a model's row holds NaN where it has none."""
    models = list(dict.fromkeys(model for column in columns for model in column.models))
    index = {model: m for m, model in enumerate(models)}
    task_scores = np.full((len(models), len(columns)), np.nan)
    rank_columns = []
    revisions: list[list[str]] = [[] for _ in models]
    for t, column in enumerate(columns):
        rows = np.asarray([index[model] for model in column.models], dtype=np.intp)
        task_scores[rows, t] = column.scores
        ranks = np.full((len(models), column.partial_ranks.shape[1]), np.nan)
        ranks[rows] = column.partial_ranks
        rank_columns.append(ranks)
        for m, revision in zip(rows.tolist(), column.revisions, strict=True):
            revisions[m].append(revision)
    widths = [ranks.shape[1] for ranks in rank_columns]
    return ScoreMatrix(
        models=models,
        tasks=[column.task for column in columns],
        task_scores=task_scores,
        partial_ranks=np.hstack(rank_columns) if rank_columns else np.zeros((0, 0)),
        partition_task=np.repeat(np.arange(len(columns)), widths).astype(np.int64),
        revisions=[Counter(found).most_common(1)[0][0] for found in revisions],
    )
