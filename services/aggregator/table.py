"""mteb-exact benchmark summary tables, computed with numpy from ResultRows.

The numbers are those of mteb 2.26's leaderboard for the same results and model pool:
`ResultCache` load → `BenchmarkResults._to_results_df(benchmark.tasks)` (per-task score
validation against the benchmark's task objects, then `join_revisions`) → the leaderboard's
model filter → `Benchmark._create_summary_table` (`mteb/benchmarks/_create_table.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import mteb
from mteb.benchmarks.benchmark import BenchmarkAggregation, RtebBenchmark
from mteb.models import ModelMeta

from services.aggregator.ranked_rows import RankedRows, RowPieces, rank_rows
from services.aggregator.revision_join import join_revisions
from services.aggregator.score_matrix import (
    Interner,
    ScoreMatrix,
    TaskCells,
    assemble,
    task_column,
)
from shared.tables import BenchmarkRow, BenchmarkTable, CompactTable, EncodedTable, ResultRow

__all__ = [
    "BenchmarkRow",
    "BenchmarkTable",
    "ResultRow",
    "benchmark_task_cells",
    "build_table",
    "partitions_by_subset",
    "summary_encoded",
    "summary_table",
    "summary_values",
]


def benchmark_task_cells(benchmark: mteb.Benchmark, tasks: Sequence[str] | None) -> list[TaskCells]:
    """The benchmark's tasks (or its `tasks` subset) that its summary table ranks.

    RTEB benchmarks rank their public tasks only (mteb's `RtebBenchmark` override).
    Raises ValueError for names that are not tasks of the benchmark.
    """
    cells = [TaskCells.of(task) for task in benchmark.tasks]
    if isinstance(benchmark, RtebBenchmark):
        public = {task.metadata.name for task in benchmark.tasks if task.metadata.is_public}
        cells = [task for task in cells if task.name in public]
    if tasks is None:
        return cells
    wanted = set(tasks)
    unknown = sorted(wanted - {task.metadata.name for task in benchmark.tasks})
    if unknown:
        raise ValueError(f"not tasks of benchmark {benchmark.name!r}: {', '.join(unknown)}")
    if not wanted:
        raise ValueError("a custom task subset needs at least one task")
    return [task for task in cells if task.name in wanted]


def partitions_by_subset(benchmark: mteb.Benchmark) -> bool:
    """Whether `benchmark` ranks (task, subset) pairs rather than tasks (HUME's weighting)."""
    return BenchmarkAggregation.MEAN_SUBSET in benchmark.aggregations


def build_table(
    benchmark: mteb.Benchmark,
    results: Iterable[ResultRow],
    models: Mapping[str, ModelMeta],
    tasks: Sequence[str] | None = None,
    bootstrap_resamples: int = 1000,
    seed: int = 0,
) -> BenchmarkTable:
    """The summary table of `benchmark` (or of its `tasks` subset), as mteb's table code makes it.

    `models` is the model pool and its metadata: results of other models are ignored, as mteb's
    leaderboard keeps only models in its registry. Per model and task, one revision is kept
    (`revision_join.join_revisions`, the ModelMeta's `revision` being the main one). A task
    score is the mean of the benchmark's (split, subset) cells, null when the model lacks a
    cell that another model of the pool has (`score_matrix`). See `summary_table` for the rest.
    """
    task_cells = benchmark_task_cells(benchmark, tasks)
    joined = join_revisions(results, models, frozenset(task.name for task in task_cells))
    kept: defaultdict[str, list[ResultRow]] = defaultdict(list)
    for (_, task), row in joined.items():
        kept[task].append(row)
    model_ids, revision_ids = Interner(), Interner()
    by_subset = partitions_by_subset(benchmark)
    columns = [
        task_column(task, kept[task.name], by_subset, model_ids, revision_ids)
        for task in task_cells
    ]
    matrix = assemble(columns, model_ids, revision_ids)
    return summary_table(benchmark.name, matrix, models, bootstrap_resamples, seed)


def summary_table(
    benchmark: str,
    matrix: ScoreMatrix,
    models: Mapping[str, ModelMeta],
    bootstrap_resamples: int,
    seed: int,
) -> BenchmarkTable:
    """The summary table of a benchmark's score matrix (`summary_values`), with row objects."""
    return summary_values(benchmark, matrix, models, bootstrap_resamples, seed).table()


def summary_values(
    benchmark: str,
    matrix: ScoreMatrix,
    models: Mapping[str, ModelMeta],
    bootstrap_resamples: int,
    seed: int,
    threads: int | None = None,
) -> CompactTable:
    """The summary table of a benchmark's score matrix, as mteb's `_create_summary_table`, with
    each row a list (`CompactTable`).

    Mean (Task) is the mean of the task scores and each task type's mean the mean of its
    tasks', null if any is null; Mean (TaskType) is the mean of the type means. Rank (Borda) is
    mteb's (`borda`), over tasks, or over (task, subset) pairs for subset-weighted (HUME)
    benchmarks, among every model of the matrix (one without any complete task gets no row
    but, as in mteb, still takes part in the ranking). Tasks without any result in the pool are
    no columns. Zero-shot and the size columns come from the ModelMeta in `models`
    (`model_columns`). Rows are ordered by rank, then name.
    With `bootstrap_resamples` > 0, rows carry bootstrap intervals and tie groups
    (`uncertainty`), reproducible for a given `seed`, computed on `threads` threads.
    """
    head, ranked = _ranked(benchmark, matrix, models, bootstrap_resamples, seed, threads)
    return CompactTable(**head, rows=ranked.lists() if ranked else [])


def summary_encoded(
    benchmark: str,
    matrix: ScoreMatrix,
    models: Mapping[str, ModelMeta],
    bootstrap_resamples: int,
    seed: int,
    pieces: RowPieces,
    threads: int | None = None,
) -> EncodedTable:
    """`summary_values` with each row as JSON, written from the `pieces` kept of the last
    table (`ranked_rows`); one `RowPieces` per table that is recomputed (the same benchmark
    or subset, resamples and seed)."""
    head, ranked = _ranked(benchmark, matrix, models, bootstrap_resamples, seed, threads)
    return EncodedTable(**head, rows=ranked.encoded(pieces) if ranked else [])


def _ranked(
    benchmark: str,
    matrix: ScoreMatrix,
    models: Mapping[str, ModelMeta],
    resamples: int,
    seed: int,
    threads: int | None,
) -> tuple[dict[str, Any], RankedRows | None]:
    """A table's fields but its rows, and its rows (None for an empty matrix)."""
    task_types = list(dict.fromkeys(task.task_type for task in matrix.tasks))
    head = {
        "benchmark": benchmark,
        "tasks": [task.name for task in matrix.tasks],
        "task_types": task_types,
        "bootstrap_resamples": resamples,
        "seed": seed if resamples > 0 else None,
    }
    if not (matrix.models and matrix.tasks):
        return head, None
    return head, rank_rows(matrix, models, task_types, resamples, seed, threads)
