"""Model × task score matrices of a benchmark, following mteb 2.26's summary table rules.

A matrix is assembled from one `TaskColumn` per task, so that a column is computed once per
change of its task's results and shared by every benchmark and custom subset that reads the
task with the same (split, subset) cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
from mteb.abstasks.abstask import AbsTask

from services.aggregator.borda import average_ranks
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

    @cached_property
    def single_cell(self) -> tuple[str, str] | None:
        """The (split, subset) when the benchmark reads one cell of the task (most tasks)."""
        if len(self.splits) == 1 and len(self.subsets) == 1:
            return next(iter(self.splits)), next(iter(self.subsets))
        return None

    @cached_property
    def single_cell_observed(self) -> frozenset[tuple[str, str]]:
        return frozenset([self.single_cell]) if self.single_cell is not None else frozenset()


class Interner:
    """Small stable integers for names, so columns computed apart refer to the same rows."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def __call__(self, name: str) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.names)
            self.names.append(name)
        return found


@dataclass(frozen=True)
class TaskColumn:
    """One task's kept results (one per model) reduced to the sums its matrix column needs."""

    task: TaskCells
    model_ids: np.ndarray
    """Every model with a kept result on the task, scored cells or not (`Interner` ids)."""
    revision_ids: np.ndarray
    """The revision of each model's kept result (`Interner` ids)."""
    sums: np.ndarray
    """Per model, the (Kahan) sum of its scored cells."""
    counts: np.ndarray
    """Per model, how many cells it scored."""
    required: int
    """Distinct splits × distinct subsets scored by any model (mteb's `_incomplete_task_pairs`)."""
    partition_ranks: np.ndarray
    """(models, partitions) `borda.average_ranks` of the models' partial means: one partition,
    the task, or one per subset for subset-weighted benchmarks."""


class RowCells(NamedTuple):
    """What one kept result contributes to its task's column."""

    total: float
    """The (Kahan) sum of its scored cells, in the result's own split and subset order."""
    scored: int
    """How many cells it scored."""
    observed: frozenset[tuple[str, str]]
    """Its scored (split, subset) cells."""
    by_subset: dict[str, list[float]]
    """Its scored values per subset (kept for subset-weighted benchmarks only)."""


_NONE_SCORED = RowCells(0.0, 0, frozenset(), {})


def row_cells(task: TaskCells, row: ResultRow, partition_by_subset: bool) -> RowCells:
    """The benchmark's cells of `task` that `row` scores."""
    if task.single_cell is not None and not partition_by_subset:
        split, subset = task.single_cell
        value = row.scores.get(split, {}).get(subset)
        if value is None or value != value:
            return _NONE_SCORED
        return RowCells(value, 1, task.single_cell_observed, {})
    values: list[float] = []
    observed: set[tuple[str, str]] = set()
    subset_values: dict[str, list[float]] = {}
    for split, by_subset in row.scores.items():
        if split not in task.splits:
            continue
        wanted = task.subsets if len(task.subsets) == 1 else by_subset  # keep the order
        for subset in wanted:
            value = by_subset.get(subset)
            if value is None or value != value or subset not in task.subsets:
                continue  # absent, NaN (missing) or outside the benchmark
            observed.add((split, subset))
            values.append(value)
            if partition_by_subset:
                subset_values.setdefault(subset, []).append(value)
    total = values[0] if len(values) == 1 else kahan_sum(values)
    return RowCells(total, len(values), frozenset(observed), subset_values)


RowCellsMemo = dict[int, tuple[ResultRow, RowCells, int, int]]
"""`row_cells` and the row's model and revision ids, by the id of the row object (kept alive
with them, so that ids are not reused)."""


def task_column(
    task: TaskCells,
    kept: Iterable[ResultRow],
    partition_by_subset: bool,
    models: Interner,
    revisions: Interner,
    memo: RowCellsMemo | None = None,
) -> TaskColumn:
    """The column of `task` from its kept results (`revision_join`), in their order.

    Several cells are summed as polars sums mteb's frame (Kahan summation, in the result's own
    split and subset order), so that equal and near-equal scores tie or not exactly as in mteb.
    With `memo` (the same task, benchmark weighting, interners and memo each time), rows met
    before are taken from it; it is left holding those of `kept` only.
    """
    known = memo.copy() if memo is not None else {}
    if memo is not None:
        memo.clear()
    entries = []
    for row in kept:
        entry = known.get(id(row))
        if entry is None or entry[0] is not row:
            cells = row_cells(task, row, partition_by_subset)
            entry = (row, cells, models(row.model), revisions(row.revision))
        if memo is not None:
            memo[id(row)] = entry
        entries.append(entry)
    contributions = [entry[1] for entry in entries]
    model_ids = [entry[2] for entry in entries]
    revision_ids = [entry[3] for entry in entries]
    observed = set().union(*(cells.observed for cells in contributions))
    required = len({split for split, _ in observed}) * len({subset for _, subset in observed})
    column_sums = np.asarray([cells.total for cells in contributions], dtype=np.float64)
    column_counts = np.asarray([cells.scored for cells in contributions], dtype=np.float64)
    if partition_by_subset:
        subsets = list(dict.fromkeys(s for cells in contributions for s in cells.by_subset))
        partition_sums = np.zeros((len(model_ids), len(subsets)))
        partition_counts = np.zeros((len(model_ids), len(subsets)))
        for m, cells in enumerate(contributions):
            for subset, cell_values in cells.by_subset.items():
                p = subsets.index(subset)
                partition_sums[m, p] = kahan_sum(cell_values)
                partition_counts[m, p] = len(cell_values)
    else:
        partition_sums, partition_counts = column_sums[:, None], column_counts[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        partial_means = partition_sums / partition_counts  # NaN without a scored cell
    return TaskColumn(
        task=task,
        model_ids=np.asarray(model_ids, dtype=np.int64),
        revision_ids=np.asarray(revision_ids, dtype=np.int64),
        sums=column_sums,
        counts=column_counts,
        required=required,
        partition_ranks=average_ranks(partial_means),
    )


@dataclass(frozen=True)
class ScoreMatrix:
    """Scores of every model with a result on a benchmark task ("the frame").

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


def assemble(
    columns: Sequence[TaskColumn],
    models: Interner,
    revisions: Interner,
) -> ScoreMatrix:
    """The matrix of `columns` (in their order; those without any result dropped)."""
    columns = [column for column in columns if len(column.model_ids)]
    if not columns:
        empty = np.zeros((0, 0))
        return ScoreMatrix([], [], empty, empty, np.zeros(0, np.int64), [])
    model_ids = np.concatenate([column.model_ids for column in columns])
    present = np.zeros(int(model_ids.max()) + 1, dtype=bool)
    present[model_ids] = True  # `Interner` ids are small: no sort needed
    ids = np.flatnonzero(present)
    rows = (np.cumsum(present) - 1)[model_ids]
    sizes = [len(column.model_ids) for column in columns]
    cells = rows * len(columns) + np.repeat(np.arange(len(columns)), sizes)
    shape = (len(ids), len(columns))
    sums, counts = np.zeros(shape), np.zeros(shape)
    revision_ids = np.full(shape, -1, dtype=np.int64)
    sums.flat[cells] = np.concatenate([column.sums for column in columns])
    counts.flat[cells] = np.concatenate([column.counts for column in columns])
    revision_ids.flat[cells] = np.concatenate([column.revision_ids for column in columns])
    required = np.asarray([column.required for column in columns], dtype=np.float64)
    widths = [column.partition_ranks.shape[1] for column in columns]
    partition_task = np.repeat(np.arange(len(columns)), widths)
    partial_ranks = np.full((len(ids), len(partition_task)), np.nan)
    if all(width == 1 for width in widths):  # a partition per task
        partial_ranks.flat[cells] = np.concatenate([c.partition_ranks[:, 0] for c in columns])
    else:
        first = np.cumsum([0, *widths[:-1]])
        for t, column in enumerate(columns):
            mine = rows[sum(sizes[:t]) : sum(sizes[: t + 1])]
            partial_ranks[mine, first[t] : first[t] + widths[t]] = column.partition_ranks
    complete = (counts > 0) & (counts >= required)
    with np.errstate(invalid="ignore", divide="ignore"):
        task_scores = np.where(complete, sums / counts, np.nan)
    return ScoreMatrix(
        models=[models.names[i] for i in ids.tolist()],
        tasks=[column.task for column in columns],
        task_scores=task_scores,
        partial_ranks=partial_ranks,
        partition_task=partition_task,
        revisions=_main_revisions(revision_ids, revisions),
    )


def _main_revisions(revision_ids: np.ndarray, revisions: Interner) -> list[str]:
    """Each row's most common revision id (absent: −1), as a name; on a tie, the one met first
    along the row (as `Counter.most_common`)."""
    present = np.where(revision_ids >= 0, revision_ids, np.iinfo(np.int64).max)
    lowest = present.min(axis=1, initial=np.iinfo(np.int64).max)
    highest = revision_ids.max(axis=1, initial=-1)
    main = np.where(lowest == highest, lowest, -1)
    mixed = np.flatnonzero(lowest < highest)  # several revisions: a few rows
    if len(mixed):
        ids = revision_ids[mixed]
        occurrences = (ids[:, :, None] == ids[:, None, :]).sum(axis=2)
        occurrences[ids < 0] = 0
        main[mixed] = ids[np.arange(len(mixed)), occurrences.argmax(axis=1)]
    return [revisions.names[i] for i in main.tolist()]


def kahan_sum(values: Sequence[float]) -> float:
    """Compensated (Kahan) sum in the given order: polars' float sum in mteb's group means."""
    total, compensation = 0.0, 0.0
    for value in values:
        adjusted = value - compensation
        running = total + adjusted
        compensation = (running - total) - adjusted
        total = running
    return total
