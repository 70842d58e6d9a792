"""Benchmark leaderboards: each benchmark's table recomputed from the mirrored results, stored
and announced; mteb's registry benchmarks and the custom benchmarks of the catalogue alike."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import mteb

from services.aggregator.leaderboards.announce import announce, benchmark_is_private
from services.aggregator.leaderboards.snapshots import prune_snapshots, take_snapshot
from shared.bus import Bus
from shared.documents import BenchmarkLeaderboardDoc, ResultDoc, benchmark_leaderboard_id
from shared.store import UNLISTED, ConflictError, Store
from shared.summary.mirror import ResultMirror, TaskParts
from shared.summary.table import BenchmarkTable
from shared.summary.tasks import (
    UnknownBenchmarkError,
    benchmark_named,
    benchmarks_containing,
    custom_benchmark,
    is_custom_benchmark,
)

log = logging.getLogger(__name__)

ALL_DAYS = "9999-12-31"
"""A day after every snapshot's: pruning before it drops them all."""


@dataclass(frozen=True)
class CatalogueChange:
    """What changed in the catalogue of custom tasks and benchmarks between two reads."""

    deleted_tasks: frozenset[str] = frozenset()
    revised_tasks: frozenset[str] = frozenset()
    """Tasks new to this process or given new data: their results' staleness is read again."""
    changed_benchmarks: frozenset[str] = frozenset()
    """Custom benchmarks new to this process, or whose tasks, description or visibility changed."""
    deleted_benchmarks: frozenset[str] = frozenset()
    republished_tasks: frozenset[str] = frozenset()
    """Tasks whose visibility changed (their leaderboards are announced elsewhere now)."""

    def __bool__(self) -> bool:
        return any(
            (
                self.deleted_tasks,
                self.revised_tasks,
                self.changed_benchmarks,
                self.deleted_benchmarks,
                self.republished_tasks,
            )
        )


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
        self.parts = TaskParts(self.mirror)
        self._refreshing = asyncio.Lock()
        self._noted: list[ResultDoc] = []
        """Results stored by this process, mirrored by the next `refresh` (`note_stored`)."""
        self._heads: dict[str, tuple[int, datetime]] = {}
        """Per leaderboard, the version and time of this process's last write of it."""
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
        """`benchmark`'s table (or its `tasks` subset's) over every mirrored result.

        Raises ValueError for names that are not tasks of the benchmark.
        """
        return self.parts.table(benchmark, tasks, self.bootstrap_resamples)

    async def refresh(
        self, tasks: Iterable[str] = (), sync: bool = True
    ) -> list[BenchmarkLeaderboardDoc]:
        """Read new results (unless the caller just synced the mirror: `sync` False); recompute
        the benchmarks of `tasks` and of every changed task, each in a worker thread, and store
        each document as soon as its table is ready.

        The first call mirrors the store first, so only what changes after it counts as changed.
        """
        async with self._refreshing:
            if not self.primed:
                await self.prime()
            noted, self._noted = self._noted, []
            for result in noted:  # the mirror changes only here, between table computations
                self.mirror.add(result)
            changed = await self.mirror.sync(self.store) if sync else set()
            return await self._recompute_all(benchmarks_containing(changed | set(tasks)))

    async def catalogue_changed(self, change: CatalogueChange) -> list[BenchmarkLeaderboardDoc]:
        """Follow a change of the custom catalogue (`catalogue.CURRENT` is the new one): forget
        deleted tasks' results, read revised tasks' staleness again, recompute the benchmarks
        holding either and the changed custom benchmarks, drop deleted benchmarks' documents."""
        async with self._refreshing:
            if not self.primed:
                await self.prime()
            for task in change.deleted_tasks:
                self.mirror.drop_task(task)
                self.parts.forget(task)
            for task in change.revised_tasks:
                self.mirror.restale(task)
            for name in change.deleted_benchmarks:
                await self.forget(name)
            touched = change.deleted_tasks | change.revised_tasks
            chosen = {benchmark.name: benchmark for benchmark in benchmarks_containing(touched)}
            for name in change.changed_benchmarks - chosen.keys():
                benchmark = custom_benchmark(name)
                if benchmark is not None:
                    chosen[name] = benchmark
            return await self._recompute_all(chosen[name] for name in sorted(chosen))

    async def prune_orphans(self) -> list[str]:
        """Drop the documents of benchmarks that neither mteb's registry nor the catalogue
        knows (custom benchmarks deleted while no aggregator ran); their names."""
        dropped = []
        for stored in await self.store.list_leaderboards("benchmark"):
            try:
                benchmark_named(stored.name)
            except UnknownBenchmarkError:
                await self.forget(stored.name)
                dropped.append(stored.name)
        return dropped

    async def forget(self, name: str) -> None:
        """Delete benchmark `name`'s document and snapshots (a deleted custom benchmark)."""
        leaderboard_id = benchmark_leaderboard_id(name)
        self._heads.pop(leaderboard_id, None)
        await self.store.prune_snapshots(name, ALL_DAYS)
        if await self.store.benchmark_leaderboard_head(leaderboard_id) is not None:
            await self.store.delete_leaderboard(leaderboard_id)
            await self.store.bump_data_version()
            log.info("benchmark %s: deleted", name)

    async def _recompute_all(
        self, benchmarks: Iterable[mteb.Benchmark]
    ) -> list[BenchmarkLeaderboardDoc]:
        """Recompute each benchmark in a worker thread, storing each document as soon as its
        table is ready; a custom benchmark left without rows loses its document."""
        written = []
        for benchmark in benchmarks:
            document = await asyncio.to_thread(self.document, benchmark)
            if document is None and is_custom_benchmark(benchmark.name):
                await self.forget(benchmark.name)
            leaderboard = await self.publish(document)
            if leaderboard is not None:
                written.append(leaderboard)
        return written

    async def recompute(self, benchmark: mteb.Benchmark) -> BenchmarkLeaderboardDoc | None:
        """Replace `benchmark`'s document and announce it; None without results."""
        return await self.publish(await asyncio.to_thread(self.document, benchmark))

    def document(self, benchmark: mteb.Benchmark) -> BenchmarkLeaderboardDoc | None:
        """`benchmark`'s document of its table now (the CPU part of an update, for a worker
        thread); None for a table without rows."""
        table = self.table(benchmark)
        if not table.rows:
            return None
        return BenchmarkLeaderboardDoc(
            _id=benchmark_leaderboard_id(benchmark.name),
            name=benchmark.name,
            table=table.model_dump_json(),
        )

    async def publish(
        self, document: BenchmarkLeaderboardDoc | None
    ) -> BenchmarkLeaderboardDoc | None:
        """Store `document` (one version up) and announce it (a private custom benchmark's on
        the private subject); None for none."""
        if document is None:
            return None
        leaderboard = await self.replace(document)
        if self.bus is not None:
            private = benchmark_is_private(leaderboard.name)
            await announce(
                self.bus, leaderboard.id, leaderboard.version, leaderboard.generated_at, private
            )
        log.info("benchmark %s: version %d", leaderboard.name, leaderboard.version)
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
