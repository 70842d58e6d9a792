"""Benchmark views: Summary, Per task, Per language and Task information, under mteb's filters
and customisation, and rank history.

Every view is one data context rendered as HTML, `.json` or `.csv`; the query string holds all
of its state, so any view can be shared by its URL. Without a filter that changes the task set
or the pool, the summary is the stored table; with one, the table is computed from a mirror of
the stored results and re-ranked on the filtered pool, as mteb's leaderboard recomputes it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

import mteb
import numpy as np
from mteb.abstasks import AbsTask

from services.web.query import BenchmarkQuery
from services.web.selection import (
    language_filter,
    model_filter,
    narrowed_cells,
    selected_tasks,
    task_revision,
)
from shared.documents import SnapshotDoc, benchmark_leaderboard_id
from shared.memory import freeze_loaded_objects
from shared.store import Store
from shared.summary.borda import average_ranks, points_of
from shared.summary.display import (
    MEAN_TASK,
    MODEL,
    OFFICIAL,
    RANK,
    SCORE_COLUMNS_FIXED,
    Pool,
    columns,
    raw_row,
)
from shared.summary.matrix import scored_cells
from shared.summary.mirror import ResultMirror, TaskParts
from shared.summary.table import BenchmarkTable, TaskPart, narrowed_part, summary_table
from shared.summary.tasks import benchmark_tasks, partitions_by_subset, task_named

T = TypeVar("T")
REVISION = "Revision"
COMPUTED_TABLES = 64
"""Computed tables kept (least recently used dropped) while the stored results are unchanged."""
HISTORY_MODELS = 10
"""Models shown by default on a history page: the best ranked of the latest snapshot."""


class ViewKind(StrEnum):
    """The pages of a benchmark, by the path segment after its name."""

    SUMMARY = ""
    PER_TASK = "per-task"
    PER_LANGUAGE = "per-language"
    TASK_INFO = "task-info"


TASK_INFO_COLUMNS = (
    "Task",
    "Type",
    "Languages",
    "Domains",
    "Modalities",
    "Main Score",
    "Reference",
    "Dataset Revision",
    "Samples",
    "Public",
)


def sorted_rows(rows: list[dict[str, Any]], sort: str, names: list[str]) -> list[dict[str, Any]]:
    """`rows` by column `sort` (`-column` descending), missing values last; else as given."""
    column = sort.lstrip("-")
    if column not in names:
        return rows
    present = [row for row in rows if row.get(column) is not None]
    missing = [row for row in rows if row.get(column) is None]
    present.sort(key=lambda row: row[column], reverse=sort.startswith("-"))
    return present + missing


def shown(row: dict[str, Any], query: BenchmarkQuery) -> bool:
    """Whether a row passes the display filters (name search, official pool only); they hide
    rows without re-ranking, as mteb's table search does."""
    if query.pool is Pool.OFFICIAL and not row.get(OFFICIAL, True):
        return False
    return not query.search or query.search.lower() in str(row[MODEL]).lower()


@dataclass
class View:
    """The data context of one benchmark page."""

    benchmark: str
    kind: ViewKind
    query: BenchmarkQuery
    columns: list[str]
    rows: list[dict[str, Any]]
    tasks: list[str]
    score_columns: list[str] = field(default_factory=list)
    """Columns holding scores (shown ×100)."""
    version: int | None = None
    generated_at: str | None = None
    bootstrap_resamples: int = 0
    task_types: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind is not ViewKind.TASK_INFO:
            self.rows = [row for row in self.rows if shown(row, self.query)]
        self.rows = sorted_rows(self.rows, self.query.sort, self.columns)

    @property
    def custom_subset(self) -> bool:
        return self.query.customised

    def context(self) -> dict[str, Any]:
        """What the `.json` rendering shows (the HTML page shows the same)."""
        return {
            "benchmark": self.benchmark,
            "view": self.kind.value or "summary",
            "tasks": self.tasks,
            "custom_subset": self.query.customised,
            "filtered_pool": self.query.pool_filtered,
            "query": self.query.values(),
            "version": self.version,
            "generated_at": self.generated_at,
            "bootstrap_resamples": self.bootstrap_resamples,
            "columns": self.columns,
            "rows": self.rows,
        }


def summary_view(
    table: BenchmarkTable, query: BenchmarkQuery, version: int | None, generated_at: str | None
) -> View:
    names = columns(table)
    return View(
        benchmark=table.benchmark,
        kind=ViewKind.SUMMARY,
        query=query,
        columns=[*names[:2], REVISION, *names[2:]],
        rows=[raw_row(row) | {REVISION: row.revision} for row in table.rows],
        tasks=table.tasks,
        score_columns=[*SCORE_COLUMNS_FIXED, *table.task_types],
        version=version,
        generated_at=generated_at,
        bootstrap_resamples=table.bootstrap_resamples,
        task_types=table.task_types,
    )


def per_task_view(
    table: BenchmarkTable, query: BenchmarkQuery, version: int | None, generated_at: str | None
) -> View:
    """Models × tasks: each model's task scores, by rank (mteb's per-task table)."""
    rows = [
        {RANK: row.rank_borda, MODEL: row.model, OFFICIAL: row.official, **row.task_scores}
        for row in table.rows
    ]
    return View(
        benchmark=table.benchmark,
        kind=ViewKind.PER_TASK,
        query=query,
        columns=[RANK, MODEL, *table.tasks],
        rows=rows,
        tasks=table.tasks,
        score_columns=list(table.tasks),
        version=version,
        generated_at=generated_at,
    )


def subset_scripts(task_name: str) -> dict[str, tuple[str, ...]]:
    """Each subset's language scripts (`eng-Latn`) by the task's metadata; `default`: all."""
    return _subset_scripts(task_name, task_revision(task_name))


@lru_cache(maxsize=4096)
def _subset_scripts(task_name: str, revision: str | None) -> dict[str, tuple[str, ...]]:
    scripts = dict(task_named(task_name).metadata.hf_subsets_to_langscripts)
    every = tuple(dict.fromkeys(code for codes in scripts.values() for code in codes))
    return {subset: tuple(codes) for subset, codes in scripts.items()} | {
        "default": tuple(scripts.get("default", every))
    }


def language_columns(benchmark: mteb.Benchmark, found: set[str]) -> list[str]:
    """mteb's `language_view` of the benchmark (all languages found when it has none)."""
    view = benchmark.language_view
    if isinstance(view, list) and view:
        return [language for language in view if language in found]
    return sorted(found)


def per_language_rows(parts: list[TaskPart], languages: list[str]) -> list[dict[str, Any]]:
    """The official pool's mean score per language over every scored cell of that language
    (mteb's per-language table), ordered by a Borda count over the languages."""
    cells: dict[str, dict[str, list[float]]] = {}
    wanted = set(languages)
    for part in parts:
        if part.column is None:
            continue
        scripts = subset_scripts(part.task.name)
        for row in part.pool:
            for _, subset, value in scored_cells(part.task, row):
                for language in wanted.intersection(scripts.get(subset, ())):
                    cells.setdefault(row.model, {}).setdefault(language, []).append(value)
    models = sorted(cells)
    means = np.full((len(models), len(languages)), np.nan)
    for m, model in enumerate(models):
        for c, language in enumerate(languages):
            values = cells[model].get(language)
            if values:
                means[m, c] = sum(values) / len(values)
    if len(languages) == 1:
        totals = np.nan_to_num(means[:, 0], nan=-np.inf)
    else:
        totals = points_of(average_ranks(means), len(models)).sum(axis=1)
    ranks = 1 + (totals[np.newaxis, :] > totals[:, np.newaxis]).sum(axis=1)  # ties: best rank
    order = sorted(range(len(models)), key=lambda m: (ranks[m], models[m]))
    return [
        {RANK: int(ranks[m]), MODEL: models[m]}
        | {language: _float(means[m, c]) for c, language in enumerate(languages)}
        for m in order
    ]


def _float(value: float) -> float | None:
    return None if value != value else float(value)


def task_information(task: AbsTask) -> dict[str, Any]:
    """A benchmark's task (its languages as the benchmark narrows them) as mteb's "Task
    information" tab shows it, plus its dataset revision and size (evaluation samples over
    its eval splits)."""
    meta = task.metadata
    stats = meta.descriptive_stats or {}
    samples = [
        stats[split].get("num_samples")
        for split in task.eval_splits
        if isinstance(stats.get(split), dict)
    ]
    return {
        "Task": meta.name,
        "Type": meta.type,
        "Languages": ", ".join(task.languages),
        "Domains": ", ".join(meta.domains or ()),
        "Modalities": ", ".join(meta.modalities or ()),
        "Main Score": meta.main_score,
        "Reference": meta.reference or "",
        "Dataset Revision": meta.dataset.get("revision", ""),
        "Samples": sum(n for n in samples if isinstance(n, int)) if samples else None,
        "Public": meta.is_public,
    }


class BenchmarkViews:
    """Reads benchmark views: the stored table, or one computed from a mirror of the stored
    results (in a worker thread) for customised tasks, a filtered pool or per-language cells."""

    def __init__(self, store: Store, bootstrap_resamples: int) -> None:
        self.store = store
        self.bootstrap_resamples = bootstrap_resamples
        self.mirror = ResultMirror()
        self.parts = TaskParts(self.mirror)
        self._computing = asyncio.Lock()
        self._synced = False
        self._tables: OrderedDict[tuple[str, BenchmarkQuery, int], BenchmarkTable] = OrderedDict()

    async def view(self, benchmark: mteb.Benchmark, kind: ViewKind, query: BenchmarkQuery) -> View:
        """The `kind` view of `benchmark` under `query`."""
        if kind is ViewKind.TASK_INFO:
            tasks = selected_tasks(benchmark, query)
            objects = {task.metadata.name: task for task in benchmark.tasks}
            names = list(objects) if tasks is None else tasks
            rows = [task_information(objects[name]) for name in names]
            return View(benchmark.name, kind, query, list(TASK_INFO_COLUMNS), rows, names)
        if kind is ViewKind.PER_LANGUAGE:
            parts = await self.computing(lambda: self.narrowed_parts(benchmark, query))
            found = {
                language
                for part in parts
                if part.column is not None
                for subset in part.task.subsets
                for language in subset_scripts(part.task.name).get(subset, ())
            }
            languages = language_columns(benchmark, found)
            rows = await asyncio.to_thread(per_language_rows, parts, languages)
            tasks = [part.task.name for part in parts if part.column is not None]
            names = [RANK, MODEL, *languages]
            return View(benchmark.name, kind, query, names, rows, tasks, languages)
        table, version, generated_at = await self.table(benchmark, query)
        make = summary_view if kind is ViewKind.SUMMARY else per_task_view
        return await asyncio.to_thread(make, table, query, version, generated_at)

    async def table(
        self, benchmark: mteb.Benchmark, query: BenchmarkQuery
    ) -> tuple[BenchmarkTable, int | None, str | None]:
        """The summary table under `query`, with its stored version and time (None if computed)."""
        if not query.customised and not query.pool_filtered:
            stored = await self.store.get_benchmark_leaderboard(
                benchmark_leaderboard_id(benchmark.name)
            )
            if stored is not None:
                table = await asyncio.to_thread(lambda: stored.table)  # parsed off the loop
                return table, stored.version, stored.generated_at.isoformat()
        table = await self.computing(lambda: self.computed_table(benchmark, query))
        return table, None, None

    def computed_table(self, benchmark: mteb.Benchmark, query: BenchmarkQuery) -> BenchmarkTable:
        """The summary table of the query's parts, ranked among them (mteb's recomputation);
        the last few are kept while the mirror is unchanged."""
        ranking = replace(query, search="", pool=Pool.ALL, sort="")  # display-only fields out
        key = (benchmark.name, ranking, sum(self.mirror.versions.values()))
        table = self._tables.pop(key, None) or summary_table(
            benchmark.name,
            self.narrowed_parts(benchmark, query),
            self.mirror.meta,
            partitions_by_subset(benchmark),
            self.bootstrap_resamples,
        )
        self._tables[key] = table
        while len(self._tables) > COMPUTED_TABLES:
            self._tables.popitem(last=False)
        return table

    async def computing(self, compute: Callable[[], T]) -> T:
        """`compute` in a worker thread over the mirror synced now; one at a time, as the
        mirror changes only between them."""
        async with self._computing:
            await self.mirror.sync(self.store)
            if not self._synced:
                freeze_loaded_objects()  # the mirror lives as long as the process
                self._synced = True
            return await asyncio.to_thread(compute)

    def narrowed_parts(self, benchmark: mteb.Benchmark, query: BenchmarkQuery) -> list[TaskPart]:
        """The task parts the query ranks: its tasks, its languages' cells, its pool."""
        by_subset = partitions_by_subset(benchmark)
        tasks = selected_tasks(benchmark, query)
        if tasks is not None and not tasks:
            return []
        cells = benchmark_tasks(benchmark, tasks)
        languages = language_filter(benchmark, query)
        if not query.pool_filtered and languages is None:
            return [self.parts.part(task, by_subset) for task in cells]
        names = [task.name for task in cells]
        keeps = model_filter(query, names, self.mirror.meta) if query.pool_filtered else _every
        return [
            narrowed_part(
                self.parts.part(task, by_subset), keeps, narrowed_cells(task, languages), by_subset
            )
            for task in cells
        ]


def _every(_: str) -> bool:
    return True


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
                        MEAN_TASK: row.mean_task,
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
