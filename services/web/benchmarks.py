"""Benchmark views: the summary table with filters and custom task subsets, and rank history.

Every view is one data context rendered as HTML, `.json` or `.csv`; the query string holds all
of its state (sort, filters, task subset), so any view can be shared by its URL.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import mteb

from shared.documents import SnapshotDoc, benchmark_leaderboard_id
from shared.memory import freeze_loaded_objects
from shared.store import Store
from shared.summary.display import (
    MODEL,
    OFFICIAL,
    RANK,
    TOTAL,
    ZERO_SHOT,
    Pool,
    columns,
    raw_row,
)
from shared.summary.mirror import ResultMirror, TaskParts
from shared.summary.table import BenchmarkTable

REVISION = "Revision"
HISTORY_MODELS = 10
"""Models shown by default on a history page: the best ranked of the latest snapshot."""


@dataclass(frozen=True)
class TableQuery:
    """What a benchmark view asks for, as given in its query string."""

    tasks: tuple[str, ...] = ()
    search: str = ""
    min_params_b: float | None = None
    max_params_b: float | None = None
    min_zero_shot: int | None = None
    sort: str = ""
    pool: Pool = Pool.ALL

    def parameters(self, **changes: Any) -> str:
        """This query's string (with `changes`), for links that keep the view's state."""
        values = {
            "task": list(self.tasks),
            "q": self.search,
            "min_params": self.min_params_b,
            "max_params": self.max_params_b,
            "zero_shot": self.min_zero_shot,
            "sort": self.sort,
            "pool": "" if self.pool is Pool.ALL else self.pool.value,
        } | changes
        kept = {key: value for key, value in values.items() if value not in (None, "", [])}
        return urlencode(kept, doseq=True)

    def keeps(self, row: dict[str, Any]) -> bool:
        """Whether `row` passes the filters."""
        if self.pool is Pool.OFFICIAL and not row[OFFICIAL]:
            return False
        if self.search and self.search.lower() not in row[MODEL].lower():
            return False
        size = row[TOTAL]
        if self.min_params_b is not None and (size is None or size < self.min_params_b):
            return False
        if self.max_params_b is not None and (size is None or size > self.max_params_b):
            return False
        return self.min_zero_shot is None or row[ZERO_SHOT] >= self.min_zero_shot


def sorted_rows(rows: list[dict[str, Any]], sort: str, names: list[str]) -> list[dict[str, Any]]:
    """`rows` by column `sort` (`-column` descending), missing values last; else as given."""
    column = sort.lstrip("-")
    if column not in names:
        return rows
    present = [row for row in rows if row.get(column) is not None]
    missing = [row for row in rows if row.get(column) is None]
    present.sort(key=lambda row: row[column], reverse=sort.startswith("-"))
    return present + missing


@dataclass
class TableView:
    """The data context of a benchmark page."""

    benchmark: str
    description: str
    all_tasks: list[str]
    table: BenchmarkTable
    query: TableQuery
    version: int | None
    generated_at: str | None
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.columns = [*columns(self.table)[:2], REVISION, *columns(self.table)[2:]]
        rows = [raw_row(row) | {REVISION: row.revision} for row in self.table.rows]
        kept = [row for row in rows if self.query.keeps(row)]
        self.rows = sorted_rows(kept, self.query.sort, self.columns)

    def context(self) -> dict[str, Any]:
        """What the `.json` rendering shows (the HTML page shows the same)."""
        return {
            "benchmark": self.benchmark,
            "tasks": self.table.tasks,
            "custom_subset": bool(self.query.tasks),
            "version": self.version,
            "generated_at": self.generated_at,
            "bootstrap_resamples": self.table.bootstrap_resamples,
            "columns": self.columns,
            "rows": self.rows,
        }


class BenchmarkViews:
    """Reads benchmark tables: the stored document, or a custom subset computed from a mirror of
    the stored results (in a worker thread)."""

    def __init__(self, store: Store, bootstrap_resamples: int) -> None:
        self.store = store
        self.bootstrap_resamples = bootstrap_resamples
        self.mirror = ResultMirror()
        self.parts = TaskParts(self.mirror)
        self._computing = asyncio.Lock()
        self._synced = False

    async def table_view(self, benchmark: mteb.Benchmark, query: TableQuery) -> TableView:
        """`benchmark`'s table under `query`; raises ValueError for tasks not in it."""
        names = list(dict.fromkeys(task.metadata.name for task in benchmark.tasks))
        version: int | None = None
        generated_at: str | None = None
        stored = None
        if not query.tasks:
            stored = await self.store.get_benchmark_leaderboard(
                benchmark_leaderboard_id(benchmark.name)
            )
        if stored is not None:
            table = await asyncio.to_thread(lambda: stored.table)  # parsed off the event loop
            version, generated_at = stored.version, stored.generated_at.isoformat()
        else:
            table = await self.computed(benchmark, list(query.tasks) or None)
        return await asyncio.to_thread(
            TableView,
            benchmark=benchmark.name,
            description=benchmark.description or "",
            all_tasks=names,
            table=table,
            query=query,
            version=version,
            generated_at=generated_at,
        )

    async def computed(self, benchmark: mteb.Benchmark, tasks: list[str] | None) -> BenchmarkTable:
        """The table of `benchmark` (or its `tasks` subset) from the stored results now; one
        at a time, as the mirror changes only between them."""
        async with self._computing:
            await self.mirror.sync(self.store)
            if not self._synced:
                freeze_loaded_objects()  # the mirror lives as long as the process
                self._synced = True
            return await asyncio.to_thread(
                self.parts.table, benchmark, tasks, self.bootstrap_resamples
            )


def history_rows(snapshots: list[SnapshotDoc], models: list[str]) -> list[dict[str, Any]]:
    """One row per (day, model) of `models`: rank, its interval and Mean (Task)."""
    wanted = set(models)
    rows = []
    for snapshot in snapshots:
        for row in snapshot.rows:
            if row.model in wanted:
                rank_ci = row.rank_ci or (None, None)
                rows.append(
                    {
                        "day": snapshot.day,
                        MODEL: row.model,
                        RANK: row.rank_borda,
                        "Rank (Borda) CI Low": rank_ci[0],
                        "Rank (Borda) CI High": rank_ci[1],
                        "Mean (Task)": row.mean_task,
                    }
                )
    return rows


def default_history_models(snapshots: list[SnapshotDoc]) -> list[str]:
    """The best ranked models of the latest snapshot."""
    if not snapshots:
        return []
    ranked = sorted(
        (row for row in snapshots[-1].rows if row.rank_borda is not None),
        key=lambda row: row.rank_borda or 0,
    )
    return [row.model for row in ranked[:HISTORY_MODELS]]
