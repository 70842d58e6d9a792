"""`Store.data_version`: every write of what the pages show moves it; reads and lost writes do
not (the web caches rendered pages by it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from shared.documents import BenchmarkLeaderboardDoc, ModelDoc, ModelRevision, SnapshotDoc
from shared.store import Store
from tests.shared.test_store import T0, leaderboard, result

Write = Callable[[Store], Awaitable[object]]


def model(name: str = "org/model") -> ModelDoc:
    return ModelDoc(_id=name, revisions=[ModelRevision(revision="r1")])


def benchmark_leaderboard(version: int) -> BenchmarkLeaderboardDoc:
    return BenchmarkLeaderboardDoc(
        _id="benchmark:b", name="b", table='{"tasks": []}', version=version
    )


def snapshot(day: str) -> SnapshotDoc:
    return SnapshotDoc(_id=f"b|{day}", benchmark="b", day=day, version=1, generated_at=T0, rows=[])


WRITES: dict[str, Write] = {
    "upsert_result": lambda store: store.upsert_result(result("BIOSSES")),
    "insert_result_documents": lambda store: store.insert_result_documents(
        [result("SciFact").to_mongo()]
    ),
    "write_result_documents": lambda store: store.write_result_documents(
        [result("STS12").to_mongo()], over_evaluated=True
    ),
    "replace_models": lambda store: store.replace_models([(model(), None)]),
    "replace_model": lambda store: store.replace_model(model("org/other"), None),
    "replace_leaderboard": lambda store: store.replace_leaderboard(leaderboard("BIOSSES")),
    "put_benchmark_leaderboard": lambda store: store.put_benchmark_leaderboard(
        benchmark_leaderboard(1)
    ),
    "put_snapshot": lambda store: store.put_snapshot(snapshot("2026-01-01")),
}


async def test_data_version_is_zero_before_any_write(store: Store) -> None:
    assert await store.data_version() == 0


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
async def test_every_write_of_shown_data_moves_the_version(store: Store, write: Write) -> None:
    before = await store.data_version()
    await write(store)
    assert await store.data_version() > before


async def test_lost_writes_and_reads_leave_the_version(store: Store) -> None:
    await store.put_benchmark_leaderboard(benchmark_leaderboard(1))
    await store.replace_model(model(), None)
    version = await store.data_version()
    assert not await store.put_benchmark_leaderboard(benchmark_leaderboard(1))  # exists
    assert not await store.put_benchmark_leaderboard(benchmark_leaderboard(5))  # not its turn
    assert not await store.replace_model(model(), None)
    await store.get_benchmark_leaderboard("benchmark:b")
    await store.list_leaderboards("task")
    assert await store.data_version() == version


async def test_pruning_snapshots_moves_the_version_only_when_one_goes(store: Store) -> None:
    await store.put_snapshot(snapshot("2026-01-01"))
    version = await store.data_version()
    assert await store.prune_snapshots("b", "2025-01-01") == 0
    assert await store.data_version() == version
    assert await store.prune_snapshots("b", "2027-01-01") == 1
    assert await store.data_version() > version
