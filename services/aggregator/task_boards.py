"""Per-task leaderboards recomputed from the stored results, and the update announcement."""

from __future__ import annotations

from datetime import datetime

from services.aggregator.rankings import task_leaderboard
from shared.bus import Bus
from shared.documents import LeaderboardDoc, ResultDoc
from shared.events import LeaderboardUpdated, Subjects
from shared.store import Store


async def announce(bus: Bus, leaderboard_id: str, version: int, generated_at: datetime) -> None:
    """Publish `lb.leaderboard.<id>.updated`: a small event, never the table itself."""
    update = LeaderboardUpdated(
        leaderboard_id=leaderboard_id, version=version, generated_at=generated_at
    )
    await bus.publish(
        Subjects.leaderboard_updated(leaderboard_id),
        update,
        f"leaderboard:{leaderboard_id}:{version}",
    )


async def refresh_task_leaderboard(
    store: Store, bus: Bus | None, task: str, results: list[ResultDoc] | None = None
) -> LeaderboardDoc:
    """Recompute and replace one task's leaderboard, then announce it when there is a bus.

    `results` are the task's stored results when the caller holds them already (listings, as
    `Store.results_for_task` gives them); else they are read from the store.
    """
    if results is None:
        results = await store.results_for_task(task)
    stored = await store.replace_leaderboard(task_leaderboard(task, results))
    if bus is not None:
        await announce(bus, stored.id, stored.version, stored.generated_at)
    return stored
