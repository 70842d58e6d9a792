"""A benchmark's history: its dated snapshots, the current document standing for its own day."""

from __future__ import annotations

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


async def history(store: Store, benchmark: str) -> list[SnapshotDoc]:
    """`benchmark`'s snapshots by day, the current document's day from the document itself."""
    snapshots = await store.snapshots_of(benchmark)
    current = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(benchmark))
    if current is None:
        return snapshots
    today = snapshot_of(current)
    return [s for s in snapshots if s.day < today.day] + [today]
