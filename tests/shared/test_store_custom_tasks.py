"""The store's custom task and benchmark operations and the visibility filter of submission
listings, against whatever `mongodb_url` is (the Mongo-wire server by default)."""

from __future__ import annotations

import pytest
from pymongo.errors import DuplicateKeyError

from shared.custom_tasks.spec import TaskSpec, TaskType
from shared.documents import (
    CustomBenchmarkDoc,
    CustomTaskDoc,
    LeaderboardDoc,
    ResultDoc,
    SubmissionDoc,
    TaskClaimDoc,
    TaskProgress,
    task_claim_id,
    task_leaderboard_id,
)
from shared.events import Visibility, utcnow
from shared.store import Store


def spec(name: str, content: str = "a") -> TaskSpec:
    files = {"test.jsonl": content * 64}
    return TaskSpec(
        name=name,
        type=TaskType.STS,
        main_score="cosine_spearman",
        files=files,
        revision=TaskSpec.manifest_revision(files),
    )


async def test_custom_tasks_and_benchmarks_round_trip(store: Store) -> None:
    task = CustomTaskDoc(_id="mine", spec=spec("mine"), owner="user")
    await store.insert_custom_task(task)
    with pytest.raises(DuplicateKeyError):
        await store.insert_custom_task(task)
    revised = task.model_copy(
        update={"spec": spec("mine", "b"), "earlier_revisions": [task.spec.revision]}
    )
    await store.replace_custom_task(revised)
    stored = await store.get_custom_task("mine")
    assert stored is not None and stored.spec == revised.spec
    assert stored.earlier_revisions == [task.spec.revision]

    benchmark = CustomBenchmarkDoc(_id="bench", tasks=["mine", "BIOSSES"], owner="user")
    await store.insert_custom_benchmark(benchmark)
    public = benchmark.model_copy(update={"visibility": Visibility.PUBLIC})
    await store.replace_custom_benchmark(public)
    [stored_benchmark] = await store.custom_benchmarks()
    assert stored_benchmark.visibility is Visibility.PUBLIC
    assert stored_benchmark.tasks == ["mine", "BIOSSES"]
    await store.delete_custom_benchmark("bench")
    await store.delete_custom_task("mine")
    assert await store.get_custom_benchmark("bench") is None
    assert await store.custom_tasks() == []


async def test_deleting_a_tasks_results_leaves_other_tasks_alone(store: Store) -> None:
    for task in ("mine", "mine2", "BIOSSES"):
        for model in ("org/a", "org/b"):
            result = ResultDoc(
                _id=f"{model}@r|{task}|2.26",
                model=model,
                revision="r",
                task=task,
                main_score=0.5,
                evaluated_at=utcnow(),
            )
            await store.upsert_result(result)
            await store.upsert_result(result.model_copy(update={"digest": "other"}))  # history
        await store.replace_leaderboard(
            LeaderboardDoc(_id=task_leaderboard_id(task), kind="task", name=task)
        )
    claims = [
        task_claim_id("org/a", "r", "mine@" + "f" * 64),
        task_claim_id("org/a", "r", "mine"),
        task_claim_id("org/a", "r", "mine2@" + "f" * 64),
        task_claim_id("org/a", "r", "BIOSSES"),
    ]
    for claim in claims:
        await store.claim_task(TaskClaimDoc(_id=claim, submission_id="s"))

    assert await store.count_task_results("mine") == 2
    assert await store.delete_task_results("mine") == 2
    assert await store.count_task_results("mine") == 0
    assert await store.result_history.count_documents({"task": "mine"}) == 0
    assert await store.get_leaderboard(task_leaderboard_id("mine")) is None
    assert sorted(claim.id for claim in await store.get_claims(claims)) == sorted(claims[2:])
    for other in ("mine2", "BIOSSES"):
        assert await store.count_task_results(other) == 2
        assert await store.result_history.count_documents({"task": other}) == 2
        assert await store.get_leaderboard(task_leaderboard_id(other)) is not None


async def test_submission_listing_filters_by_visibility(store: Store) -> None:
    made = {
        "public": ("user", Visibility.PUBLIC),
        "mine": ("user", Visibility.PRIVATE),
        "theirs": ("other", Visibility.PRIVATE),
    }
    for submission_id, (owner, visibility) in made.items():
        await store.insert_submission(
            SubmissionDoc(
                _id=submission_id,
                model="org/m",
                revision="r",
                submitted_by=owner,
                visibility=visibility,
                tasks=[TaskProgress(task="BIOSSES")],
            )
        )
    old = SubmissionDoc(_id="old", model="org/m", revision="r", tasks=[]).to_mongo()
    del old["visibility"]  # stored before submissions had one: public
    await store.submissions.insert_one(old)
    public = {"visibility": {"$ne": "private"}}
    page, total = await store.list_submissions(public, 0, 10)
    assert sorted(doc.id for doc in page) == ["old", "public"] and total == 2
    own = {"$or": [public, {"submitted_by": "user"}]}
    page, total = await store.list_submissions(own, 0, 10)
    assert sorted(doc.id for doc in page) == ["mine", "old", "public"] and total == 3
