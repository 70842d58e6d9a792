"""Custom tasks through the aggregator's consumers on a real bus and store: their results are
checked and ranked like registry results, a custom benchmark ranks as the summary library ranks
a registry benchmark of the same results, private tasks are announced privately, new data makes
results stale and a deleted task leaves its benchmarks."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import mteb
import pytest
from mteb.results import TaskResult
from nats.aio.msg import Msg

from services.aggregator import custom_catalogue
from services.aggregator.commands import load_table
from services.aggregator.handlers import Aggregator
from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.aggregator.results.checkout import folder_identity
from services.aggregator.results.intake import result_doc
from shared.bus import RESULTS, Bus, InvalidMessage, consume
from shared.custom_tasks import catalogue
from shared.custom_tasks.spec import TaskSpec, TaskType
from shared.documents import (
    BenchmarkLeaderboardDoc,
    SubmissionDoc,
    SubmissionStatus,
    TaskProgress,
    benchmark_leaderboard_id,
    task_leaderboard_id,
)
from shared.events import (
    ResultEvent,
    Subjects,
    TaskCreated,
    TaskDeleted,
    Visibility,
    is_valid_model_id,
    is_valid_revision,
)
from shared.store import Store
from shared.summary.models import model_meta
from shared.summary.rows import result_row_from_task_result
from shared.summary.table import BenchmarkTable, summarize
from tests.summary.test_custom_benchmarks import (
    CUSTOM,
    REGISTRY_TASKS,
    TWINS,
    needs_results,
    rankings,
    registry_style,
)
from tests.support.custom_catalogue import benchmark_doc, store_catalogue, task_doc, task_spec
from tests.support.helpers import make_envelope
from tests.support.results_repo import RESULTS_CHECKOUT

RESAMPLES = 100
MODELS = 12
NEW_MODEL = "org/new-model"
T = TypeVar("T")


@pytest.fixture(autouse=True)
def empty_catalogue() -> Iterator[None]:
    """Each test starts and ends with this process's catalogue empty."""
    catalogue.install([], [])
    yield
    catalogue.install([], [])


@asynccontextmanager
async def consuming(aggregator: Aggregator, bus: Bus) -> AsyncIterator[None]:
    """The aggregator's consumers (`Aggregator.routes`) running as `python -m
    services.aggregator` runs them."""
    stop = asyncio.Event()
    running = [
        asyncio.create_task(consume(bus, await bus.pull(stream, durable, subject), stream, h, stop))
        for stream, durable, subject, h in aggregator.routes()
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*running)


async def eventually(read: Callable[[], Awaitable[T | None]], timeout: float = 60.0) -> T:
    """The first truthy value `read` gives, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await read()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise TimeoutError("the aggregator did not get there")


class Heard:
    """Subjects published on (core NATS), from the moment of `listen`."""

    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def listen(self, bus: Bus, *subjects: str) -> None:
        async def note(msg: Msg) -> None:
            self.subjects.append(msg.subject)

        for subject in subjects:
            await bus.client.subscribe(subject, cb=note)


def sts_result(task: TaskSpec | str, score: float, revision: str | None = None) -> dict[str, Any]:
    """An STS TaskResult JSON of `task` (at its revision unless `revision` says another)."""
    name = task if isinstance(task, str) else task.name
    revision = revision or (task.revision if isinstance(task, TaskSpec) else "r")
    return {
        "task_name": name,
        "dataset_revision": revision,
        "mteb_version": mteb.__version__,
        "evaluation_time": 1.0,
        "kg_co2_emissions": None,
        "scores": {
            "test": [
                {
                    "main_score": score,
                    "cosine_spearman": score,
                    "hf_subset": "default",
                    "languages": ["eng-Latn"],
                }
            ]
        },
    }


async def submit(
    store: Store,
    model: str,
    revision: str,
    tasks: list[str],
    visibility: Visibility = Visibility.PUBLIC,
) -> str:
    submission_id = uuid.uuid4().hex
    await store.insert_submission(
        SubmissionDoc(
            _id=submission_id,
            model=model,
            revision=revision,
            tasks=[TaskProgress(task=task) for task in tasks],
            visibility=visibility,
        )
    )
    return submission_id


async def publish_result(
    bus: Bus,
    submission_id: str,
    model: str,
    revision: str,
    task_result: dict[str, Any],
    private: bool = False,
) -> None:
    """A result event as an evaluator publishes it."""
    task = task_result["task_name"]
    metadata = mteb.get_task(task).metadata if task in REGISTRY_TASKS else None
    event = ResultEvent(
        submission_id=submission_id,
        model=model,
        revision=revision,
        task=task,
        main_score=task_result["scores"]["test"][0]["main_score"],
        task_result=task_result,
        envelope=make_envelope(
            model=model,
            revision=revision,
            task=task,
            task_type=metadata.type if metadata else "STS",
            dataset_revision=task_result["dataset_revision"],
        ),
    )
    subject = Subjects.result(submission_id, task, private=private)
    await bus.publish(subject, event, f"result:{submission_id}:{task}")


def mteb_version_of(file: Path) -> str | None:
    version: str | None = json.loads(file.read_text()).get("mteb_version")
    return version


def result_folders(count: int) -> list[Path]:
    """`count` models' result folders holding the three tasks, one folder per model."""
    folders = []
    for model_dir in sorted(RESULTS_CHECKOUT.glob("results/*")):
        revisions = [folder for folder in model_dir.iterdir() if folder.is_dir()]
        if len(revisions) != 1:
            continue
        [folder] = revisions
        meta = folder / "model_meta.json"
        if not meta.exists() or not json.loads(meta.read_text()).get("revision"):
            continue
        files = [folder / f"{task}.json" for task in REGISTRY_TASKS]
        if not all(
            file.exists() and json.loads(file.read_text()).get("mteb_version") for file in files
        ):
            continue  # results stored here say which mteb made them
        model, revision, _ = folder_identity(folder)
        if is_valid_model_id(model) and is_valid_revision(revision):
            folders.append(folder)
        if len(folders) == count:
            break
    return folders


@needs_results
async def test_a_custom_benchmark_of_results_on_the_bus_ranks_as_the_summary_library_ranks(
    own_bus: Bus, store: Store
) -> None:
    """Two custom tasks holding the results of two registry tasks, and a third registry task:
    their custom benchmark's document ranks every model as the summary library ranks the
    registry tasks' benchmark of the same results (every model in its pool)."""
    bus = own_bus
    specs = {
        TWINS["ArguAna"]: task_spec(TWINS["ArguAna"], TaskType.RETRIEVAL),
        TWINS["BIOSSES"]: task_spec(TWINS["BIOSSES"], TaskType.STS, score_range=(0.0, 4.0)),
    }
    benchmark = benchmark_doc(CUSTOM, [*TWINS.values(), "STSBenchmark"])
    await store_catalogue(store, [task_doc(spec) for spec in specs.values()], [benchmark])
    aggregator = Aggregator(bus, store, BenchmarkUpdater(store, bus, bootstrap_resamples=RESAMPLES))
    heard = Heard()
    await heard.listen(bus, "lb.leaderboard.>", "lb.private.leaderboard.>")
    folders = result_folders(MODELS)
    assert len(folders) == MODELS
    rows = []
    async with consuming(aggregator, bus):  # the catalogue is read when a result names it
        for folder in folders:
            model, revision, _ = folder_identity(folder)
            tasks = [TWINS.get(task, task) for task in REGISTRY_TASKS]
            submission_id = await submit(store, model, revision, tasks)
            for task in REGISTRY_TASKS:
                task_result = json.loads((folder / f"{task}.json").read_text())
                rows.append(result_row_from_task_result(task_result, model, revision))
                if task in TWINS:  # the same scores, on the custom task's data
                    spec = specs[TWINS[task]]
                    task_result |= {"task_name": spec.name, "dataset_revision": spec.revision}
                await publish_result(bus, submission_id, model, revision, task_result)

        async def complete() -> BenchmarkTable | None:
            stored = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(CUSTOM))
            if stored is None or len(stored.table.rows) < MODELS:
                return None
            return stored.table if all(row.mean_task for row in stored.table.rows) else None

        table = await eventually(complete)

    expected = summarize(
        registry_style(), rows, model_meta, None, RESAMPLES, is_official=lambda _: True
    )
    originals = {twin: task for task, twin in TWINS.items()}
    assert rankings(table, originals) == rankings(expected)
    assert len({row.rank_borda for row in table.rows}) > 1
    assert all(row.official and row.rank_ci for row in table.rows)
    for twin in TWINS.values():
        board = await store.get_leaderboard(task_leaderboard_id(twin))
        assert board is not None and len(board.rows) == MODELS
        assert all(row.stale_reason is None or "mteb" in row.stale_reason for row in board.rows)
    public = Subjects.leaderboard_updated(benchmark_leaderboard_id(CUSTOM))
    assert public in heard.subjects
    assert not any(subject.startswith("lb.private.") for subject in heard.subjects)


async def test_a_private_tasks_results_are_ranked_and_announced_privately_and_go_stale(
    own_bus: Bus, store: Store
) -> None:
    bus = own_bus
    first = task_spec("secret-sts", TaskType.STS)
    hidden = benchmark_doc("hidden", [first.name, "STSBenchmark"], Visibility.PRIVATE)
    await store_catalogue(store, [task_doc(first, Visibility.PRIVATE, owner="bob")], [hidden])
    aggregator = Aggregator(bus, store, BenchmarkUpdater(store, bus, bootstrap_resamples=0))
    heard = Heard()
    await heard.listen(bus, "lb.>")
    board_id = task_leaderboard_id(first.name)
    async with consuming(aggregator, bus):
        submission_id = await submit(
            store, NEW_MODEL, "r1", [first.name], visibility=Visibility.PRIVATE
        )
        await publish_result(
            bus, submission_id, NEW_MODEL, "r1", sts_result(first, 0.61), private=True
        )
        board = await eventually(lambda: store.get_leaderboard(board_id))
        [row] = board.rows
        assert (row.model, row.main_score, row.stale_reason) == (NEW_MODEL, 0.61, None)
        submission = await eventually(lambda: completed(store, submission_id))
        assert submission.status == SubmissionStatus.COMPLETED

        second = task_spec(first.name, TaskType.STS, data="v2")  # new data: a new revision
        await store_catalogue(store, [task_doc(second, Visibility.PRIVATE, owner="bob")])
        created = TaskCreated(task=second, owner="bob", visibility=Visibility.PRIVATE)
        subject = Subjects.task_event(first.name, "created", private=True)
        await bus.publish(subject, created, f"task:{first.name}:{second.revision}")

        async def stale() -> str | None:
            board = await store.get_leaderboard(board_id)
            return board.rows[0].stale_reason if board and board.rows else None

        reason = await eventually(stale)
    await bus.client.flush()
    await asyncio.sleep(0.2)  # what was heard is handed over

    assert reason == f"dataset revision {first.revision}; the task now uses {second.revision}"
    private_board = Subjects.leaderboard_updated(board_id, private=True)
    assert heard.subjects.count(private_board) == 2  # the result, then the new revision
    assert Subjects.submission_status(submission_id, private=True) in heard.subjects
    hidden_board = benchmark_leaderboard_id("hidden")
    assert Subjects.leaderboard_updated(hidden_board, private=True) in heard.subjects
    public = [s for s in heard.subjects if not s.startswith("lb.private.")]
    assert not [s for s in public if first.name in s or submission_id in s or "hidden" in s]
    stored = await store.get_benchmark_leaderboard(hidden_board)
    assert stored is not None and [row.model for row in stored.table.rows] == [NEW_MODEL]


async def completed(store: Store, submission_id: str) -> SubmissionDoc | None:
    submission = await store.get_submission(submission_id)
    return submission if submission and submission.status.terminal else None


async def test_a_deleted_task_leaves_its_benchmarks_and_a_deleted_benchmark_its_document(
    own_bus: Bus, store: Store
) -> None:
    bus = own_bus
    kept, deleted = task_spec("our-a", TaskType.STS), task_spec("our-b", TaskType.STS)
    await store_catalogue(
        store, [task_doc(kept), task_doc(deleted)], [benchmark_doc("ab", ["our-a", "our-b"])]
    )
    scores = {"org/first": (0.9, 0.1), "org/second": (0.5, 0.5), "org/third": (0.2, 0.8)}
    await catalogue.refresh(store)  # results stored as the aggregator stores them
    for model, (on_kept, on_deleted) in scores.items():
        for spec, score in ((kept, on_kept), (deleted, on_deleted)):
            result = result_doc(
                mteb_result(sts_result(spec, score)), model, "r1", source="evaluator"
            )
            await store.upsert_result(result)
    updater = BenchmarkUpdater(store, bus, bootstrap_resamples=20)
    aggregator = Aggregator(bus, store, updater)
    await aggregator.catalogue.sync()  # as the aggregator starts
    board_id = benchmark_leaderboard_id("ab")
    before = await store.get_benchmark_leaderboard(board_id)
    assert before is not None and before.table.tasks == ["our-a", "our-b"]
    assert [row.rank_borda for row in before.table.rows] == [1, 1, 1]  # each first once
    await aggregator.refresh_task("our-b")

    # the API deletes the task and its results, then announces it
    await store.custom_tasks_collection.delete_one({"_id": "our-b"})
    gone = await store.results.delete_many({"task": "our-b"})
    event = TaskDeleted(task="our-b", results_deleted=gone.deleted_count)
    async with consuming(aggregator, bus):
        await bus.publish(Subjects.task_event("our-b", "deleted", private=False), event, "del")

        async def recomputed() -> BenchmarkTable | None:
            stored = await store.get_benchmark_leaderboard(board_id)
            return stored.table if stored and stored.version > before.version else None

        after = await eventually(recomputed)

    assert after.tasks == ["our-a"]
    assert [(row.model, row.rank_borda) for row in after.rows] == [
        ("org/first", 1),
        ("org/second", 2),
        ("org/third", 3),
    ]
    assert updater.mirror.results_of_task("our-b") == []
    assert await store.get_leaderboard(task_leaderboard_id("our-b")) is None

    await store.custom_benchmarks_collection.delete_one({"_id": "ab"})
    change = await aggregator.catalogue.sync()  # as the periodic read finds it

    assert change.deleted_benchmarks == {"ab"}
    assert await store.get_benchmark_leaderboard(board_id) is None
    assert await store.snapshots_of("ab") == []


async def test_a_result_of_a_task_unknown_after_reading_the_catalogue_again_is_refused(
    bus: Bus, store: Store
) -> None:
    aggregator = Aggregator(bus, store, BenchmarkUpdater(store, None, bootstrap_resamples=0))
    submission_id = await submit(store, NEW_MODEL, "r1", ["not-made-yet"])
    with pytest.raises(InvalidMessage, match="unknown task 'not-made-yet'"):
        await deliver(bus, aggregator, submission_id, sts_result("not-made-yet", 0.5))
    assert await store.results.count_documents({}) == 0

    made = task_spec("not-made-yet", TaskType.STS)
    await store_catalogue(store, [task_doc(made)])  # made since; the catalogue is read again
    submission_id = await submit(store, NEW_MODEL, "r1", [made.name])
    await deliver(bus, aggregator, submission_id, sts_result(made, 0.5))

    [stored] = await store.results_for_task(made.name)
    assert (stored.main_score, stored.dataset_revision) == (0.5, made.revision)


def mteb_result(data: dict[str, Any]) -> Any:

    return TaskResult.model_validate(data)


async def deliver(
    bus: Bus, aggregator: Aggregator, submission_id: str, data: dict[str, Any]
) -> None:
    """Publish a result and hand its delivered message to `on_result`."""

    await publish_result(bus, submission_id, NEW_MODEL, "r1", data)
    subject = Subjects.result(submission_id, data["task_name"])
    pull = await bus.pull(RESULTS, f"test-{uuid.uuid4().hex[:8]}", subject)
    [msg] = await pull.fetch(1, timeout=10)
    await aggregator.on_result(msg)


async def test_a_result_on_data_newer_than_the_catalogue_knows_reads_it_again(
    bus: Bus, store: Store
) -> None:
    first, second = task_spec("our-c", TaskType.STS), task_spec("our-c", TaskType.STS, "v2")
    await store_catalogue(store, [task_doc(first)])
    aggregator = Aggregator(bus, store, BenchmarkUpdater(store, None, bootstrap_resamples=0))
    await aggregator.catalogue.sync()
    await store_catalogue(store, [task_doc(second)])  # its event not handled yet
    submission_id = await submit(store, NEW_MODEL, "r1", [first.name])

    await deliver(bus, aggregator, submission_id, sts_result(second, 0.7))

    board = await store.get_leaderboard(task_leaderboard_id(first.name))
    assert board is not None
    assert [(row.main_score, row.stale_reason) for row in board.rows] == [(0.7, None)]


async def test_at_start_documents_of_benchmarks_deleted_meanwhile_are_dropped(
    store: Store,
) -> None:
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=0)
    empty = {"benchmark": "", "tasks": [], "task_types": [], "rows": []}
    for name in ("MTEB(eng, v2)", "deleted-meanwhile"):
        board = BenchmarkLeaderboardDoc.model_validate(
            {"_id": benchmark_leaderboard_id(name), "name": name, "table": empty}
        )
        await updater.replace(board)

    assert await updater.prune_orphans() == ["deleted-meanwhile"]
    assert await store.get_benchmark_leaderboard(benchmark_leaderboard_id("MTEB(eng, v2)"))
    assert not await store.get_benchmark_leaderboard(benchmark_leaderboard_id("deleted-meanwhile"))


async def test_show_reads_the_catalogue_and_ranks_a_custom_benchmark_over_every_model(
    store: Store,
) -> None:
    """`leaderboard show` in a process of its own: the catalogue is read from the store."""
    spec = task_spec("our-d", TaskType.STS)
    await store_catalogue(store, [task_doc(spec)], [benchmark_doc("d-bench", ["our-d"])])
    await catalogue.refresh(store)
    for model, score in (("org/first", 0.3), ("org/second", 0.6)):
        result = result_doc(mteb_result(sts_result(spec, score)), model, "r1", source="evaluator")
        await store.upsert_result(result)
    catalogue.install([], [])  # as a new process starts

    table, stored = await load_table(store, "d-bench", None, bootstrap_resamples=10)

    assert stored is None  # no aggregator stored it: computed from the stored results
    assert [(row.model, row.rank_borda, row.official) for row in table.rows] == [
        ("org/second", 1, True),
        ("org/first", 2, True),
    ]


async def test_a_benchmark_made_through_the_api_gets_its_document_without_an_event(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Custom benchmarks have no events: the periodic read of the catalogue finds them."""
    monkeypatch.setattr(custom_catalogue, "INTERVAL_S", 0.1)
    spec = task_spec("our-e", TaskType.STS)
    await store_catalogue(store, [task_doc(spec)])
    await catalogue.refresh(store)
    result = result_doc(mteb_result(sts_result(spec, 0.4)), NEW_MODEL, "r1", source="evaluator")
    await store.upsert_result(result)
    watch = custom_catalogue.CatalogueWatch(
        store, None, BenchmarkUpdater(store, None, bootstrap_resamples=0)
    )
    await watch.sync()
    stop = asyncio.Event()
    watching = asyncio.create_task(watch.run(stop))
    board_id = benchmark_leaderboard_id("e-bench")
    try:
        await store_catalogue(store, [], [benchmark_doc("e-bench", ["our-e"])])
        made = await eventually(lambda: store.get_benchmark_leaderboard(board_id), timeout=30)
    finally:
        stop.set()
        await watching

    assert [row.model for row in made.table.rows] == [NEW_MODEL]
