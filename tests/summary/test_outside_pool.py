"""Models evaluated here that mteb's pool lacks: shown, marked, and moving nobody's rank."""

from __future__ import annotations

import mteb
import pytest
from mteb.models.model_implementations import MODEL_REGISTRY

from shared.summary.display import Format, Pool, in_pool, render
from shared.summary.models import in_official_pool, model_meta
from shared.summary.rows import ResultRow
from shared.summary.table import BenchmarkTable, summarize
from tests.support.results_repo import result_rows
from tests.support.synthetic_results import OUTSIDE, summary_checkout

ENG_V2 = "MTEB(eng, v2)"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
COPY = "myorg/minilm-copy"


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> tuple[mteb.Benchmark, list[ResultRow]]:
    """MTEB(eng, v2) and the ResultRows of a checkout made here."""
    benchmark = mteb.get_benchmark(ENG_V2)
    checkout = summary_checkout(tmp_path_factory.mktemp("results"))
    return benchmark, list(result_rows({task.metadata.name for task in benchmark.tasks}, checkout))


def evaluated_here(
    rows: list[ResultRow], model: str, tasks: set[str], bonus: float
) -> list[ResultRow]:
    """MiniLM's rows of `tasks` as a live result of `model`, every score raised by `bonus`."""
    return [
        row.model_copy(
            update={
                "model": model,
                "revision": "r1",
                "evaluated_here": True,
                "scores": {s: {k: v + bonus for k, v in c.items()} for s, c in row.scores.items()},
            }
        )
        for row in rows
        if row.model == MINILM and row.task in tasks
    ]


def official_part(table: BenchmarkTable) -> list[tuple[object, ...]]:
    return [
        (row.model, row.rank_borda, row.mean_task, row.rank_ci, row.mean_task_ci, row.tie_group)
        for row in table.rows
        if row.official
    ]


def test_a_model_outside_the_pool_shows_the_rank_it_would_take_and_moves_nobody(
    public: tuple[mteb.Benchmark, list[ResultRow]],
) -> None:
    benchmark, rows = public
    assert any(row.model == OUTSIDE for row in rows)  # imported, outside the pool
    all_tasks = {task.metadata.name for task in benchmark.tasks}
    live = evaluated_here(rows, COPY, all_tasks, 0.02)
    before = summarize(benchmark, rows, model_meta, bootstrap_resamples=100)
    after = summarize(benchmark, rows + live, model_meta, bootstrap_resamples=100)

    assert official_part(after) == official_part(before)
    assert not any(row.model == OUTSIDE for row in after.rows)
    [marked] = [row for row in after.rows if not row.official]
    assert (marked.model, marked.evaluated_here) == (COPY, True)
    joined = summarize(
        benchmark,
        rows + live,
        model_meta,
        bootstrap_resamples=0,
        is_official=lambda name: name == COPY or in_official_pool(name),
    )
    [inside] = [row for row in joined.rows if row.model == COPY]
    assert marked.rank_borda == inside.rank_borda
    assert marked.rank_borda < next(r.rank_borda for r in after.rows if r.model == MINILM)
    assert marked.mean_task == inside.mean_task and marked.mean_task_ci is not None
    ranks = [row.rank_borda for row in after.rows]
    assert ranks == sorted(ranks)
    assert [row.model for row in in_pool(after, Pool.OFFICIAL).rows] == [
        row.model for row in before.rows
    ]
    assert "Official Pool" in render(after, Format.CSV).splitlines()[0]


def test_a_model_outside_the_pool_on_a_few_tasks_gets_a_row_without_means(
    public: tuple[mteb.Benchmark, list[ResultRow]],
) -> None:
    benchmark, rows = public
    live = evaluated_here(rows, COPY, {"BIOSSES", "STSBenchmark"}, 0.0)
    table = summarize(benchmark, rows + live, model_meta, bootstrap_resamples=0)
    [marked] = [row for row in table.rows if not row.official]
    assert marked.mean_task is None and marked.task_scores["BIOSSES"] is not None
    assert marked.task_scores["ArguAna"] is None


def test_with_only_models_outside_the_pool_the_table_shows_them() -> None:
    benchmark = mteb.get_benchmark(ENG_V2)
    live = [
        ResultRow(
            model=name,
            revision="r1",
            task="BIOSSES",
            mteb_version="2.26.24",
            scores={"test": {"default": value}},
            evaluated_here=True,
        )
        for name, value in (("a/one", 0.8), ("b/two", 0.9))
    ]
    table = summarize(benchmark, live, model_meta, bootstrap_resamples=10)
    # each takes the rank it would have in the (empty) official pool
    assert [(r.model, r.rank_borda, r.official) for r in table.rows] == [
        ("a/one", 1, False),
        ("b/two", 1, False),
    ]
    assert table.tasks == ["BIOSSES"] and "b/two" not in MODEL_REGISTRY
