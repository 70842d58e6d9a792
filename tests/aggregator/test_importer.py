"""`import-results`: a results repository (made here, in the public one's layout) in, mteb's own
numbers out, idempotently."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import mteb
import polars as pl
import pytest
from mteb.results import TaskResult

from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.aggregator.leaderboards.tasks import task_leaderboard
from services.aggregator.results.checkout import (
    checkout_commit,
    folder_identity,
)
from services.aggregator.results.importer import KEPT_EVALUATED, Importer, ImportReport
from services.aggregator.results.intake import result_doc
from services.web.app import create_app
from shared.bus import Bus
from shared.documents import (
    LeaderboardRow,
    ModelDoc,
    ModelRevision,
    ResultDoc,
    benchmark_leaderboard_id,
    task_leaderboard_id,
)
from shared.events import LeaderboardUpdated
from shared.settings import Settings
from shared.store import Store
from shared.summary.mirror import ResultMirror
from shared.summary.rows import read_task_result
from tests.conftest import fresh_store
from tests.support.aggregation_fixtures import LIVE_TASKS, evaluate_here, run_import
from tests.support.mteb_oracle import mteb_summary
from tests.support.results_repo import load_mteb_results
from tests.support.synthetic_results import BGE, MINILM, MODELS, OLD_VERSION, synthetic_checkout

ENG_V2 = "MTEB(eng, v2)"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return synthetic_checkout(tmp_path / "checkout")


def identity(path: Path) -> tuple[str, str, str]:
    """(model, revision, task) of a result file, as mteb's ResultCache names them."""
    meta_path = path.parent / "model_meta.json"
    task = TaskResult.from_disk(path).task_name
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return meta["name"], meta["revision"], task
    return path.parent.parent.name.replace("__", "/"), path.parent.name, task


def result_files(checkout: Path) -> list[Path]:
    return sorted(p for p in checkout.glob("results/*/*/*.json") if p.name != "model_meta.json")


@pytest.fixture
async def other_store(mongodb_url: str) -> AsyncIterator[Store]:
    """A second store on a fresh database of its own."""
    async with fresh_store(mongodb_url) as store:
        yield store


async def contents(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every document of the collections an import writes."""
    names = ("results", "models", "leaderboards", "snapshots")
    return {name: [doc async for doc in store.db[name].find({}).sort("_id", 1)] for name in names}


async def test_every_file_is_stored_under_mtebs_model_and_revision(
    store: Store, checkout: Path
) -> None:
    report = await run_import(store, checkout, resamples=0)

    files = result_files(checkout)
    stored = await store.results_stored_since(None)
    assert {(r.model, r.revision, r.task) for r in stored} == {identity(p) for p in files}
    assert report.files == len(files) == report.stored == len(stored)
    models = await store.get_models(list(MODELS))
    assert sorted(models) == sorted(MODELS)
    revisions = {(m.id, r.revision) for m in models.values() for r in m.revisions}
    assert {(model, revision) for model, revision, _ in map(identity, files)} <= revisions
    minilm_meta = json.loads(models[MINILM].revisions[0].meta_json or "{}")
    assert minilm_meta["embed_dim"] == 384


async def test_task_leaderboards_rank_the_imported_results(store: Store, checkout: Path) -> None:
    await run_import(store, checkout, resamples=0)

    board = await store.get_leaderboard(task_leaderboard_id("BIOSSES"))

    assert board is not None
    results = [r for r in await store.results_for_task("BIOSSES") if r.main_score is not None]
    assert {row.model for row in board.rows} == {r.model for r in results}
    scores = [row.main_score for row in board.rows]
    assert scores == sorted(scores, reverse=True)
    assert all(row.submission_id is None for row in board.rows)
    for task in ("BIOSSES", "STSBenchmark", "Banking77Classification"):
        stored = await store.get_leaderboard(task_leaderboard_id(task))
        expected = task_leaderboard(task, await store.results_for_task(task))
        assert stored is not None and stored.rows == expected.rows


async def test_experiment_runs_are_skipped_and_reported(store: Store, checkout: Path) -> None:
    report = await run_import(store, checkout, resamples=0)

    [skipped] = report.skipped
    assert skipped.path.endswith("experiments")
    assert "experiment runs" in skipped.reason


async def test_a_second_import_changes_nothing(store: Store, checkout: Path) -> None:
    first = await run_import(store, checkout)
    before = await contents(store)

    second = await run_import(store, checkout)

    assert first.stored > 0 and first.benchmarks
    assert (second.stored, second.models_stored, second.benchmarks) == (0, 0, [])
    assert second.unchanged == first.stored
    assert await contents(store) == before


async def test_a_changed_file_is_stored_again_and_only_its_benchmarks_recomputed(
    store: Store, checkout: Path
) -> None:
    await run_import(store, checkout, resamples=0)
    path = checkout / "results" / MINILM.replace("/", "__")
    biosses = next(path.glob("*/BIOSSES.json"))
    data = json.loads(biosses.read_text())
    data["scores"]["test"][0]["main_score"] = 0.5
    biosses.write_text(json.dumps(data))

    report = await run_import(store, checkout, resamples=0)

    assert report.stored == 1
    assert sorted(report.benchmarks) == ["MTEB(eng, v1)", "MTEB(eng, v2)"]
    stored = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(ENG_V2))
    assert stored is not None and stored.version == 2
    [minilm] = [row for row in stored.table.rows if row.model == MINILM]
    assert minilm.task_scores["BIOSSES"] == 0.5


async def test_malformed_files_are_reported_and_the_rest_imported(
    store: Store, checkout: Path
) -> None:
    folder = next((checkout / "results" / MINILM.replace("/", "__")).iterdir())
    (folder / "Broken.json").write_text("{not json")
    (folder / "NotAResult.json").write_text('{"task_name": "BIOSSES", "scores": "high"}')
    unknown = json.loads((folder / "BIOSSES.json").read_text()) | {"task_name": "NoSuchTask"}
    (folder / "Unknown.json").write_text(json.dumps(unknown))
    bad_meta = checkout / "results" / "org__bad" / "rev1"
    bad_meta.mkdir(parents=True)
    (bad_meta / "model_meta.json").write_text("[]")
    (bad_meta / "BIOSSES.json").write_text((folder / "BIOSSES.json").read_text())

    report = await run_import(store, checkout, resamples=0)

    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["Broken.json"].startswith("not an mteb TaskResult: file: Invalid JSON")
    assert reasons["NotAResult.json"].startswith("not an mteb TaskResult: ")
    assert reasons["Unknown.json"] == "unknown task 'NoSuchTask'"
    assert reasons["rev1"].startswith("unreadable model_meta.json")
    good = len(result_files(checkout)) - 4
    assert report.stored == good == len(await store.results_stored_since(None))


async def test_imported_tables_equal_mtebs_table_code_on_the_same_files(
    store: Store, checkout: Path
) -> None:
    await run_import(store, checkout, resamples=0)
    benchmark = mteb.get_benchmark(ENG_V2)
    loaded = load_mteb_results(benchmark, checkout)
    frame = loaded._to_results_df(benchmark.tasks)
    expected = mteb_summary(benchmark, frame.filter(pl.col("model_name").is_in(list(MODELS))))

    stored = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(ENG_V2))

    assert stored is not None
    ours = {row.model: row for row in stored.table.rows}
    assert sorted(ours) == sorted(expected)
    for model, mteb_row in expected.items():
        row = ours[model]
        assert row.rank_borda == mteb_row["Rank (Borda)"]
        for ours_value, mteb_value in [
            (row.mean_task, mteb_row["Mean (Task)"]),
            (row.mean_task_type, mteb_row["Mean (TaskType)"]),
            *((row.type_means[t], mteb_row[t]) for t in stored.table.task_types),
        ]:
            assert (ours_value is None) == (mteb_value is None)
            assert ours_value is None or abs(ours_value - mteb_value) <= 1e-9


async def test_recomputed_leaderboards_are_announced_with_small_events(
    store: Store, bus: Bus, checkout: Path
) -> None:
    received: list[tuple[str, bytes]] = []

    async def collect(msg: Any) -> None:
        received.append((msg.subject, msg.data))

    subscription = await bus.client.subscribe("lb.leaderboard.>", cb=collect)
    try:
        report = await run_import(store, checkout, bus=bus)
        await bus.client.flush()
        await asyncio.sleep(0.2)
    finally:
        await subscription.unsubscribe()

    events = [LeaderboardUpdated.model_validate_json(data) for _, data in received]
    assert all(len(data) < 1024 for _, data in received)
    for name in report.benchmarks:
        stored = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(name))
        assert stored is not None
        assert any(e.leaderboard_id == stored.id and e.version == stored.version for e in events), (
            name
        )


def test_files_are_read_as_mtebs_from_disk_reads_them(checkout: Path) -> None:
    pair = next((checkout / "results" / MINILM.replace("/", "__")).glob("*/Sprint*.json"))
    data = json.loads(pair.read_text())
    data["mteb_version"] = "1.12.0"  # valid as it is, but nested scores as before 1.12.48
    for scores in data["scores"]["test"]:
        scores["max"] = {"ap": scores.pop("max_ap")}
    (pair.parent / "SprintBefore1.12.48.json").write_text(json.dumps(data))
    converted = 0
    for path in result_files(checkout):
        expected = TaskResult.from_disk(path)
        result, text = read_task_result(path.read_text(encoding="utf-8"))

        assert result.model_dump_json() == expected.model_dump_json(), path
        if text is None:
            converted += 1
        else:
            assert (
                TaskResult.model_validate_json(text).model_dump_json() == expected.model_dump_json()
            )
    versions = [json.loads(p.read_text()).get("mteb_version") for p in result_files(checkout)]
    assert converted == 1 + versions.count(OLD_VERSION)  # the pre-1.11 files, the pair one above
    assert converted > 10


async def test_inserting_stored_results_leaves_them_as_they_are(
    store: Store, checkout: Path
) -> None:
    folder = next((checkout / "results" / MINILM.replace("/", "__")).iterdir())
    model, revision, _ = folder_identity(folder)
    docs = [
        result_doc(TaskResult.from_disk(folder / f"{task}.json"), model, revision, source="import")
        for task in ("BIOSSES", "STSBenchmark", "SICK-R")
    ]
    first = [doc.to_mongo() for doc in docs[:2]]
    again = [docs[1].to_mongo() | {"main_score": 0.5}, docs[2].to_mongo()]

    assert await store.insert_result_documents(first) == set()
    before = await store.results.find_one({"_id": docs[1].id})
    assert await store.insert_result_documents(again) == {docs[1].id}

    assert await store.results.find_one({"_id": docs[1].id}) == before
    assert await store.results.count_documents({}) == 3


async def test_an_import_over_stored_results_stores_what_one_into_an_empty_store_does(
    store: Store, other_store: Store, checkout: Path, tmp_path: Path
) -> None:
    """Results stored already (from an older copy of some files, or by an evaluator under the
    same key, with `replace`) are compared and replaced; the rest inserted."""
    part = synthetic_checkout(tmp_path / "part", MODELS[:2])
    older = next((part / "results" / MINILM.replace("/", "__")).glob("*/BIOSSES.json"))
    data = json.loads(older.read_text())
    data["scores"]["test"][0]["main_score"] = 0.5
    older.write_text(json.dumps(data))
    await run_import(store, part, resamples=0)
    bge = next((checkout / "results" / "BAAI__bge-base-en-v1.5").glob("*/model_meta.json")).parent
    model, revision, _ = folder_identity(bge)
    evaluated = json.loads((bge / "BIOSSES.json").read_text())
    evaluated["scores"]["test"][0]["main_score"] = 0.25
    live = result_doc(TaskResult.model_validate(evaluated), model, revision, source="evaluator")
    await store.upsert_result(live)

    over = await run_import(store, checkout, resamples=0, replace=True)
    empty = await run_import(other_store, checkout, resamples=0)

    kept = len(result_files(part)) - 1
    assert (over.stored, over.unchanged) == (empty.stored - kept, kept)
    assert over.replaced_evaluated == 1
    volatile = {"stored_us", "evaluated_at"}  # when stored; files without a date: when read
    for name in ("results", "models"):
        ours, theirs = await asyncio.gather(
            *(s.db[name].find({}).sort("_id", 1).to_list() for s in (store, other_store))
        )
        assert [_without(doc, volatile) for doc in ours] == [
            _without(doc, volatile) for doc in theirs
        ], name


def _without(document: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in fields}


async def test_a_first_import_mirrors_its_writes_as_reading_them_back_would(
    store: Store, checkout: Path
) -> None:
    await store.ensure_aggregation_indexes()
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=0)
    biosses = next(checkout.glob("results/*/*/BIOSSES.json"))
    live = result_doc(TaskResult.from_disk(biosses), "org/live-model", "r1", source="evaluator")
    insert = store.insert_result_documents

    async def insert_beside_a_live_result(documents: list[dict[str, Any]]) -> set[str]:
        if live.id not in updater.mirror.listings.get("BIOSSES", {}):
            await store.upsert_result(live)  # the aggregator, during the import
        return await insert(documents)

    store.insert_result_documents = insert_beside_a_live_result  # type: ignore[method-assign]
    report = await Importer(store, updater, workers=2).run(checkout)

    read_back = ResultMirror()
    await read_back.sync(store)
    assert report.stored > 0 and report.benchmarks
    assert updater.mirror.by_task == read_back.by_task
    assert live.id in updater.mirror.by_task["BIOSSES"]
    assert {task: set(docs) for task, docs in updater.mirror.listings.items()} == {
        task: set(docs) for task, docs in read_back.listings.items()
    }
    assert updater.mirror.model_docs == read_back.model_docs


async def test_a_model_document_written_during_an_import_is_merged_not_lost(
    store: Store, checkout: Path
) -> None:
    live = ModelRevision(revision="live-revision", meta_json=json.dumps({"name": MINILM}))
    read_models = store.get_models

    async def read_then_race(names: list[str]) -> dict[str, ModelDoc]:
        found = await read_models(names)
        if MINILM in names and not (await read_models([MINILM])):
            # the aggregator stores a live result's revision between the read and the write
            assert await store.replace_model(ModelDoc(_id=MINILM, revisions=[live]), None)
        return found

    store.get_models = read_then_race  # type: ignore[method-assign]
    report = await Importer(store, None, workers=2).run(checkout)

    stored = (await read_models([MINILM]))[MINILM]
    revisions = [entry.revision for entry in stored.revisions]
    assert "live-revision" in revisions and len(revisions) > 1
    assert stored.revision("live-revision") == live
    assert report.models_stored == len(MODELS)


def kept_files(report: ImportReport) -> list[str]:
    """The names of the files an import skipped for a result evaluated here."""
    return sorted(Path(skip.path).name for skip in report.skipped if skip.reason == KEPT_EVALUATED)


async def minilm_results(store: Store, task: str) -> list[ResultDoc]:
    return [result for result in await store.results_for_task(task) if result.model == MINILM]


async def task_row(store: Store, task: str, model: str) -> LeaderboardRow:
    board = await store.get_leaderboard(task_leaderboard_id(task))
    assert board is not None
    [row] = [row for row in board.rows if row.model == model]
    return row


async def test_an_import_after_a_live_evaluation_keeps_the_live_rows(
    store: Store, bus: Bus, tmp_path: Path
) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM, BGE))
    submission_id = await evaluate_here(store, bus, checkout, 0.5)
    live = {task: await minilm_results(store, task) for task in LIVE_TASKS}

    report = await run_import(store, checkout, resamples=0)

    assert kept_files(report) == [f"{task}.json" for task in LIVE_TASKS]
    assert report.stored == len(result_files(checkout)) - len(LIVE_TASKS)
    for task in LIVE_TASKS:
        assert await minilm_results(store, task) == live[task]  # not even restamped
        row = await task_row(store, task, MINILM)
        assert (row.source, row.submission_id, row.main_score) == ("evaluator", submission_id, 0.5)
        assert row.evaluated_at == live[task][0].evaluated_at
        imported = await task_row(store, task, BGE)
        assert (imported.source, imported.submission_id) == ("import", None)
        assert imported.source_file and imported.source_file.endswith(f"/{task}.json")
    table = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(ENG_V2))
    assert table is not None
    [minilm] = [row for row in table.table.rows if row.model == MINILM]
    assert minilm.task_scores["BIOSSES"] == 0.5

    again = await run_import(store, checkout, resamples=0)

    assert (again.stored, kept_files(again)) == (0, kept_files(report))


async def test_an_import_with_replace_overwrites_the_live_results(
    store: Store, bus: Bus, tmp_path: Path
) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM,))
    await evaluate_here(store, bus, checkout, 0.5)

    report = await run_import(store, checkout, resamples=0, replace=True)

    assert (report.replaced_evaluated, kept_files(report)) == (len(LIVE_TASKS), [])
    assert report.stored == len(result_files(checkout))
    for task in LIVE_TASKS:
        [result] = await minilm_results(store, task)
        assert (result.source, result.submission_id) == ("import", None)
        assert result.main_score != 0.5
        row = await task_row(store, task, MINILM)
        assert (row.source, row.submission_id, row.source_file) == (
            "import",
            None,
            result.source_file,
        )


async def test_a_live_result_of_another_mteb_version_is_stored_beside_the_import(
    store: Store, bus: Bus, tmp_path: Path
) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM,))
    submission_id = await evaluate_here(store, bus, checkout, 0.5, mteb_version="2.26.24")

    report = await run_import(store, checkout, resamples=0)

    assert (report.stored, kept_files(report)) == (len(result_files(checkout)), [])
    for task in LIVE_TASKS:
        results = await minilm_results(store, task)
        assert sorted(result.source for result in results) == ["evaluator", "import"]
        # the imported file has no date (dated when read, after the live result): still the
        # result evaluated here is the model's row
        row = await task_row(store, task, MINILM)
        assert (row.source, row.submission_id) == ("evaluator", submission_id)


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_checkouts_commit_is_read_from_each_git_layout(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    results = checkout / "results"
    results.mkdir(parents=True)
    assert checkout_commit(results) is None  # not a git checkout
    git(checkout, "init", "--quiet", "--initial-branch=main")
    assert checkout_commit(results) is None  # no commit yet
    git(checkout, "commit", "--quiet", "--allow-empty", "-m", "first")
    head = git(checkout, "rev-parse", "HEAD")

    assert checkout_commit(results) == checkout_commit(checkout) == head  # a loose ref
    git(checkout, "pack-refs", "--all")
    assert not (checkout / ".git" / "refs" / "heads" / "main").exists()
    assert checkout_commit(results) == head  # packed-refs
    git(checkout, "checkout", "--quiet", "--detach")
    assert checkout_commit(results) == head  # a detached HEAD
    git(checkout, "worktree", "add", "--quiet", "--detach", str(tmp_path / "other"))
    assert (tmp_path / "other" / ".git").is_file()
    assert checkout_commit(tmp_path / "other" / "results") == head  # asked of git
    (checkout / ".git" / "HEAD").write_text("not a ref\n")
    assert checkout_commit(results) is None  # unreadable, to git too


async def test_imported_rows_name_their_file_and_the_checkouts_commit(
    store: Store, tmp_path: Path
) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM,))
    git(checkout, "init", "--quiet")
    git(checkout, "add", ".")
    git(checkout, "commit", "--quiet", "-m", "results")
    head = git(checkout, "rev-parse", "HEAD")

    await run_import(store, checkout, resamples=0)

    stored = await store.results_stored_since(None)
    assert stored and {result.source_commit for result in stored} == {head}
    [biosses] = await minilm_results(store, "BIOSSES")
    row = await task_row(store, "BIOSSES", MINILM)
    assert (row.source, row.source_file, row.source_commit) == ("import", biosses.source_file, head)
    assert (
        biosses.source_file
        == next(checkout.glob("results/*/*/BIOSSES.json"))
        .relative_to(checkout / "results")
        .as_posix()
    )


async def test_the_task_page_says_where_each_row_came_from(
    store: Store, bus: Bus, mongodb_url: str, tmp_path: Path
) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM, BGE))
    submission_id = await evaluate_here(store, bus, checkout, 0.5)
    await run_import(store, checkout, resamples=0)
    settings = Settings(
        mongodb_url=mongodb_url, mongodb_database=store.db.name, bootstrap_resamples=0
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as web:
            data = (await web.get("/tasks/BIOSSES.json")).json()
            table = (await web.get("/tasks/BIOSSES.csv")).text
            html = (await web.get("/tasks/BIOSSES")).text

    rows = {row["model"]: row for row in data["rows"]}
    assert (rows[MINILM]["source"], rows[MINILM]["submission_id"]) == ("evaluator", submission_id)
    assert (rows[BGE]["source"], rows[BGE]["source_commit"]) == ("import", None)
    assert rows[BGE]["source_file"].endswith("/BIOSSES.json")
    by_model = {row["model"]: row for row in csv.DictReader(io.StringIO(table))}
    assert (by_model[MINILM]["source"], by_model[BGE]["source_file"]) == (
        "evaluator",
        rows[BGE]["source_file"],
    )
    assert f'href="/submissions/{submission_id}"' in html
    assert "(imported)" not in html
    assert f"<code>{rows[BGE]['source_file']}</code> at an unknown commit" in html
