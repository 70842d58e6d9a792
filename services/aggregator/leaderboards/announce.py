"""The announcement of a changed leaderboard on the bus: a private task's or benchmark's on the
`lb.private.` subject only."""

from __future__ import annotations

from datetime import datetime

from shared.bus import Bus
from shared.custom_tasks import catalogue
from shared.events import LeaderboardUpdated, Subjects, Visibility


def task_is_private(task: str) -> bool:
    """Whether `task` is a private custom task (of the catalogue as it is now)."""
    custom = catalogue.CURRENT.tasks.get(task)
    return custom is not None and custom.visibility is Visibility.PRIVATE


def benchmark_is_private(benchmark: str) -> bool:
    """Whether `benchmark` is a private custom benchmark (of the catalogue as it is now)."""
    custom = catalogue.CURRENT.benchmarks.get(benchmark)
    return custom is not None and custom.visibility is Visibility.PRIVATE


async def announce(
    bus: Bus, leaderboard_id: str, version: int, generated_at: datetime, private: bool = False
) -> None:
    """Publish `lb.leaderboard.<id>.updated` (under `lb.private.` when `private`): a small
    event, never the table itself."""
    update = LeaderboardUpdated(
        leaderboard_id=leaderboard_id, version=version, generated_at=generated_at
    )
    await bus.publish(
        Subjects.leaderboard_updated(leaderboard_id, private=private),
        update,
        f"leaderboard:{leaderboard_id}:{version}",
    )
