"""Dated snapshots of benchmark leaderboards: at most one per benchmark and UTC day.

A day's snapshot is the last leaderboard document of that day. The current document stands for
its own day, so a snapshot is stored when a document of a later day replaces it, and a history
is the stored snapshots followed by the current document's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.documents import (
    BenchmarkLeaderboardDoc,
    SnapshotDoc,
    SnapshotRow,
    benchmark_leaderboard_id,
    snapshot_id,
)
from shared.store import Store


def snapshot_of(leaderboard: BenchmarkLeaderboardDoc) -> SnapshotDoc:
    """The standings of `leaderboard` on the day it was generated."""
    day = leaderboard.generated_at.date().isoformat()
    return SnapshotDoc(
        _id=snapshot_id(leaderboard.name, day),
        benchmark=leaderboard.name,
        day=day,
        version=leaderboard.version,
        generated_at=leaderboard.generated_at,
        rows=[
            SnapshotRow(
                model=row.model,
                revision=row.revision,
                rank_borda=row.rank_borda,
                rank_ci=row.rank_ci,
                mean_task=row.mean_task,
                mean_task_ci=row.mean_task_ci,
                mean_task_type=row.mean_task_type,
            )
            for row in leaderboard.table.rows
        ],
    )


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


async def history(store: Store, benchmark: str) -> list[SnapshotDoc]:
    """`benchmark`'s snapshots by day, the current document's day from the document itself."""
    snapshots = await store.snapshots_of(benchmark)
    current = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(benchmark))
    if current is None:
        return snapshots
    today = snapshot_of(current)
    return [s for s in snapshots if s.day < today.day] + [today]
