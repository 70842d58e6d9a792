"""The announcement of a changed leaderboard on the bus."""

from __future__ import annotations

from datetime import datetime

from shared.bus import Bus
from shared.events import LeaderboardUpdated, Subjects


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
