"""Custom tasks, benchmarks, keys, results and a private submission written straight into a
store, for the web's visibility tests (the API that makes them is tested on its own)."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import mteb

from shared.api_keys import key_hash
from shared.custom_tasks import catalogue
from shared.custom_tasks.spec import TaskSpec, TaskType
from shared.documents import (
    ApiKeyDoc,
    BenchmarkLeaderboardDoc,
    CustomBenchmarkDoc,
    CustomTaskDoc,
    LeaderboardDoc,
    LeaderboardRow,
    ResultDoc,
    SubmissionDoc,
    SubmissionStatus,
    TaskProgress,
    benchmark_leaderboard_id,
    result_id,
    task_leaderboard_id,
)
from shared.events import Visibility, utcnow
from shared.secrets import make_key_file
from shared.settings import Settings
from shared.store import Store
from shared.summary.mirror import ResultMirror, TaskParts
from shared.summary.tasks import benchmark_named
from tests.support.aggregation_fixtures import run_import
from tests.support.synthetic_results import MINILM, synthetic_checkout

PRIVATE_TASK = "AliceSecretTask"
PUBLIC_TASK = "BobOpenTask"
PRIVATE_BENCHMARK = "AlicePrivateBench"
PUBLIC_BENCHMARK = "BobOpenBench"
PRIVATE_NAMES = (PRIVATE_TASK, PRIVATE_BENCHMARK)
REVISION = mteb.get_model_meta(MINILM).revision or "main"
PRIVATE_SCORE = 0.7654321
STALE = "dataset revision old; the task now uses new"


@dataclass
class Seeded:
    """The keys (by owner name) and the private submission's id."""

    keys: dict[str, str] = field(default_factory=dict)
    private_submission: str = ""


def spec(name: str, task_type: TaskType, main_score: str) -> TaskSpec:
    files = {
        "README.md": hashlib.sha256(f"{name} readme".encode()).hexdigest(),
        "data/test.jsonl": hashlib.sha256(f"{name} data".encode()).hexdigest(),
    }
    return TaskSpec(
        name=name,
        type=task_type,
        main_score=main_score,
        description=f"{name}, made for the tests.",
        score_range=(0.0, 4.0) if task_type is TaskType.STS else None,
        files=files,
        revision=TaskSpec.manifest_revision(files),
    )


async def seed_custom(store: Store) -> Seeded:
    """Keys of alice and bob (users) and root (admin); alice's private task and benchmark (with
    a result, a task leaderboard, a benchmark table and a queued submission), bob's public ones.
    The catalogue of this process is installed from them too."""
    seeded = Seeded()
    for name, admin in (("alice", False), ("bob", False), ("root", True)):
        key = f"lb-{name}-{secrets.token_hex(12)}"
        seeded.keys[name] = key
        await store.insert_api_key(ApiKeyDoc(_id=key_hash(key), name=name, admin=admin))
    tasks = [
        CustomTaskDoc(
            _id=PRIVATE_TASK,
            spec=spec(PRIVATE_TASK, TaskType.STS, "cosine_spearman"),
            owner="alice",
            earlier_revisions=["0" * 64],
        ),
        CustomTaskDoc(
            _id=PUBLIC_TASK,
            spec=spec(PUBLIC_TASK, TaskType.RETRIEVAL, "ndcg_at_10"),
            owner="bob",
            visibility=Visibility.PUBLIC,
        ),
    ]
    benchmarks = [
        CustomBenchmarkDoc(_id=PRIVATE_BENCHMARK, tasks=[PRIVATE_TASK, "BIOSSES"], owner="alice"),
        CustomBenchmarkDoc(
            _id=PUBLIC_BENCHMARK,
            tasks=[PUBLIC_TASK, "BIOSSES"],
            owner="bob",
            visibility=Visibility.PUBLIC,
            description="Bob's open benchmark.",
        ),
    ]
    for task_doc in tasks:
        await store.custom_tasks_collection.insert_one(task_doc.to_mongo())
    for benchmark_doc in benchmarks:
        await store.custom_benchmarks_collection.insert_one(benchmark_doc.to_mongo())
    catalogue.install(tasks, benchmarks)
    seeded.private_submission = uuid.uuid4().hex
    await store.insert_submission(
        SubmissionDoc(
            _id=seeded.private_submission,
            model=MINILM,
            revision=REVISION,
            submitted_by="alice",
            status=SubmissionStatus.QUEUED,
            tasks=[TaskProgress(task=PRIVATE_TASK)],
        )
    )
    for task, score, submission in (
        (PRIVATE_TASK, PRIVATE_SCORE, seeded.private_submission),
        (PUBLIC_TASK, 0.5, None),
    ):
        await store.upsert_result(
            ResultDoc(
                _id=result_id(MINILM, REVISION, task, mteb.__version__),
                model=MINILM,
                revision=REVISION,
                task=task,
                main_score=score,
                submission_id=submission,
                evaluated_at=utcnow(),
                mteb_version=mteb.__version__,
                scores_json=json.dumps({"test": {"default": score}}),
            )
        )
        row = LeaderboardRow(
            rank=1,
            model=MINILM,
            revision=REVISION,
            main_score=score,
            evaluated_at=utcnow(),
            submission_id=submission,
            source="evaluator",
            stale_reason=STALE if task == PRIVATE_TASK else None,
        )
        await store.replace_leaderboard(
            LeaderboardDoc(_id=task_leaderboard_id(task), kind="task", name=task, rows=[row])
        )
    mirror = ResultMirror()
    await mirror.sync(store)
    for benchmark in benchmarks:
        table = TaskParts(mirror).table(benchmark_named(benchmark.id), bootstrap_resamples=0)
        head = await store.benchmark_leaderboard_head(benchmark_leaderboard_id(benchmark.id))
        written = await store.put_benchmark_leaderboard(
            BenchmarkLeaderboardDoc(
                _id=benchmark_leaderboard_id(benchmark.id),
                name=benchmark.id,
                table=table.model_dump_json(),
                version=head[0] + 1 if head else 1,
            )
        )
        assert written, f"the table of {benchmark.id} was not written"
    return seeded


async def seeded_store(store: Store, folder: Path) -> Seeded:
    """`store` holding MiniLM's synthetic results and the custom seed."""
    catalogue.install([], [])  # none of an earlier test's custom benchmarks in the import
    await run_import(store, synthetic_checkout(folder / "checkout", (MINILM,)), resamples=0)
    return await seed_custom(store)


def web_settings(store: Store, mongodb_url: str, folder: Path, api_url: str | None) -> Settings:
    """The web's settings over `store`, with a secret key (sign-in) and the API at `api_url`."""
    return Settings(
        mongodb_url=mongodb_url,
        mongodb_database=store.db.name,
        bootstrap_resamples=0,
        secret_key_file=make_key_file(folder / "secret.key"),
        api_url=api_url,
    )
