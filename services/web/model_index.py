"""What the model and compare pages read of the stored leaderboards, kept per leaderboard version:
each benchmark table's rows by model, each task leaderboard's rows by model and scores, and each
benchmark's rank history by model. A leaderboard is read again only when its version changed, and
a page's data is made again only when some leaderboard's version changed."""

from __future__ import annotations

import asyncio
from array import array
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Request

from shared.documents import LeaderboardRow, benchmark_leaderboard_id, task_leaderboard_id
from shared.store import Store
from shared.summary.history import history
from shared.summary.table import BenchmarkRow

T = TypeVar("T")
KEPT_PAGES = 256
"""Model and compare pages' data kept for the leaderboards' current versions."""
Loaded = tuple[int, T] | None
"""A leaderboard's version and what was read of it; None when it is gone."""


class VersionedIndex(Generic[T]):
    """Values read from leaderboards, each kept with the version it was read at."""

    def __init__(self, load: Callable[[str], Awaitable[Loaded[T]]]) -> None:
        self.load = load
        self.entries: dict[str, tuple[int, T]] = {}

    async def current(self, heads: dict[str, int]) -> dict[str, T]:
        """The values of the leaderboards `heads` names (name → stored version), read again
        where the kept version is another."""
        stale = [
            name for name, version in heads.items() if self.entries.get(name, (0,))[0] != version
        ]
        for name, loaded in zip(stale, await asyncio.gather(*map(self.load, stale)), strict=True):
            if loaded is None:
                self.entries.pop(name, None)
            else:
                self.entries[name] = loaded
        return {name: self.entries[name][1] for name in heads if name in self.entries}


@dataclass(frozen=True, slots=True)
class Standing:
    """What a model page shows of a model's row in a benchmark table (the row's task scores
    are left out: a process holds every benchmark's standings)."""

    rank: int | None
    rank_ci: tuple[int, int] | None
    official: bool
    mean_task: float | None
    mean_task_ci: tuple[float, float] | None
    zero_shot: int
    revision: str
    scored_tasks: int
    tasks: int

    @classmethod
    def of(cls, row: BenchmarkRow) -> Standing:
        return cls(
            rank=row.rank_borda,
            rank_ci=row.rank_ci,
            official=row.official,
            mean_task=row.mean_task,
            mean_task_ci=row.mean_task_ci,
            zero_shot=row.zero_shot,
            revision=row.revision,
            scored_tasks=sum(1 for score in row.task_scores.values() if score is not None),
            tasks=len(row.task_scores),
        )


@dataclass(frozen=True)
class BenchmarkStanding:
    """A stored benchmark table, by model."""

    rows: dict[str, Standing]
    ranked: int
    """Rows with a rank."""
    generated_at: str


@dataclass(frozen=True)
class TaskStanding:
    """A stored task leaderboard, by model, with every ranked score."""

    rows: dict[str, LeaderboardRow]
    scores: list[float]


@dataclass(frozen=True)
class RankHistory:
    """A benchmark's Rank (Borda) by day, per model: one 16-bit rank per day (0: not ranked that
    day), as a year of daily snapshots of hundreds of models is kept for every benchmark."""

    days: list[str]
    ranks: dict[str, array[int]]

    def of(self, model: str) -> list[tuple[str, int]]:
        """The (day, rank) of the days `model` was ranked."""
        found = self.ranks.get(model)
        if found is None:
            return []
        return [(day, rank) for day, rank in zip(self.days, found, strict=True) if rank]


@dataclass(frozen=True)
class Heads:
    """The stored version of every benchmark and task leaderboard: a new result changes one."""

    benchmarks: dict[str, int]
    tasks: dict[str, int]

    def signature(self) -> tuple[tuple[str, int], ...]:
        return (*sorted(self.benchmarks.items()), *sorted(self.tasks.items()))


class ModelIndexes:
    """The three indexes over one store, and the last pages made from them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.benchmarks: VersionedIndex[BenchmarkStanding] = VersionedIndex(self._benchmark)
        self.tasks: VersionedIndex[TaskStanding] = VersionedIndex(self._task)
        self.histories: VersionedIndex[RankHistory] = VersionedIndex(self._history)
        self.pages: OrderedDict[tuple[object, ...], dict[str, Any]] = OrderedDict()

    async def heads(self) -> Heads:
        benchmarks, tasks = await asyncio.gather(
            self.store.list_leaderboards("benchmark"), self.store.list_leaderboards("task")
        )
        return Heads(
            {lb.name: lb.version for lb in benchmarks}, {lb.name: lb.version for lb in tasks}
        )

    async def task_standings(self, heads: Heads, tasks: Iterable[str]) -> dict[str, TaskStanding]:
        """The task leaderboards of `tasks` (those stored)."""
        wanted = set(tasks)
        return await self.tasks.current({n: v for n, v in heads.tasks.items() if n in wanted})

    def kept_page(self, key: tuple[object, ...]) -> dict[str, Any] | None:
        """A page's data made for `key` (its name and `Heads.signature`), if still kept."""
        found = self.pages.get(key)
        if found is not None:
            self.pages.move_to_end(key)
        return found

    def keep_page(self, key: tuple[object, ...], context: dict[str, Any]) -> None:
        self.pages[key] = context
        while len(self.pages) > KEPT_PAGES:
            self.pages.popitem(last=False)

    async def _benchmark(self, name: str) -> Loaded[BenchmarkStanding]:
        stored = await self.store.get_benchmark_leaderboard(benchmark_leaderboard_id(name))
        if stored is None:
            return None
        table = await asyncio.to_thread(lambda: stored.table)
        standing = BenchmarkStanding(
            rows={row.model: Standing.of(row) for row in table.rows},
            ranked=sum(1 for row in table.rows if row.rank_borda is not None and row.official),
            generated_at=stored.generated_at.isoformat(),
        )
        return stored.version, standing

    async def _task(self, name: str) -> Loaded[TaskStanding]:
        stored = await self.store.get_leaderboard(task_leaderboard_id(name))
        if stored is None:
            return None
        rows = {row.model: row for row in stored.rows}
        return stored.version, TaskStanding(rows, sorted(row.main_score for row in stored.rows))

    async def _history(self, name: str) -> Loaded[RankHistory]:
        snapshots = await history(self.store, name)
        if not snapshots:
            return None
        days = [snapshot.day for snapshot in snapshots]
        ranks: dict[str, array[int]] = {}
        for n, snapshot in enumerate(snapshots):
            for row in snapshot.rows:
                if row.rank_borda is not None:
                    ranks.setdefault(row.model, array("H", bytes(2 * len(days))))[n] = (
                        row.rank_borda
                    )
        return snapshots[-1].version, RankHistory(days, ranks)


def model_indexes(request: Request) -> ModelIndexes:
    """The app's indexes, made on first use."""
    state = request.app.state
    if not hasattr(state, "model_indexes"):
        state.model_indexes = ModelIndexes(state.store)
    indexes: ModelIndexes = state.model_indexes
    return indexes
