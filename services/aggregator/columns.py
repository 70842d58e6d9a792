"""Task columns of the mirrored results, each computed once per change of its task's results.

Every benchmark table and custom subset is assembled from these columns, so a new result
recomputes one column, and a custom subset of tasks whose results did not change computes none.
"""

from __future__ import annotations

import threading

import mteb

from services.aggregator.mirror import ResultMirror
from services.aggregator.revision_join import join_revisions
from services.aggregator.score_matrix import (
    Interner,
    RowCellsMemo,
    ScoreMatrix,
    TaskCells,
    TaskColumn,
    assemble,
    task_column,
)
from services.aggregator.table import benchmark_task_cells, partitions_by_subset


class ColumnCache:
    """The `TaskColumn`s of a `ResultMirror`, recomputed when the mirror's task version moves."""

    def __init__(self, mirror: ResultMirror) -> None:
        self.mirror = mirror
        self.models = Interner()
        self.revisions = Interner()
        self._columns: dict[tuple[TaskCells, bool], tuple[int, TaskColumn]] = {}
        self._cells: dict[str, list[TaskCells]] = {}
        self._row_cells: dict[tuple[TaskCells, bool], RowCellsMemo] = {}
        """Per column, what each of its results contributed, for the next recompute of it."""
        self._lock = threading.Lock()

    def matrix(self, benchmark: mteb.Benchmark, tasks: list[str] | None = None) -> ScoreMatrix:
        """`benchmark`'s score matrix (or its `tasks` subset's) over every mirrored model.

        Raises ValueError for names that are not tasks of the benchmark.
        """
        cells = self._benchmark_cells(benchmark)
        if tasks is not None:
            chosen = {task.name for task in benchmark_task_cells(benchmark, tasks)}
            cells = [task for task in cells if task.name in chosen]
        by_subset = partitions_by_subset(benchmark)
        with self._lock:  # tables may be computed in several threads at once
            columns = [self._column(task, by_subset) for task in cells]
        return assemble(columns, self.models, self.revisions)

    def _column(self, task: TaskCells, by_subset: bool) -> TaskColumn:
        """The column of `task` as the mirror holds its results now (the caller holds the lock)."""
        version = self.mirror.versions.get(task.name, 0)
        cached = self._columns.get((task, by_subset))
        if cached is not None and cached[0] == version:
            return cached[1]
        rows = list(self.mirror.rows([task.name]))
        metas = self.mirror.models(dict.fromkeys(row.model for row in rows))
        kept = join_revisions(rows, metas, frozenset({task.name}))
        memo = self._row_cells.setdefault((task, by_subset), {})
        column = task_column(task, kept.values(), by_subset, self.models, self.revisions, memo)
        self._columns[(task, by_subset)] = (version, column)
        return column

    def _benchmark_cells(self, benchmark: mteb.Benchmark) -> list[TaskCells]:
        if benchmark.name not in self._cells:
            self._cells[benchmark.name] = benchmark_task_cells(benchmark, None)
        return self._cells[benchmark.name]
