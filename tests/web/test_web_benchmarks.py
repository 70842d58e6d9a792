"""Benchmark pages: the imported tables, filters, custom subsets and history, in every rendering."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import mteb

from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from shared.store import Store
from tests.support.synthetic_results import MINILM, MODELS

ENG_V2 = "MTEB(eng, v2)"
RESAMPLES = 100
SUBSET = ["BIOSSES", "STSBenchmark", "Banking77Classification"]


def page(name: str, suffix: str = "") -> str:
    return f"/benchmarks/{name}{suffix}"


async def test_the_json_view_is_the_stored_table(web: httpx.AsyncClient, store: Store) -> None:
    response = await web.get(page(ENG_V2, ".json"))
    assert response.status_code == 200
    body = response.json()
    stored = await store.get_benchmark_leaderboard(f"benchmark:{ENG_V2}")
    assert stored is not None
    assert body["version"] == stored.version
    assert [row["Model"] for row in body["rows"]] == [row.model for row in stored.table.rows]
    assert [row["Mean (Task)"] for row in body["rows"]] == [
        row.mean_task for row in stored.table.rows
    ]
    assert {MINILM} <= {row["Model"] for row in body["rows"]} <= set(MODELS)


async def test_csv_and_html_render_the_same_rows(web: httpx.AsyncClient) -> None:
    rows = (await web.get(page(ENG_V2, ".json"))).json()["rows"]
    table = list(csv.DictReader(io.StringIO((await web.get(page(ENG_V2, ".csv"))).text)))
    assert [row["Model"] for row in table] == [row["Model"] for row in rows]
    html = await web.get(page(ENG_V2))
    assert html.status_code == 200
    assert "<table" in html.text
    for row in rows:
        assert row["Model"] in html.text
        if row["Mean (Task)"] is not None:
            assert f"{row['Mean (Task)'] * 100:.2f}" in html.text


async def test_a_custom_subset_is_ranked_on_those_tasks_only(
    web: httpx.AsyncClient, store: Store
) -> None:
    response = await web.get(page(ENG_V2, ".json"), params={"task": SUBSET})
    body = response.json()
    assert body["custom_subset"] is True
    assert sorted(body["tasks"]) == sorted(SUBSET)
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=RESAMPLES)
    await updater.prime()
    expected = updater.table(mteb.get_benchmark(ENG_V2), SUBSET)
    assert [(r["Model"], r["Mean (Task)"], r["Rank (Borda)"]) for r in body["rows"]] == [
        (row.model, row.mean_task, row.rank_borda) for row in expected.rows
    ]


async def test_a_task_outside_the_benchmark_is_a_clear_422(web: httpx.AsyncClient) -> None:
    response = await web.get(page(ENG_V2, ".json"), params={"task": ["NoSuchTask"]})
    assert response.status_code == 422
    assert "NoSuchTask" in response.json()["error"]


async def test_filters_and_sort_live_in_the_url(web: httpx.AsyncClient) -> None:
    every = (await web.get(page(ENG_V2, ".json"))).json()["rows"]
    small = (await web.get(page(ENG_V2, ".json"), params={"max_params": 0.2})).json()["rows"]
    sizes = {row["Model"]: row["Total Parameters (B)"] for row in every}
    assert {row["Model"] for row in small} == {
        model for model, size in sizes.items() if size is not None and size <= 0.2
    }
    named = (await web.get(page(ENG_V2, ".json"), params={"q": "minilm"})).json()["rows"]
    assert [row["Model"] for row in named] == [MINILM]
    by_name = (await web.get(page(ENG_V2, ".json"), params={"sort": "-Model"})).json()["rows"]
    assert [row["Model"] for row in by_name] == sorted(sizes, reverse=True)


async def test_the_filter_form_submits_as_a_browser_sends_it(web: httpx.AsyncClient) -> None:
    """Fields left empty are not given; the pool select's choice stays selected."""
    form = {"q": "", "min_params": "", "max_params": "", "zero_shot": "", "sort": ""}
    every = (await web.get(page(ENG_V2, ".json"))).json()["rows"]
    for pool in ("all", "official", ""):
        submitted = await web.get(page(ENG_V2, ".json"), params=form | {"pool": pool})
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["rows"] == every  # an import holds mteb's pool only
    html = await web.get(page(ENG_V2), params=form | {"pool": "official"})
    assert html.status_code == 200
    assert '<option value="official" selected>' in html.text
    assert "not in mteb's pool</span>" not in html.text
    wrong = await web.get(page(ENG_V2, ".json"), params={"min_params": "many"})
    assert wrong.status_code == 422


async def test_history_shows_the_days_snapshot(web: httpx.AsyncClient) -> None:
    body: dict[str, Any] = (await web.get(f"/history/{ENG_V2}.json")).json()
    current = (await web.get(page(ENG_V2, ".json"))).json()["rows"]
    ranked = [row for row in current if row["Rank (Borda)"] is not None]
    assert body["models"] == [row["Model"] for row in ranked][: len(body["models"])]
    assert {row["Model"]: row["Rank (Borda)"] for row in body["rows"]} == {
        row["Model"]: row["Rank (Borda)"] for row in ranked
    }
    assert (await web.get(f"/history/{ENG_V2}")).status_code == 200


async def test_unknown_benchmark_is_404_and_the_index_lists_the_registry(
    web: httpx.AsyncClient,
) -> None:
    assert (await web.get(page("NoSuchBenchmark", ".json"))).status_code == 404
    index = await web.get("/benchmarks")
    assert index.status_code == 200
    assert all(benchmark.name in index.text for benchmark in mteb.get_benchmarks()[:5])
