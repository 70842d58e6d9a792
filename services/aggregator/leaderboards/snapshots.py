"""Dated snapshots of benchmark leaderboards: at most one per benchmark and UTC day.

A day's snapshot is the last leaderboard document of that day. The current document stands for
its own day, so a snapshot is stored when a document of a later day replaces it, and a history
is the stored snapshots followed by the current document's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.documents import BenchmarkLeaderboardDoc, SnapshotDoc
from shared.store import Store
from shared.summary.history import snapshot_of


async def take_snapshot(
    store: Store, leaderboard: BenchmarkLeaderboardDoc, retention_days: int
) -> SnapshotDoc:
    """Store the day's snapshot (replacing an earlier one of that day), drop expired ones."""
    snapshot = snapshot_of(leaderboard)
    await store.put_snapshot(snapshot)
    await prune_snapshots(store, leaderboard.name, leaderboard.generated_at, retention_days)
    return snapshot


async def prune_snapshots(store: Store, benchmark: str, now: datetime, retention_days: int) -> None:
    """Drop `benchmark`'s snapshots older than `retention_days` before `now`."""
    oldest_kept = now.date() - timedelta(days=retention_days)
    await store.prune_snapshots(benchmark, oldest_kept.isoformat())
