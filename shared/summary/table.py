"""A benchmark's summary table from results: mteb 2.26's table, plus intervals, ties and models
evaluated here that mteb's pool lacks.

The numbers are those of mteb 2.26's leaderboard for the same results: `ResultCache` load of
the registry's models → `BenchmarkResults._to_results_df(benchmark.tasks)` (per-task score
validation against the benchmark's task objects, then `join_revisions`) →
`Benchmark._create_summary_table` (`mteb/benchmarks/_create_table.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import mteb
import numpy as np
from mteb.models import ModelMeta
from pydantic import BaseModel, Field

from shared.summary.bootstrap import bootstrap, mean_intervals, tie_groups
from shared.summary.borda import min_ranks, points_of
from shared.summary.matrix import ScoreMatrix, TaskColumn, assemble, scored_cells, task_column
from shared.summary.models import everyone, in_official_pool, model_cells
from shared.summary.revisions import join_revisions
from shared.summary.rows import ResultRow
from shared.summary.tasks import (
    TaskCells,
    benchmark_tasks,
    is_custom_benchmark,
    partitions_by_subset,
)


class BenchmarkRow(BaseModel):
    """One model's row of a benchmark's summary table (raw, unrounded values)."""

    model: str
    revision: str
    """The revision that supplied most of the row's tasks (mteb joins revisions per task)."""
    rank_borda: int | None
    zero_shot: int
    """mteb's Zero-shot percentage; -1 when the model's training data is unknown."""
    n_parameters_b: float | None
    n_active_parameters_b: float | None
    embed_dim: int | None
    max_tokens: int | None
    mean_task: float | None
    mean_task_type: float | None
    type_means: dict[str, float | None]
    task_scores: dict[str, float | None]
    mean_task_ci: tuple[float, float] | None = None
    """95 % bootstrap interval of Mean (Task); None when a task score is missing."""
    rank_ci: tuple[int, int] | None = None
    """95 % bootstrap interval of Rank (Borda); None outside the official pool."""
    tie_group: int | None = None
    """Models sharing a tie group are not separable by rank (`bootstrap.tie_groups`)."""
    official: bool = True
    """In mteb's pool. A model outside it shows the rank it would take, and moves nobody's."""
    evaluated_here: bool = False
    """At least one of the row's results was computed by this installation."""
    stale_tasks: list[str] = Field(default_factory=list)
    """Tasks whose kept result is stale (`shared.staleness`): `leaderboard reevaluate --stale`."""


class BenchmarkTable(BaseModel):
    """A benchmark's (or custom task subset's) summary table."""

    benchmark: str
    tasks: list[str]
    task_types: list[str]
    rows: list[BenchmarkRow]
    bootstrap_resamples: int = 0
    seed: int | None = None


MetaLookup = Callable[[str], ModelMeta]
PoolTest = Callable[[str], bool]
"""Whether a model (by name) is in a benchmark's pool."""


def pool_of(benchmark: mteb.Benchmark) -> PoolTest:
    """`benchmark`'s pool: mteb's (its registry's models), or every model with results for a
    custom benchmark, which mteb has no pool of."""
    return everyone if is_custom_benchmark(benchmark.name) else in_official_pool


@dataclass(frozen=True)
class TaskPart:
    """One task's share of every table that reads it with the same cells: its kept results
    (one per model, `join_revisions`) and the official pool's column."""

    task: TaskCells
    pool: list[ResultRow]
    """The kept results of the official pool's models."""
    outside: dict[str, ResultRow]
    """The kept result of each model outside the pool with a result evaluated here."""
    column: TaskColumn | None
    """The pool's column; None without a result of the pool."""
    live: frozenset[str]
    """The pool's models whose kept result was evaluated here."""
    stale: frozenset[str] = frozenset()
    """The models (pool and outside) whose kept result is stale."""


def task_part(
    task: TaskCells,
    results: Iterable[ResultRow],
    meta_of: MetaLookup,
    by_subset: bool,
    is_official: Callable[[str], bool] = in_official_pool,
) -> TaskPart:
    """The part of `task` from its results (of any model and revision)."""
    rows = [row for row in results if row.task == task.name]
    official = {model for model in {row.model for row in rows} if is_official(model)}
    outside = {row.model for row in rows if row.evaluated_here} - official
    metas = {model: meta_of(model) for model in official | outside}
    kept = join_revisions(rows, metas, frozenset({task.name}))
    pool = [row for (model, _), row in kept.items() if model in official]
    return TaskPart(
        task=task,
        pool=pool,
        outside={model: row for (model, _), row in kept.items() if model in outside},
        column=task_column(task, pool, by_subset) if pool else None,
        live=frozenset(row.model for row in pool if row.evaluated_here),
        stale=frozenset(model for (model, _), row in kept.items() if row.stale),
    )


def narrowed_part(
    part: TaskPart, keeps: Callable[[str], bool], cells: TaskCells, by_subset: bool
) -> TaskPart:
    """`part` for a narrower pool (the models `keeps`) and `cells`, as a frame holding only
    their rows: the kept results stay, the column is recomputed; None without a scored cell."""
    pool = [row for row in part.pool if keeps(row.model)]
    column = task_column(cells, pool, by_subset) if pool else None
    if column is not None and not any(scored_cells(cells, row) for row in pool):
        column = None
    return TaskPart(
        task=cells,
        pool=pool,
        outside={model: row for model, row in part.outside.items() if keeps(model)},
        column=column,
        live=frozenset(row.model for row in pool if row.evaluated_here),
    )


def summarize(
    benchmark: mteb.Benchmark,
    results: Iterable[ResultRow],
    meta_of: MetaLookup,
    tasks: Sequence[str] | None = None,
    bootstrap_resamples: int = 1000,
    seed: int = 0,
    is_official: PoolTest | None = None,
) -> BenchmarkTable:
    """The summary table of `benchmark` (or of its `tasks` subset) over `results`.

    The official pool is mteb's: models of its registry (`is_official`, by default
    `pool_of(benchmark)`: `models.in_official_pool`, or every model for a custom benchmark).
    Their rows, values and ranks are mteb's: per model and task one result (`join_revisions`),
    a task score the mean of the benchmark's (split, subset) cells (`matrix`), Mean (Task),
    Mean (TaskType) and the type means null when a task is, Rank (Borda) over tasks (or
    (task, subset) pairs for subset-weighted benchmarks) among every model with a result (one
    without any complete task gets no row but still takes part, as in mteb). Tasks without any
    result are no columns. A model outside the pool with a result evaluated here gets the row
    it would have in the pool, computed with it alone added, and moves nobody; other models
    outside it are left out, as mteb leaves them out. With `bootstrap_resamples` > 0, rows
    carry intervals (and official rows tie groups), reproducible for a given `seed`. Rows are
    ordered by rank, official first, then by name.
    Raises ValueError for names that are not tasks of it.
    """
    cells = benchmark_tasks(benchmark, tasks)
    by_subset = partitions_by_subset(benchmark)
    by_task: defaultdict[str, list[ResultRow]] = defaultdict(list)
    for row in results:
        by_task[row.task].append(row)
    pool = is_official or pool_of(benchmark)
    parts = [task_part(task, by_task[task.name], meta_of, by_subset, pool) for task in cells]
    return summary_table(benchmark.name, parts, meta_of, by_subset, bootstrap_resamples, seed)


def summary_table(
    benchmark: str,
    parts: Sequence[TaskPart],
    meta_of: MetaLookup,
    by_subset: bool,
    bootstrap_resamples: int = 1000,
    seed: int = 0,
) -> BenchmarkTable:
    """The summary table of a benchmark's task parts (`summarize`, which makes them)."""
    columns = {part.task.name: part.column for part in parts if part.column is not None}
    matrix = assemble(list(columns.values()))
    live = set().union(*(part.live for part in parts))
    rows = _rows(matrix, meta_of, live, bootstrap_resamples, seed)
    shown = set(columns)
    for model in sorted({model for part in parts for model in part.outside}):
        with_it = [  # its own tasks' columns recomputed with it: others' stay
            task_column(part.task, [*part.pool, part.outside[model]], by_subset)
            if model in part.outside
            else part.column
            for part in parts
        ]
        matrix_with_it = assemble([column for column in with_it if column is not None])
        rows += _rows(matrix_with_it, meta_of, {model}, bootstrap_resamples, seed, only=model)
        shown |= {part.task.name for part in parts if model in part.outside}
    shown_tasks = [part.task for part in parts if part.task.name in shown]
    names = [task.name for task in shown_tasks]
    if names != list(columns):  # outside models brought tasks of their own
        for row in rows:
            row.task_scores = {name: row.task_scores.get(name) for name in names}
    stale = {(model, part.task.name) for part in parts for model in part.stale}
    for row in rows:
        row.stale_tasks = [name for name in names if (row.model, name) in stale]
    rows.sort(key=lambda row: (row.rank_borda or 0, not row.official, row.model))
    return BenchmarkTable(
        benchmark=benchmark,
        tasks=names,
        task_types=list(dict.fromkeys(task.task_type for task in shown_tasks)),
        rows=rows,
        bootstrap_resamples=bootstrap_resamples,
        seed=seed if bootstrap_resamples > 0 else None,
    )


def _rows(
    matrix: ScoreMatrix,
    meta_of: MetaLookup,
    live: set[str],
    resamples: int,
    seed: int,
    only: str | None = None,
) -> list[BenchmarkRow]:
    """The ranked rows of the matrix's summary table, by rank then name; with `only`, that
    model's row alone, outside the official pool: its Mean (Task) interval (its own scores'),
    no rank interval or tie group (they would need a bootstrap of a pool of its own)."""
    if not matrix.tasks:
        return []
    in_table = matrix.in_table
    points = points_of(matrix.partial_ranks, int(in_table.sum()))
    task_points = np.zeros(matrix.task_scores.shape)
    np.add.at(task_points.T, matrix.partition_task, points.T)
    ranks = min_ranks(task_points.sum(axis=1))
    names = matrix.models
    shown = sorted(np.flatnonzero(in_table).tolist(), key=lambda m: (ranks[m], names[m]))
    scores = matrix.task_scores
    task_names = [task.name for task in matrix.tasks]
    types = list(dict.fromkeys(task.task_type for task in matrix.tasks))
    type_of = np.asarray([types.index(task.task_type) for task in matrix.tasks])
    type_means = np.stack([scores[:, type_of == t].mean(axis=1) for t in range(len(types))], 1)
    mean_task, mean_task_type = scores.mean(axis=1), type_means.mean(axis=1)
    mean_ci = rank_ci = np.full((len(names), 2), np.nan)
    groups = np.zeros(len(names), dtype=np.int64)
    if only is not None:
        shown = [names.index(only)] if only in names and in_table[names.index(only)] else []
        if resamples > 0 and shown:
            mean_ci = np.full((len(names), 2), np.nan)
            mean_ci[shown] = mean_intervals(scores[shown], resamples, seed)
    elif resamples > 0:
        uncertain = bootstrap(scores, task_points, resamples, seed)
        mean_ci, rank_ci = uncertain.mean_task_ci, uncertain.rank_ci
        groups[shown] = tie_groups(ranks[shown], rank_ci[shown])
    task_set = frozenset(task_names)
    values = _nullable(np.column_stack([mean_task, mean_task_type, type_means, scores])[shown])
    rows = []
    for m, (mean, mean_of_types, *by_type_then_task) in zip(shown, values, strict=True):
        name = names[m]
        zero_shot, total, active, dims, tokens = model_cells(meta_of(name), task_set)
        rows.append(
            BenchmarkRow(
                model=name,
                revision=matrix.revisions[m],
                rank_borda=int(ranks[m]),
                zero_shot=zero_shot,
                n_parameters_b=total,
                n_active_parameters_b=active,
                embed_dim=dims,
                max_tokens=tokens,
                mean_task=mean,
                mean_task_type=mean_of_types,
                type_means=dict(zip(types, by_type_then_task[: len(types)], strict=True)),
                task_scores=dict(zip(task_names, by_type_then_task[len(types) :], strict=True)),
                mean_task_ci=_interval(mean_ci[m]),
                rank_ci=_rank_interval(rank_ci[m]),
                tie_group=int(groups[m]) if groups[m] else None,
                official=only is None,
                evaluated_here=name in live,
            )
        )
    return rows


def _nullable(values: np.ndarray) -> list[list[float | None]]:
    """Rows of Python floats, NaN as None."""
    cells = values.astype(object)
    cells[np.isnan(values)] = None
    rows: list[list[float | None]] = cells.tolist()
    return rows


def _rank_interval(bounds: np.ndarray) -> tuple[int, int] | None:
    low, high = bounds.tolist()
    return None if low != low else (int(low), int(high))


def _interval(bounds: np.ndarray) -> tuple[float, float] | None:
    low, high = bounds.tolist()
    return None if low != low else (low, high)
