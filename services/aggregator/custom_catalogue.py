"""The custom tasks and benchmarks the aggregator knows, followed as they change.

The catalogue (`shared.custom_tasks.catalogue`) is read again on every task event
(`lb.tasks.>`, `lb.private.tasks.>`), on a result naming a task it does not know, and every
`INTERVAL_S`: custom benchmarks have no events of their own, and another aggregator may have
taken a task event. Each read is compared with the previous one (`changes`), and what changed
is followed: a deleted task's results leave the mirror and its leaderboard goes, a task with new
data has its results' staleness read again and its leaderboard recomputed, and every benchmark
holding such a task is recomputed, as is a custom benchmark that is new or changed; a deleted
custom benchmark's document and snapshots go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater, CatalogueChange
from services.aggregator.leaderboards.tasks import refresh_task_leaderboard
from shared.bus import Bus
from shared.custom_tasks import catalogue
from shared.custom_tasks.catalogue import Catalogue
from shared.documents import task_leaderboard_id
from shared.store import Store

log = logging.getLogger(__name__)

INTERVAL_S = 10.0
"""How often the catalogue is read again without an event."""


def changes(previous: Catalogue, current: Catalogue) -> CatalogueChange:
    """What changed from `previous` to `current`; tasks and benchmarks that `previous` lacks
    count as revised and changed."""
    before, after = previous.tasks, current.tasks
    return CatalogueChange(
        deleted_tasks=frozenset(before.keys() - after.keys()),
        revised_tasks=frozenset(
            name
            for name, task in after.items()
            if name not in before or before[name].spec.revision != task.spec.revision
        ),
        republished_tasks=frozenset(
            name
            for name, task in after.items()
            if name in before and before[name].visibility is not task.visibility
        ),
        changed_benchmarks=frozenset(
            name
            for name, benchmark in current.benchmarks.items()
            if previous.benchmarks.get(name) != benchmark
        ),
        deleted_benchmarks=frozenset(previous.benchmarks.keys() - current.benchmarks.keys()),
    )


class CatalogueWatch:
    """Reads the catalogue and follows its changes (`changes`), one read at a time."""

    def __init__(self, store: Store, bus: Bus | None, benchmarks: BenchmarkUpdater) -> None:
        self.store = store
        self.bus = bus
        self.benchmarks = benchmarks
        self.known = Catalogue()
        """The catalogue as this watch last followed it (empty before the first read)."""
        self._reading = asyncio.Lock()

    async def sync(self) -> CatalogueChange:
        """Read the catalogue, install it, and follow what changed since the last read."""
        async with self._reading:
            previous = self.known
            current = await catalogue.refresh(self.store)
            change = changes(previous, current)
            if change:
                await self.follow(previous, change)
            self.known = current
            return change

    async def follow(self, previous: Catalogue, change: CatalogueChange) -> None:
        """Apply `change` to the mirror, the benchmark documents and the task leaderboards."""
        await self.benchmarks.catalogue_changed(change)
        for task in sorted(change.deleted_tasks):
            await self.store.delete_leaderboard(task_leaderboard_id(task))
            await self.store.bump_data_version()
            log.info("custom task %s: deleted", task)
        known_before = previous.tasks.keys()
        relisted = (change.revised_tasks & known_before) | change.republished_tasks
        for task in sorted(relisted):
            if self.benchmarks.mirror.results_of_task(task):
                await refresh_task_leaderboard(self.store, self.bus, task)

    async def run(self, stop: asyncio.Event) -> None:
        """`sync` every `INTERVAL_S` until `stop`; a failed read is tried again next time."""
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), INTERVAL_S)
            if stop.is_set():
                return
            try:
                await self.sync()
            except Exception as error:  # the store is away, say: read again next time
                log.warning("reading the custom task catalogue failed: %r", error)
