"""The default tables equal mteb 2.26's own summary tables on the public results, pool included.

Every registry benchmark with results in the shared checkout is imported as `leaderboard
import-results` does and compared with mteb's leaderboard path on the same files (its
`ResultCache` load of the registry's models, `_to_results_df`, `_create_summary_table`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import mteb
import polars as pl
import pytest
from mteb.cache import ResultCache
from mteb.models.model_implementations import MODEL_REGISTRY

from shared.documents import benchmark_leaderboard_id
from shared.store import Store
from shared.summary.table import BenchmarkTable
from tests.conftest import fresh_store
from tests.support.aggregation_fixtures import run_import
from tests.support.mteb_oracle import mteb_summary
from tests.support.results_repo import RESULTS_CHECKOUT

pytestmark = pytest.mark.skipif(
    not RESULTS_CHECKOUT.exists(), reason="the shared public results checkout is not here"
)

MODEL_COLUMNS = {
    "Zero-shot": "zero_shot",
    "Total Parameters (B)": "n_parameters_b",
    "Active Parameters (B)": "n_active_parameters_b",
    "Embedding Dimensions": "embed_dim",
    "Max Tokens": "max_tokens",
}


@pytest.fixture(scope="module")
def mteb_tables() -> dict[str, dict[str, dict[str, Any]]]:
    """mteb's summary rows by model, per registry benchmark with results in the checkout."""
    loaded = ResultCache(RESULTS_CHECKOUT).load_results(
        models=list(MODEL_REGISTRY),
        only_main_score=True,
        require_model_meta=False,
        include_remote=False,
        load_experiments="match_name",
    )
    tables = {}
    for benchmark in mteb.get_benchmarks():
        frame = loaded._to_results_df(benchmark.tasks)
        if not frame.is_empty():
            frame = frame.filter(pl.col("model_name").is_in(list(MODEL_REGISTRY)))
            tables[benchmark.name] = mteb_summary(benchmark, frame)
    return tables


@pytest.fixture(scope="module")
async def imported(mongodb_url: str) -> AsyncIterator[Store]:
    """A store holding the whole public checkout, imported as `leaderboard import-results` does."""
    async with fresh_store(mongodb_url) as store:
        await run_import(store, RESULTS_CHECKOUT, resamples=100)
        yield store


def same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) and isinstance(actual, float):
        return abs(expected - actual) <= 1e-9
    return bool(expected == actual)


def differences(reference: dict[str, dict[str, Any]], table: BenchmarkTable) -> list[str]:
    """Every row, rank and value of mteb's table that `table` does not show as mteb does."""
    ours = {row.model: row for row in table.rows}
    found = [f"rows: mteb only {sorted(reference.keys() - ours.keys())}"] * (
        not reference.keys() <= ours.keys()
    )
    found += [f"rows: ours only {sorted(ours.keys() - reference.keys())}"] * (
        not ours.keys() <= reference.keys()
    )
    ranks = [row.rank_borda or 0 for row in table.rows]
    found += ["rows not in rank order"] * (ranks != sorted(ranks))
    for model, expected in reference.items():
        row = ours.get(model)
        if row is None:
            continue
        pairs = [
            ("Rank (Borda)", row.rank_borda),
            ("Mean (Task)", row.mean_task),
            ("Mean (TaskType)", row.mean_task_type),
            *[(column, getattr(row, field)) for column, field in MODEL_COLUMNS.items()],
            *[(task_type, row.type_means[task_type]) for task_type in table.task_types],
        ]
        found += [
            f"{model} {column}: mteb {expected.get(column)} ours {value}"
            for column, value in pairs
            if column in expected and not same(expected[column], value)
        ]
    return found


async def test_every_benchmark_with_results_shows_mtebs_table_by_default(
    imported: Store, mteb_tables: dict[str, dict[str, dict[str, Any]]]
) -> None:
    assert "MTEB(eng, v2)" in mteb_tables and "MTEB(Multilingual, v2)" in mteb_tables
    assert len(mteb_tables["MTEB(eng, v2)"]) == 317  # the voyageai/* folders are left out
    wrong = {}
    for name, reference in mteb_tables.items():
        stored = await imported.get_benchmark_leaderboard(benchmark_leaderboard_id(name))
        table = (
            stored.table
            if stored
            else BenchmarkTable(benchmark=name, tasks=[], task_types=[], rows=[])
        )
        if found := differences(reference, table):
            wrong[name] = found[:5]
    assert wrong == {}
