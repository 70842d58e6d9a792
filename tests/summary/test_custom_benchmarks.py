"""A custom benchmark ranks like a registry benchmark of the same results, every model with
results in its pool (mteb has no pool of it); the lookups see custom benchmarks as the
catalogue has them now."""

from __future__ import annotations

from collections.abc import Iterator

import mteb
import pytest

from shared.custom_tasks.spec import TaskType
from shared.staleness import stale_reason
from shared.summary.models import in_official_pool, model_meta
from shared.summary.rows import ResultRow
from shared.summary.table import BenchmarkRow, BenchmarkTable, summarize
from shared.summary.tasks import (
    benchmark_named,
    benchmarks_containing,
    is_custom_benchmark,
)
from tests.support.custom_catalogue import (
    benchmark_doc,
    installed,
    renamed,
    task_doc,
    task_spec,
)
from tests.support.results_repo import RESULTS_CHECKOUT, result_rows

REGISTRY_TASKS = ("ArguAna", "BIOSSES", "STSBenchmark")
"""Three tasks of MTEB(eng, v2), two types; the first two get custom twins."""
TWINS = {"ArguAna": "our-tickets", "BIOSSES": "our-pairs"}
CUSTOM = "our-bench"
RESAMPLES = 200

needs_results = pytest.mark.skipif(
    not RESULTS_CHECKOUT.is_dir(), reason="no public results checkout"
)


@pytest.fixture
def catalogue() -> Iterator[None]:
    """Custom twins of ArguAna (Retrieval) and BIOSSES (STS), and a benchmark of them and
    STSBenchmark."""
    tasks = [
        task_doc(task_spec(TWINS["ArguAna"], TaskType.RETRIEVAL)),
        task_doc(task_spec(TWINS["BIOSSES"], TaskType.STS, score_range=(0.0, 4.0))),
    ]
    with installed(tasks, [benchmark_doc(CUSTOM, [*TWINS.values(), "STSBenchmark"])]):
        yield


def registry_style() -> mteb.Benchmark:
    """A benchmark of the three registry tasks, as the registry's benchmarks are made."""
    return mteb.Benchmark(name="three tasks", tasks=[mteb.get_task(t) for t in REGISTRY_TASKS])


def ranking(row: BenchmarkRow, names: dict[str, str]) -> tuple[object, ...]:
    """What a row says of the model's standing, its task scores under `names`' keys."""
    return (
        row.revision,
        row.rank_borda,
        row.mean_task,
        row.mean_task_type,
        row.type_means,
        {names.get(task, task): score for task, score in row.task_scores.items()},
        row.mean_task_ci,
        row.rank_ci,
        row.tie_group,
        row.official,
    )


def rankings(table: BenchmarkTable, names: dict[str, str] | None = None) -> dict[str, object]:
    return {row.model: ranking(row, names or {}) for row in table.rows}


@pytest.fixture(scope="module")
def checkout_rows() -> list[ResultRow]:
    return list(result_rows(set(REGISTRY_TASKS)))


@needs_results
def test_a_custom_benchmark_ranks_as_a_registry_benchmark_of_the_same_results(
    catalogue: None, checkout_rows: list[ResultRow]
) -> None:
    expected = summarize(
        registry_style(),
        checkout_rows,
        model_meta,
        bootstrap_resamples=RESAMPLES,
        is_official=lambda _: True,
    )
    custom = benchmark_named(CUSTOM)

    table = summarize(custom, renamed(checkout_rows, TWINS), model_meta, None, RESAMPLES)

    assert table.tasks == [*TWINS.values(), "STSBenchmark"]
    assert table.task_types == ["Retrieval", "STS"]
    assert rankings(table, {twin: task for task, twin in TWINS.items()}) == rankings(expected)
    assert len(table.rows) > 200
    outside = [row for row in table.rows if not in_official_pool(row.model)]
    assert outside and all(row.official and row.rank_ci for row in outside)  # everyone's pool
    assert all(row.mean_task_ci for row in table.rows if row.mean_task is not None)


@needs_results
def test_a_custom_benchmark_is_not_ranked_in_mtebs_pool(
    catalogue: None, checkout_rows: list[ResultRow]
) -> None:
    """The same results ranked in mteb's pool leave models out and rank the others apart."""
    custom = summarize(benchmark_named(CUSTOM), renamed(checkout_rows, TWINS), model_meta)
    in_mtebs_pool = summarize(registry_style(), checkout_rows, model_meta)

    assert {row.model for row in in_mtebs_pool.rows} < {row.model for row in custom.rows}


def test_the_benchmarks_of_a_task_include_custom_ones_as_the_catalogue_has_them(
    catalogue: None,
) -> None:
    custom = benchmarks_containing([TWINS["BIOSSES"]])
    registry_and_custom = {b.name for b in benchmarks_containing(["STSBenchmark"])}

    assert [b.name for b in custom] == [CUSTOM]
    assert {CUSTOM, "MTEB(eng, v2)"} <= registry_and_custom
    assert is_custom_benchmark(CUSTOM) and not is_custom_benchmark("MTEB(eng, v2)")
    with installed():  # the benchmark deleted
        assert CUSTOM not in {b.name for b in benchmarks_containing(["STSBenchmark"])}
        assert benchmarks_containing([TWINS["BIOSSES"]]) == []
        assert not is_custom_benchmark(CUSTOM)


def test_a_custom_benchmark_leaves_out_a_deleted_task() -> None:
    tasks = [task_doc(task_spec(TWINS["BIOSSES"], TaskType.STS))]
    with installed(tasks, [benchmark_doc(CUSTOM, [*TWINS.values(), "STSBenchmark"])]):
        benchmark = benchmark_named(CUSTOM)

    assert [task.metadata.name for task in benchmark.tasks] == [TWINS["BIOSSES"], "STSBenchmark"]


def test_a_result_on_a_custom_tasks_earlier_data_is_stale() -> None:
    first, second = task_spec("our-pairs", TaskType.STS), task_spec("our-pairs", TaskType.STS, "v2")
    mteb_now = mteb.__version__

    with installed([task_doc(second)]):
        reason = stale_reason("our-pairs", mteb_now, first.revision)
        assert stale_reason("our-pairs", mteb_now, second.revision) is None

    assert reason == f"dataset revision {first.revision}; the task now uses {second.revision}"
    assert stale_reason("our-pairs", mteb_now, first.revision) is None  # unknown: nothing says
