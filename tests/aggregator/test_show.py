"""`show`: a summary under mteb's column names, raw in csv/json, rounded as mteb shows."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import mteb
import pytest

from services.aggregator.commands import load_table
from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.cli import main
from shared.settings import get_settings
from shared.store import Store
from shared.summary.display import Format, columns, render
from shared.summary.table import summarize
from tests.support.aggregation_fixtures import run_import
from tests.support.synthetic_results import MINILM, synthetic_checkout

ENG_V2 = "MTEB(eng, v2)"
MTEB_COLUMNS = [
    "Rank (Borda)",
    "Model",
    "Zero-shot",
    "Active Parameters (B)",
    "Total Parameters (B)",
    "Embedding Dimensions",
    "Max Tokens",
    "Mean (Task)",
    "Mean (TaskType)",
]
SUBSET = ["BIOSSES", "STSBenchmark", "SCIDOCS"]


@pytest.fixture
async def imported(store: Store, tmp_path: Path) -> Store:
    await run_import(store, synthetic_checkout(tmp_path / "checkout"), resamples=50)
    return store


async def test_csv_and_json_carry_the_stored_raw_values_under_mtebs_names(imported: Store) -> None:
    table, stored = await load_table(imported, ENG_V2, None, 50)
    assert stored is not None and stored.version == 1

    rows = list(csv.DictReader(io.StringIO(render(table, Format.CSV))))
    document = json.loads(render(table, Format.JSON, {"version": stored.version}))

    names = columns(table)
    assert names[: len(MTEB_COLUMNS)] == MTEB_COLUMNS
    assert "Retrieval" in names and "PairClassification" in names
    assert document["columns"] == names and document["version"] == 1
    [minilm] = [row for row in table.rows if row.model == MINILM]
    [as_csv] = [row for row in rows if row["Model"] == MINILM]
    [as_json] = [row for row in document["rows"] if row["Model"] == MINILM]
    assert minilm.mean_task is not None and minilm.mean_task_ci is not None
    assert float(as_csv["Mean (Task)"]) == as_json["Mean (Task)"] == minilm.mean_task
    assert as_json["Rank (Borda)"] == minilm.rank_borda
    assert as_json["Retrieval"] == minilm.type_means["Retrieval"]
    assert as_json["Mean (Task) CI Low"] == minilm.mean_task_ci[0]
    assert as_json["Embedding Dimensions"] == 384


async def test_the_text_table_rounds_as_mtebs_leaderboard(imported: Store) -> None:
    table, _ = await load_table(imported, ENG_V2, None, 50)

    lines = render(table, Format.TABLE).splitlines()

    assert "Pair Classification" in lines[0] and "Mean (Task)" in lines[0]
    [minilm] = [row for row in table.rows if row.model == MINILM]
    [line] = [line for line in lines if MINILM in line]
    assert minilm.mean_task is not None
    assert f" {round(minilm.mean_task * 100, 2):.2f} " in line
    assert " 0.023 " in line  # 22.7M parameters, shown in billions as mteb does
    assert "%" in line or "NA" in line


async def test_a_task_subset_is_computed_on_the_fly_as_summarize_computes_it(
    imported: Store,
) -> None:
    table, stored = await load_table(imported, ENG_V2, SUBSET, 50)

    assert stored is None
    assert sorted(table.tasks) == sorted(SUBSET)
    updater = BenchmarkUpdater(imported, None, bootstrap_resamples=50)
    await updater.prime()
    benchmark = mteb.get_benchmark(ENG_V2)
    rows = list(updater.mirror.rows(SUBSET))
    expected = summarize(benchmark, rows, updater.mirror.meta, SUBSET, bootstrap_resamples=50)
    assert table == expected
    assert len(table.rows) >= 4


async def test_the_show_command_prints_each_format_and_refuses_bad_names(
    imported: Store,
    mongodb_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setenv("LEADERBOARD_MONGODB_URL", mongodb_url)
    monkeypatch.setenv("LEADERBOARD_MONGODB_DATABASE", imported.db.name)
    get_settings.cache_clear()
    try:
        shown = await asyncio.to_thread(main, ["show", ENG_V2, "--format", "json"])
        as_json = json.loads(capsys.readouterr().out)
        subset = await asyncio.to_thread(main, ["show", ENG_V2, "--tasks", "BIOSSES,SCIDOCS"])
        as_table = capsys.readouterr().out
        unknown = await asyncio.to_thread(main, ["show", "No such benchmark"])
        unknown_error = capsys.readouterr().err
        bad_task = await asyncio.to_thread(main, ["show", ENG_V2, "--tasks", "NotATask"])
        bad_task_error = capsys.readouterr().err
    finally:
        get_settings.cache_clear()

    assert (shown, subset) == (0, 0)
    assert as_json["rows"] and as_json["version"] == 1
    assert as_table.splitlines()[0].startswith("Rank (Borda)")
    assert unknown == 2 and "unknown benchmark 'No such benchmark'" in unknown_error
    assert bad_task == 2 and "NotATask" in bad_task_error
