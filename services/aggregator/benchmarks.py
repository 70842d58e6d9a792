"""Benchmark leaderboards: the benchmarks each task belongs to, and their incremental recompute."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache

import mteb

from services.aggregator.columns import ColumnCache
from services.aggregator.mirror import ResultMirror
from services.aggregator.ranked_rows import RowPieces
from services.aggregator.snapshots import prune_snapshots, take_snapshot
from services.aggregator.table import BenchmarkTable, summary_encoded, summary_values
from services.aggregator.task_boards import announce
from services.aggregator.uncertainty import CORES
from shared.bus import Bus
from shared.documents import BenchmarkLeaderboardDoc, ResultDoc, benchmark_leaderboard_id
from shared.store import UNLISTED, ConflictError, Store
from shared.tables import CompactTable, EncodedTable

log = logging.getLogger(__name__)


TABLES_AT_ONCE = CORES
"""Tables computed at the same time by `refresh`."""


class UnknownBenchmarkError(KeyError):
    """A benchmark name that mteb's registry does not know."""


@lru_cache(maxsize=1)
def benchmarks_by_task() -> dict[str, tuple[mteb.Benchmark, ...]]:
    """Task name → the registry's benchmarks that contain it."""
    index: dict[str, list[mteb.Benchmark]] = {}
    for benchmark in mteb.get_benchmarks():
        for task in dict.fromkeys(task.metadata.name for task in benchmark.tasks):
            index.setdefault(task, []).append(benchmark)
    return {task: tuple(benchmarks) for task, benchmarks in index.items()}


def benchmarks_containing(tasks: Iterable[str]) -> list[mteb.Benchmark]:
    """The benchmarks that contain any of `tasks`, each once, by name."""
    found = {b.name: b for task in tasks for b in benchmarks_by_task().get(task, ())}
    return [found[name] for name in sorted(found)]


def benchmark_named(name: str) -> mteb.Benchmark:
    try:
        return mteb.get_benchmark(name)
    except (KeyError, ValueError):
        raise UnknownBenchmarkError(name) from None


class BenchmarkUpdater:
    """Recomputes benchmark leaderboards from the mirrored results and announces them."""

    def __init__(
        self,
        store: Store,
        bus: Bus | None,
        *,
        bootstrap_resamples: int = 1000,
        snapshot_retention_days: int = 365,
    ) -> None:
        self.store = store
        self.bus = bus
        self.bootstrap_resamples = bootstrap_resamples
        self.snapshot_retention_days = snapshot_retention_days
        self.mirror = ResultMirror()
        self.columns = ColumnCache(self.mirror)
        self._refreshing = asyncio.Lock()
        self._noted: list[ResultDoc] = []
        """Results stored by this process, mirrored by the next `refresh` (`note_stored`)."""
        self._heads: dict[str, tuple[int, datetime]] = {}
        """Per leaderboard, the version and time of this process's last write of it."""
        self._pieces: dict[str, RowPieces] = {}
        """Per benchmark, the JSON pieces of its last table's rows (`ranked_rows`)."""
        self.primed = False

    async def prime(self) -> None:
        """Mirror what is stored now, recomputing nothing."""
        await self.mirror.sync(self.store)
        self.primed = True

    def note_stored(self, result: ResultDoc, stored_us: int) -> None:
        """Have the next `refresh` mirror a result this process just stored (stamped
        `stored_us`) instead of reading it back; the caller names its task to `refresh`."""
        moment = result.evaluated_at  # kept to the millisecond by the store
        as_read = {"evaluated_at": moment.replace(microsecond=moment.microsecond // 1000 * 1000)}
        self._noted.append(
            result.model_copy(update={"stored_us": stored_us, **UNLISTED, **as_read})
        )

    async def catch_up(self, began_us: int) -> None:
        """Prime an unprimed mirror that was given an import's own writes (into an empty store)
        as they were made: only what others stored since `began_us` is read."""
        await self.mirror.catch_up(self.store, began_us)
        self.primed = True

    def table(
        self, benchmark: mteb.Benchmark, tasks: Sequence[str] | None = None
    ) -> BenchmarkTable:
        """`benchmark`'s table (or its `tasks` subset's) over every mirrored model.

        Raises ValueError for names that are not tasks of the benchmark.
        """
        return self.values(benchmark, tasks).table()

    def values(
        self,
        benchmark: mteb.Benchmark,
        tasks: Sequence[str] | None = None,
        threads: int | None = None,
    ) -> CompactTable:
        """`table`, its rows as lists; its bootstrap on `threads` threads (default: the cores)."""
        matrix = self.columns.matrix(benchmark, None if tasks is None else list(tasks))
        models = self.mirror.models(matrix.models)
        return summary_values(
            benchmark.name, matrix, models, self.bootstrap_resamples, seed=0, threads=threads
        )

    async def refresh(
        self, tasks: Iterable[str] = (), sync: bool = True
    ) -> list[BenchmarkLeaderboardDoc]:
        """Read new results (unless the caller just synced the mirror: `sync` False); recompute
        the benchmarks of `tasks` and of every changed task.

        The first call mirrors the store first, so only what changes after it counts as changed.
        Tables are computed (and encoded) in threads, as many at once as there are cores, each
        bootstrap on its share of the cores (one table's Python work overlaps another's numpy
        work); each document is written as soon as its table is.
        """
        async with self._refreshing:
            if not self.primed:
                await self.prime()
            noted, self._noted = self._noted, []
            for result in noted:  # the mirror changes only here, between table computations
                self.mirror.add(result)
            changed = await self.mirror.sync(self.store) if sync else set()
            chosen = benchmarks_containing(changed | set(tasks))
            at_once = min(len(chosen), TABLES_AT_ONCE)
            computing = asyncio.Semaphore(max(at_once, 1))
            threads = max(CORES // max(at_once, 1), 1)

            async def published(benchmark: mteb.Benchmark) -> BenchmarkLeaderboardDoc | None:
                async with computing:
                    table = await asyncio.to_thread(self.stored_form, benchmark, threads)
                return await self.publish(benchmark, table)

            updates = [asyncio.create_task(published(benchmark)) for benchmark in chosen]
            try:
                written = [await update for update in updates]
            finally:
                for update in updates:
                    update.cancel()
            return [leaderboard for leaderboard in written if leaderboard is not None]

    def stored_form(
        self, benchmark: mteb.Benchmark, threads: int | None = None
    ) -> tuple[EncodedTable, str]:
        """`benchmark`'s table and the JSON its document stores, the rows written from the
        pieces kept of its last table (`ranked_rows`); its bootstrap on `threads` threads."""
        matrix = self.columns.matrix(benchmark, None)
        table = summary_encoded(
            benchmark.name,
            matrix,
            self.mirror.models(matrix.models),
            self.bootstrap_resamples,
            seed=0,
            pieces=self._pieces.setdefault(benchmark.name, RowPieces()),
            threads=threads,
        )
        return table, table.to_json()

    async def recompute(self, benchmark: mteb.Benchmark) -> BenchmarkLeaderboardDoc | None:
        """Replace `benchmark`'s document and announce it; None without results."""
        return await self.publish(benchmark, self.stored_form(benchmark))

    async def publish(
        self, benchmark: mteb.Benchmark, table: tuple[EncodedTable, str]
    ) -> BenchmarkLeaderboardDoc | None:
        """Store a table (and its JSON) as `benchmark`'s document and announce it; None for a
        table without rows."""
        values, encoded = table
        if not values.rows:
            return None
        leaderboard = await self.replace(
            BenchmarkLeaderboardDoc(
                _id=benchmark_leaderboard_id(benchmark.name), name=benchmark.name, table=encoded
            )
        )
        if self.bus is not None:
            await announce(self.bus, leaderboard.id, leaderboard.version, leaderboard.generated_at)
        log.info("benchmark %s: version %d", benchmark.name, leaderboard.version)
        return leaderboard

    async def replace(
        self, leaderboard: BenchmarkLeaderboardDoc, attempts: int = 10
    ) -> BenchmarkLeaderboardDoc:
        """Store `leaderboard` one version above the stored one, in one guarded write.

        The stored document stands for its day's standings; when it is of an earlier day than
        `leaderboard`, it is kept as that day's snapshot first (`snapshots`), and snapshots
        past retention are dropped (then, and on this process's first write of a benchmark).
        The version this process wrote last is taken as the stored one, so an update costs
        one write; another writer's version makes it read the stored one and try again.
        """
        for _ in range(attempts):
            head = self._heads.get(leaderboard.id)
            if head is None:
                head = await self.store.benchmark_leaderboard_head(leaderboard.id)
                await prune_snapshots(
                    self.store,
                    leaderboard.name,
                    leaderboard.generated_at,
                    self.snapshot_retention_days,
                )
            if head is not None and head[1].date() < leaderboard.generated_at.date():
                previous = await self.store.get_benchmark_leaderboard(leaderboard.id)
                if previous is not None:
                    await take_snapshot(self.store, previous, self.snapshot_retention_days)
            stored = leaderboard.model_copy(update={"version": head[0] + 1 if head else 1})
            if await self.store.put_benchmark_leaderboard(stored):
                self._heads[stored.id] = (stored.version, stored.generated_at)
                return stored
            self._heads.pop(leaderboard.id, None)
        raise ConflictError(f"leaderboard {leaderboard.id} kept changing under the update")
