"""The `Store` of shared/store.py, against whatever `mongodb_url` is (DESIGN §6)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient

from shared.documents import (
    LeaderboardDoc,
    LeaderboardRow,
    ModelDoc,
    ModelRevision,
    ResultDoc,
    StatusChange,
    SubmissionDoc,
    SubmissionStatus,
    TaskProgress,
    task_leaderboard_id,
)
from shared.events import Envelope, Priority, TaskState
from shared.store import ConflictError, Store
from tests.support.helpers import make_envelope

# Millisecond precision: what MongoDB keeps of a datetime.
T0 = datetime(2025, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"


def submission(submission_id: str = "sub-1", tasks: int = 2) -> SubmissionDoc:
    """A submission with every field set away from its default."""
    return SubmissionDoc(
        id=submission_id,
        model="org/model",
        revision=SHA,
        requested_revision="main",
        benchmark="MTEB(eng, v2)",
        priority=Priority.HIGH,
        status=SubmissionStatus.QUEUED,
        reason="because",
        tasks=[
            TaskProgress(
                task=f"Task{i}",
                state=TaskState.RUNNING,
                reason=None,
                main_score=0.5 + i / 10,
                evaluator_id=f"ev-{i}",
                updated_at=T0 + timedelta(seconds=i),
            )
            for i in range(tasks)
        ],
        history=[
            StatusChange(status=SubmissionStatus.ACCEPTED, at=T0),
            StatusChange(status=SubmissionStatus.QUEUED, at=T0 + timedelta(milliseconds=1)),
        ],
        created_at=T0,
        updated_at=T0 + timedelta(minutes=1),
        version=3,
    )


def envelope(task: str) -> Envelope:
    return make_envelope(revision=SHA, task=task)


def result(task: str, score: float = 0.75, model: str = "org/model") -> ResultDoc:
    return ResultDoc(
        id=f"{model}@{SHA}|{task}|2.26",
        model=model,
        revision=SHA,
        task=task,
        main_score=score,
        submission_id="sub-1",
        task_result={"task_name": task, "scores": {"test": [{"main_score": score}]}},
        envelope=envelope(task),
        evaluated_at=T0,
    )


def leaderboard(name: str, kind: str = "task", models: int = 2, version: int = 1) -> LeaderboardDoc:
    return LeaderboardDoc(
        id=task_leaderboard_id(name) if kind == "task" else name,
        kind=kind,
        name=name,
        rows=[
            LeaderboardRow(
                rank=i + 1,
                model=f"org/m{i}",
                revision=SHA,
                main_score=0.9 - i / 10,
                evaluated_at=T0,
                submission_id=f"sub-{i}",
            )
            for i in range(models)
        ],
        generated_at=T0,
        version=version,
    )


def assert_aware_utc(moment: datetime) -> None:
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)


# submissions


async def test_insert_and_get_submission_round_trips_every_field(store: Store) -> None:
    stored = submission()
    await store.insert_submission(stored)
    found = await store.get_submission("sub-1")
    assert found == stored
    assert found is not None
    for moment in [
        found.created_at,
        found.updated_at,
        *(change.at for change in found.history),
        *(progress.updated_at for progress in found.tasks),
    ]:
        assert_aware_utc(moment)
    assert found.priority is Priority.HIGH
    assert found.status is SubmissionStatus.QUEUED
    assert found.tasks[1].state is TaskState.RUNNING


async def test_submission_datetimes_are_kept_to_the_millisecond(store: Store) -> None:
    stored = submission()
    stored.created_at = T0.replace(microsecond=123456)
    await store.insert_submission(stored)
    found = await store.get_submission("sub-1")
    assert found is not None
    assert found.created_at == T0.replace(microsecond=123000)
    assert_aware_utc(found.created_at)


async def test_get_missing_submission_returns_none(store: Store) -> None:
    assert await store.get_submission("nope") is None


async def test_update_submission_applies_change_and_bumps_version(store: Store) -> None:
    await store.insert_submission(submission())

    def start(doc: SubmissionDoc) -> None:
        doc.set_status(SubmissionStatus.RUNNING)
        doc.tasks[0].state = TaskState.DONE

    updated = await store.update_submission("sub-1", start)
    assert updated is not None
    assert updated.version == 4
    assert updated.status is SubmissionStatus.RUNNING
    assert [change.status for change in updated.history][-1] is SubmissionStatus.RUNNING
    assert updated.tasks[0].state is TaskState.DONE
    assert updated.updated_at > T0 + timedelta(minutes=1)
    assert_aware_utc(updated.updated_at)
    assert await store.get_submission("sub-1") == updated


async def test_update_missing_submission_returns_none(store: Store) -> None:
    calls: list[SubmissionDoc] = []
    assert await store.update_submission("nope", calls.append) is None
    assert calls == []


async def test_concurrent_updates_all_apply(store: Store) -> None:
    await store.insert_submission(submission(tasks=10))

    def finish(index: int) -> Any:
        def change(doc: SubmissionDoc) -> None:
            doc.tasks[index].state = TaskState.DONE
            doc.tasks[index].main_score = float(index)
            doc.history.append(StatusChange(status=SubmissionStatus.RUNNING, at=T0))
            doc.reason = f"task {index}"

        return change

    await asyncio.gather(*(store.update_submission("sub-1", finish(i)) for i in range(10)))
    found = await store.get_submission("sub-1")
    assert found is not None
    assert found.version == 3 + 10
    assert [progress.state for progress in found.tasks] == [TaskState.DONE] * 10
    assert [progress.main_score for progress in found.tasks] == [float(i) for i in range(10)]
    assert len(found.history) == 2 + 10


async def test_update_submission_gives_up_when_every_attempt_loses(
    store: Store, mongodb_url: str
) -> None:
    await store.insert_submission(submission())
    rival: MongoClient[dict[str, Any]] = MongoClient(mongodb_url)
    try:
        rival_submissions = rival[store.db.name]["submissions"]

        def change_while_a_rival_writes(doc: SubmissionDoc) -> None:
            rival_submissions.update_one({"_id": "sub-1"}, {"$inc": {"version": 1}})
            doc.reason = "lost"

        with pytest.raises(ConflictError):
            await store.update_submission("sub-1", change_while_a_rival_writes, attempts=3)
    finally:
        rival.close()
    found = await store.get_submission("sub-1")
    assert found is not None
    assert found.version == 3 + 3
    assert found.reason == "because"


# results


async def test_upsert_result_twice_keeps_one_document(store: Store) -> None:
    await store.upsert_result(result("BIOSSES", score=0.5))
    await store.upsert_result(result("BIOSSES", score=0.8))
    assert await store.results.count_documents({}) == 1
    stored = await store.results.find_one({"_id": f"org/model@{SHA}|BIOSSES|2.26"})
    assert stored is not None
    assert stored["stored_us"] > 0  # stamped by the store when written
    assert ResultDoc.model_validate(stored | {"stored_us": 0}) == result("BIOSSES", score=0.8)


async def test_results_for_task_returns_only_that_task_without_payload(store: Store) -> None:
    await store.upsert_result(result("BIOSSES", model="org/a"))
    await store.upsert_result(result("BIOSSES", model="org/b", score=0.6))
    await store.upsert_result(result("SciFact", model="org/a"))
    found = await store.results_for_task("BIOSSES")
    assert sorted(doc.id for doc in found) == [
        f"org/a@{SHA}|BIOSSES|2.26",
        f"org/b@{SHA}|BIOSSES|2.26",
    ]
    for doc in found:
        assert doc.task == "BIOSSES"
        assert doc.task_result == {}
        assert doc.envelope == envelope("BIOSSES")
        assert doc.evaluated_at == T0
        assert_aware_utc(doc.evaluated_at)
    assert {doc.model: doc.main_score for doc in found} == {"org/a": 0.75, "org/b": 0.6}
    assert await store.results_for_task("STS12") == []


async def test_result_stamps_since_list_recent_results_and_results_listed_fetches_them(
    store: Store,
) -> None:
    await store.upsert_result(result("BIOSSES", model="org/old"))
    stamps = await store.result_stamps_since(0)
    (old_stamp,) = stamps.values()
    await store.upsert_result(result("BIOSSES", model="org/new"))
    await store.upsert_result(result("SciFact", model="org/new"))
    recent = await store.result_stamps_since(old_stamp + 1)
    assert sorted(recent) == [f"org/new@{SHA}|BIOSSES|2.26", f"org/new@{SHA}|SciFact|2.26"]
    assert all(stamp > old_stamp for stamp in recent.values())
    assert await store.result_stamps_since(old_stamp + 1, source="import") == {}
    listed = await store.results_listed([*recent, "not/stored"])
    assert {doc.id: doc.stored_us for doc in listed} == recent
    assert all(doc.task_result == {} and doc.model == "org/new" for doc in listed)


async def test_replace_models_writes_over_the_stamps_given_and_names_the_others(
    store: Store,
) -> None:
    def model(name: str, *revisions: str) -> ModelDoc:
        return ModelDoc(_id=name, revisions=[ModelRevision(revision=r) for r in revisions])

    assert (
        await store.replace_models([(model("org/a", "r1"), None), (model("org/b", "r1"), None)])
        == set()
    )
    stored = await store.get_models(["org/a", "org/b"])
    lost = await store.replace_models(
        [
            (model("org/a", "r1", "r2"), stored["org/a"].stored_us),  # over what it read
            (model("org/b", "r9"), stored["org/b"].stored_us - 1),  # another writer came first
            (model("org/a-too", "r1"), None),
            (model("org/b", "r8"), None),  # an insert over a stored one
        ]
    )
    assert lost == {"org/b"}
    now = await store.get_models(["org/a", "org/b", "org/a-too"])
    assert [r.revision for r in now["org/a"].revisions] == ["r1", "r2"]
    assert now["org/b"] == stored["org/b"]
    assert "org/a-too" in now
    assert await store.replace_models([]) == set()


# leaderboards


async def test_replace_leaderboard_increments_version(store: Store) -> None:
    versions = []
    for models in [1, 2, 3]:
        stored = await store.replace_leaderboard(leaderboard("BIOSSES", models=models, version=99))
        versions.append(stored.version)
    assert versions == [1, 2, 3]
    found = await store.get_leaderboard(task_leaderboard_id("BIOSSES"))
    assert found == leaderboard("BIOSSES", models=3, version=3)
    assert await store.leaderboards.count_documents({}) == 1


async def test_replace_leaderboard_versions_each_leaderboard_apart(store: Store) -> None:
    await store.replace_leaderboard(leaderboard("BIOSSES"))
    await store.replace_leaderboard(leaderboard("BIOSSES"))
    other = await store.replace_leaderboard(leaderboard("SciFact"))
    assert other.version == 1


async def test_get_leaderboard_round_trips_rows(store: Store) -> None:
    await store.replace_leaderboard(leaderboard("BIOSSES", models=3))
    found = await store.get_leaderboard("task:BIOSSES")
    assert found is not None
    assert [row.rank for row in found.rows] == [1, 2, 3]
    assert [row.model for row in found.rows] == ["org/m0", "org/m1", "org/m2"]
    assert found.rows[0].evaluated_at == T0
    assert_aware_utc(found.rows[0].evaluated_at)
    assert_aware_utc(found.generated_at)


async def test_get_missing_leaderboard_returns_none(store: Store) -> None:
    assert await store.get_leaderboard("task:nope") is None


async def test_list_leaderboards_by_kind_sorted_without_rows(store: Store) -> None:
    for name in ["SciFact", "BIOSSES", "STS12"]:
        await store.replace_leaderboard(leaderboard(name, models=2))
    await store.replace_leaderboard(leaderboard("MTEB(eng, v2)", kind="benchmark"))
    listed = await store.list_leaderboards("task")
    # Sorted by name, bytewise: "STS12" < "SciFact".
    assert [doc.name for doc in listed] == ["BIOSSES", "STS12", "SciFact"]
    assert [doc.id for doc in listed] == ["task:BIOSSES", "task:STS12", "task:SciFact"]
    assert all(doc.rows == [] for doc in listed)
    assert all(doc.version == 1 and doc.generated_at == T0 for doc in listed)
    benchmarks = await store.list_leaderboards("benchmark")
    assert [doc.id for doc in benchmarks] == ["MTEB(eng, v2)"]
    assert await store.list_leaderboards("nothing") == []
    stored = await store.get_leaderboard("task:BIOSSES")
    assert stored is not None
    assert len(stored.rows) == 2
