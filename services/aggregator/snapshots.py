"""Dated snapshots of benchmark leaderboards: at most one per benchmark and UTC day."""

from __future__ import annotations

from datetime import timedelta

from shared.documents import BenchmarkLeaderboardDoc, SnapshotDoc, SnapshotRow, snapshot_id
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
    oldest_kept = leaderboard.generated_at.date() - timedelta(days=retention_days)
    await store.prune_snapshots(leaderboard.name, oldest_kept.isoformat())
    return snapshot
