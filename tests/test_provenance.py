"""Results evaluated here survive an import of the same (model, revision, task), unless asked;
export writes only them unless asked for everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from mteb.results import TaskResult

from services.aggregator.benchmarks import BenchmarkUpdater
from services.aggregator.export import export_model
from services.aggregator.importer import KEPT_LIVE, Importer
from services.aggregator.intake import result_doc
from shared.documents import benchmark_leaderboard_id
from shared.store import Store
from tests.aggregation_fixtures import MINILM, PUBLIC_RESULTS, copy_checkout

pytestmark = pytest.mark.skipif(
    not PUBLIC_RESULTS.exists(), reason="the shared public results checkout is not here"
)


async def evaluated_here(store: Store, checkout: Path) -> tuple[str, str]:
    """MiniLM's BIOSSES evaluated here (a score the checkout does not hold): (id, revision)."""
    [path] = checkout.glob("results/*MiniLM-L6-v2/*/BIOSSES.json")
    task_result = TaskResult.from_disk(path)
    task_result.scores["test"][0]["main_score"] = 0.5
    revision = path.parent.name
    doc = result_doc(task_result, MINILM, revision, source="evaluator", submission_id="sub-1")
    await store.upsert_result(doc)
    return doc.id, revision


async def import_checkout(store: Store, checkout: Path, replace: bool = False) -> list[str]:
    await store.ensure_aggregation_indexes()
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=0)
    report = await Importer(store, updater, workers=2, replace=replace).run(checkout)
    return [skip.reason for skip in report.skipped]


async def test_an_import_keeps_the_result_evaluated_here(store: Store, tmp_path: Path) -> None:
    checkout = copy_checkout(tmp_path / "checkout", (MINILM,))
    result_id, _ = await evaluated_here(store, checkout)

    reasons = await import_checkout(store, checkout)

    kept = await store.results.find_one({"_id": result_id})
    assert kept is not None
    assert (kept["source"], kept["submission_id"], kept["main_score"]) == (
        "evaluator",
        "sub-1",
        0.5,
    )
    assert reasons.count(KEPT_LIVE) == 1
    board = await store.get_benchmark_leaderboard(benchmark_leaderboard_id("MTEB(eng, v2)"))
    assert board is not None
    [row] = [row for row in board.table.rows if row.model == MINILM]
    assert row.evaluated_here and row.task_scores["BIOSSES"] == 0.5


async def test_replace_lets_the_import_replace_it(store: Store, tmp_path: Path) -> None:
    checkout = copy_checkout(tmp_path / "checkout", (MINILM,))
    result_id, _ = await evaluated_here(store, checkout)

    reasons = await import_checkout(store, checkout, replace=True)

    replaced = await store.results.find_one({"_id": result_id})
    assert replaced is not None and replaced["source"] == "import"
    assert replaced["submission_id"] is None and KEPT_LIVE not in reasons


async def test_export_writes_only_results_evaluated_here_unless_all(
    store: Store, tmp_path: Path
) -> None:
    checkout = copy_checkout(tmp_path / "checkout", (MINILM,))
    _, revision = await evaluated_here(store, checkout)
    await import_checkout(store, checkout)

    ours = await export_model(store, MINILM, tmp_path / "ours")
    everything = await export_model(store, MINILM, tmp_path / "all", everything=True)

    assert sorted(p.name for p in ours.files) == ["BIOSSES.json", "model_meta.json"]
    assert ours.files[0].parent.name == revision
    assert len([p for p in everything.files if p.name != "model_meta.json"]) == 41
