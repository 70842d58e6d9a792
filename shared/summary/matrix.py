"""Model × task score matrices of a benchmark, following mteb 2.26's summary table rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
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
    cells = []
    for split, by_subset in row.scores.items():
        if split not in task.splits:
            continue
        for subset, value in by_subset.items():
            if subset in task.subsets and value == value:
                cells.append((split, subset, value))
    return cells


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


def score_matrix(
    tasks: Sequence[TaskCells],
    kept: Mapping[str, Sequence[ResultRow]],
    by_subset: bool,
) -> ScoreMatrix:
    """The matrix of `tasks` (those without any kept result dropped) from each task's kept
    results (one per model, `revisions.join_revisions`), Borda partitions by subset when
    `by_subset` (HUME)."""
    tasks = [task for task in tasks if kept.get(task.name)]
    models = list(dict.fromkeys(row.model for task in tasks for row in kept[task.name]))
    index = {model: m for m, model in enumerate(models)}
    task_scores = np.full((len(models), len(tasks)), np.nan)
    rank_columns: list[np.ndarray] = []
    partition_task: list[int] = []
    revisions: list[list[str]] = [[] for _ in models]
    for t, task in enumerate(tasks):
        rows = kept[task.name]
        cells = [scored_cells(task, row) for row in rows]
        observed = {(split, subset) for row_cells in cells for split, subset, _ in row_cells}
        required = len({s for s, _ in observed}) * len({s for _, s in observed})
        partitions = sorted({s for _, s in observed}) if by_subset else [None]
        partial_means = np.full((len(models), len(partitions)), np.nan)
        for row, row_cells in zip(rows, cells, strict=True):
            m = index[row.model]
            revisions[m].append(row.revision)
            if row_cells and len(row_cells) >= required:
                task_scores[m, t] = kahan_sum([v for *_, v in row_cells]) / len(row_cells)
            for p, partition in enumerate(partitions):
                values = [v for _, s, v in row_cells if partition in (None, s)]
                if values:
                    partial_means[m, p] = kahan_sum(values) / len(values)
        rank_columns.append(average_ranks(partial_means))
        partition_task += [t] * len(partitions)
    return ScoreMatrix(
        models=models,
        tasks=list(tasks),
        task_scores=task_scores,
        partial_ranks=np.hstack(rank_columns) if rank_columns else np.zeros((0, 0)),
        partition_task=np.asarray(partition_task, dtype=np.int64),
        revisions=[Counter(found).most_common(1)[0][0] for found in revisions],
    )
