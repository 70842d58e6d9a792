"""Live results update only their benchmarks' documents: versioned, announced, snapshotted daily."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import mteb
import pytest
from mteb.models.model_implementations import MODEL_REGISTRY
from mteb.results import TaskResult

from services.aggregator.handlers import Aggregator
from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.aggregator.results.intake import result_doc
from shared.bus import RESULTS, Bus, InvalidMessage
from shared.documents import (
    BenchmarkLeaderboardDoc,
    SnapshotDoc,
    SubmissionDoc,
    TaskProgress,
    benchmark_leaderboard_id,
    snapshot_id,
    task_leaderboard_id,
)
from shared.events import LeaderboardUpdated, ResultEvent, Subjects, utcnow
from shared.store import Store
from shared.summary.history import history
from shared.summary.mirror import ResultMirror
from shared.summary.table import summarize
from shared.summary.tasks import benchmarks_containing
from tests.support.aggregation_fixtures import run_import
from tests.support.helpers import make_envelope
from tests.support.synthetic_results import BGE, MINILM, QWEN2, synthetic_checkout
from tests.support.synthetic_results import task_result as synthetic_result

ENG_V2 = "MTEB(eng, v2)"
NEW_MODEL = "org/new-model"
SMALL = (MINILM, BGE, QWEN2)


@pytest.fixture
async def seeded(store: Store, tmp_path: Path) -> Store:
    await run_import(store, synthetic_checkout(tmp_path / "checkout", SMALL), resamples=20)
    return store


def biosses_result(score: float) -> dict[str, Any]:
    """all-MiniLM-L6-v2's BIOSSES TaskResult JSON with its main score set to `score`."""
    data = json.loads(synthetic_result(mteb.get_task("BIOSSES"), MINILM, "r1").model_dump_json())
    data["scores"]["test"][0]["main_score"] = score
    return data


async def deliver(bus: Bus, store: Store, event: ResultEvent, aggregator: Aggregator) -> None:
    """Publish `event` on its subject and hand the delivered message to `on_result`."""
    subject = Subjects.result(event.submission_id, event.task)
    await bus.publish(subject, event, f"result:{event.submission_id}:{event.task}")
    pull = await bus.pull(RESULTS, f"test-{uuid.uuid4().hex[:8]}", subject)
    [msg] = await pull.fetch(1, timeout=10)
    await aggregator.on_result(msg)


async def submit(store: Store, model: str, task: str) -> str:
    submission_id = uuid.uuid4().hex
    await store.insert_submission(
        SubmissionDoc(
            _id=submission_id, model=model, revision="r1", tasks=[TaskProgress(task=task)]
        )
    )
    return submission_id


def result_event(submission_id: str, task_result: dict[str, Any], task: str) -> ResultEvent:
    return ResultEvent(
        submission_id=submission_id,
        model=NEW_MODEL,
        revision="r1",
        task=task,
        main_score=0.0,
        task_result=task_result,
        envelope=make_envelope(model=NEW_MODEL, task=task),
    )


async def versions(store: Store) -> dict[str, int]:
    cursor = store.leaderboards.find({"kind": "benchmark"}, {"table": 0})
    return {doc["_id"]: doc["version"] async for doc in cursor}


async def test_a_live_result_recomputes_only_the_benchmarks_of_its_task(
    seeded: Store, bus: Bus
) -> None:
    store = seeded
    before = await versions(store)
    updater = BenchmarkUpdater(store, bus, bootstrap_resamples=20)
    aggregator = Aggregator(bus, store, updater)
    received: list[LeaderboardUpdated] = []

    async def collect(msg: Any) -> None:
        received.append(LeaderboardUpdated.model_validate_json(msg.data))

    subscription = await bus.client.subscribe("lb.leaderboard.>", cb=collect)
    submission_id = await submit(store, NEW_MODEL, "BIOSSES")
    try:
        await deliver(
            bus, store, result_event(submission_id, biosses_result(0.91), "BIOSSES"), aggregator
        )
        await bus.client.flush()
        await asyncio.sleep(0.2)
    finally:
        await subscription.unsubscribe()

    after = await versions(store)
    affected = {benchmark_leaderboard_id(b.name) for b in benchmarks_containing(["BIOSSES"])}
    assert affected == {benchmark_leaderboard_id("MTEB(eng, v1)"), benchmark_leaderboard_id(ENG_V2)}
    assert {name for name in after if after[name] != before.get(name)} == affected
    assert all(after[name] == before[name] + 1 for name in affected)
    stored = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(ENG_V2))
    assert stored is not None
    [new_row] = [row for row in stored.table.rows if row.model == NEW_MODEL]
    assert new_row.task_scores["BIOSSES"] == 0.91
    assert new_row.mean_task is None  # one task of 41: no mean, as in mteb
    announced = {(e.leaderboard_id, e.version) for e in received}
    assert {(name, after[name]) for name in affected} <= announced
    task_board = await store.get_leaderboard(task_leaderboard_id("BIOSSES"))
    assert task_board is not None
    assert {row.model for row in task_board.rows} == {*SMALL, NEW_MODEL}
    submission = await store.get_submission(submission_id)
    assert submission is not None and submission.status == "completed"


async def test_a_result_noted_as_stored_is_mirrored_without_reading_it_back(
    seeded: Store,
) -> None:
    store = seeded
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=0)
    await updater.refresh()
    task_result = TaskResult.model_validate(biosses_result(0.77))
    result = result_doc(task_result, NEW_MODEL, "r1", source="evaluator")
    updater.note_stored(result, await store.upsert_result(result))

    [v1, v2] = await updater.refresh(["BIOSSES"], sync=False)

    for board in (v1, v2):
        [row] = [row for row in board.table.rows if row.model == NEW_MODEL]
        assert row.task_scores["BIOSSES"] == 0.77
    [listed] = [r for r in updater.mirror.results_of_task("BIOSSES") if r.model == NEW_MODEL]
    assert listed.task_result == {} and listed.task_result_z == ""  # as the store lists it
    [read] = [r for r in await store.results_for_task("BIOSSES") if r.model == NEW_MODEL]
    assert listed == read


async def test_a_result_of_another_or_unknown_task_is_refused_and_stores_nothing(
    seeded: Store, bus: Bus
) -> None:
    store = seeded
    aggregator = Aggregator(bus, store, BenchmarkUpdater(store, None, bootstrap_resamples=0))
    unknown = biosses_result(0.5) | {"task_name": "NoSuchTask"}
    count = await store.results.count_documents({})
    refused = [
        (biosses_result(0.5), "holds a TaskResult of BIOSSES"),
        (unknown, "unknown task 'NoSuchTask'"),
        ({"scores": 1}, "scores: "),
    ]

    for task_result, reason in refused:
        submission_id = await submit(store, NEW_MODEL, "STSBenchmark")
        event = result_event(submission_id, task_result, "STSBenchmark")
        with pytest.raises(InvalidMessage, match=reason):
            await deliver(bus, store, event, aggregator)
    stray = result_event("no-such-submission", biosses_result(0.5), "BIOSSES")
    with pytest.raises(InvalidMessage, match="belongs to no such task of a submission"):
        await deliver(bus, store, stray, aggregator)

    assert await store.results.count_documents({}) == count


async def test_one_snapshot_per_day_the_latest_winning_and_old_ones_dropped(
    seeded: Store,
) -> None:
    store = seeded
    today = utcnow().date()
    old_days = [today - timedelta(days=400), today - timedelta(days=10)]
    for day in old_days:
        await store.put_snapshot(
            SnapshotDoc(
                _id=snapshot_id(ENG_V2, day.isoformat()),
                benchmark=ENG_V2,
                day=day.isoformat(),
                version=0,
                generated_at=utcnow(),
                rows=[],
            )
        )
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=20, snapshot_retention_days=365)
    await updater.prime()
    benchmark = benchmarks_containing(["BIOSSES"])[-1]
    first = await updater.recompute(benchmark)
    second = await updater.recompute(benchmark)

    assert first is not None and second is not None and benchmark.name == ENG_V2
    assert [s.day for s in await store.snapshots_of(ENG_V2)] == [old_days[1].isoformat()]
    snapshots = await history(store, ENG_V2)
    assert [s.day for s in snapshots] == [old_days[1].isoformat(), today.isoformat()]
    assert snapshots[-1].version == second.version == first.version + 1
    ranks = {row.model: row.rank_borda for row in second.table.rows}
    assert {row.model: row.rank_borda for row in snapshots[-1].rows} == ranks


async def test_concurrent_replacements_get_distinct_versions(store: Store) -> None:
    board = BenchmarkLeaderboardDoc.model_validate(
        {
            "_id": benchmark_leaderboard_id("tiny"),
            "name": "tiny",
            "table": {"benchmark": "tiny", "tasks": [], "task_types": [], "rows": []},
        }
    )

    writers = [BenchmarkUpdater(store, None) for _ in range(5)]  # as five aggregator processes

    stored = await asyncio.gather(*(writer.replace(board) for writer in writers))
    again = await writers[0].replace(board)  # its known version is stale now

    assert sorted(s.version for s in stored) == [1, 2, 3, 4, 5]
    assert again.version == 6
    final = await store.get_benchmark_leaderboard(board.id)
    assert final is not None and final.version == 6 and final.table == board.table


async def test_a_new_day_keeps_the_previous_days_last_document_as_its_snapshot(
    seeded: Store,
) -> None:
    store = seeded
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=0)
    await updater.prime()
    benchmark = mteb.get_benchmark(ENG_V2)
    first = await updater.recompute(benchmark)
    assert first is not None and await store.snapshots_of(ENG_V2) == []
    yesterday = first.generated_at - timedelta(days=1)
    yesterdays = first.model_copy(update={"generated_at": yesterday})
    await store.leaderboards.replace_one({"_id": first.id}, yesterdays.to_mongo())
    later = BenchmarkUpdater(store, None, bootstrap_resamples=0)  # another process
    await later.prime()

    second = await later.recompute(benchmark)

    assert second is not None and second.version == first.version + 1
    stored = await store.snapshots_of(ENG_V2)
    assert [(s.day, s.version) for s in stored] == [(yesterday.date().isoformat(), first.version)]
    assert [s.version for s in await history(store, ENG_V2)] == [first.version, second.version]


async def test_incremental_updates_equal_tables_rebuilt_from_scratch(seeded: Store) -> None:
    store = seeded
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=50)
    await updater.refresh()
    minilm_revision = MODEL_REGISTRY[MINILM].revision or "main"
    changes = [
        (NEW_MODEL, "r1", 0.91),  # a new model
        (NEW_MODEL, "r1", 0.2),  # its score changed
        (NEW_MODEL, "r2", 0.5),  # a second revision of it
        (MINILM, "not-the-main-one", 0.99),  # a registry model's other revision
        (MINILM, minilm_revision, 0.01),  # its main revision's score changed
    ]
    for model, revision, score in changes:
        task_result = TaskResult.model_validate(biosses_result(score))
        await store.upsert_result(result_doc(task_result, model, revision, source="evaluator"))

        updated = await updater.refresh()

        rebuilt = ResultMirror()
        await rebuilt.sync(store)
        assert {board.name for board in updated} == {
            b.name for b in benchmarks_containing(["BIOSSES"])
        }
        for board in updated:
            benchmark = mteb.get_benchmark(board.name)
            names = dict.fromkeys(task.metadata.name for task in benchmark.tasks)
            rows = list(rebuilt.rows(names))
            assert board.table == summarize(benchmark, rows, rebuilt.meta, bootstrap_resamples=50)
            stored = await store.get_benchmark_leaderboard(board.id)
            assert stored is not None and (stored.version, stored.table) == (
                board.version,
                board.table,
            )
