"""The benchmark views over HTTP (in-process): every view in JSON and CSV, the filtered pool
re-ranked as mteb 2.26's leaderboard re-ranks it, lenient names, typed errors."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import httpx
import mteb
import polars as pl
import pytest
from mteb.benchmarks._create_table import _create_per_language_table_from_benchmark_results
from mteb.models.get_model_meta import get_model_metas

from services.web.caching import VERSION_REFRESH_S
from shared.store import Store
from tests.support.aggregation_fixtures import run_import
from tests.support.browser import RESAMPLES
from tests.support.mteb_oracle import mteb_summary
from tests.support.results_repo import load_mteb_results, mteb_frame
from tests.support.synthetic_results import MINILM

ENG_V2 = "MTEB(eng, v2)"
VIEWS = ("", "/per-task", "/per-language", "/task-info")


def url(view: str = "", suffix: str = "", name: str = ENG_V2) -> str:
    return f"/benchmarks/{name}{view}{suffix}"


def mteb_frame_of(checkout: Path) -> pl.DataFrame:
    benchmark = mteb.get_benchmark(ENG_V2)
    return mteb_frame(load_mteb_results(benchmark, checkout), benchmark)


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-12)
    return bool(a == b)


def ranked(body: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        row["Model"]: (row["Rank (Borda)"], row["Mean (Task)"], row["Mean (TaskType)"])
        for row in body["rows"]
    }


def mteb_ranked(reference: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        model: (row["Rank (Borda)"], row["Mean (Task)"], row["Mean (TaskType)"])
        for model, row in reference.items()
    }


def same_tables(ours: dict[str, tuple[Any, ...]], theirs: dict[str, tuple[Any, ...]]) -> bool:
    return ours.keys() == theirs.keys() and all(
        all(close(a, b) for a, b in zip(ours[m], theirs[m], strict=True)) for m in ours
    )


@pytest.mark.parametrize("view", VIEWS)
async def test_every_view_renders_as_json_csv_and_html(web: httpx.AsyncClient, view: str) -> None:
    body = (await web.get(url(view, ".json"))).json()
    assert body["rows"], body
    assert body["view"] == (view.strip("/") or "summary")
    table = list(csv.DictReader(io.StringIO((await web.get(url(view, ".csv"))).text)))
    first_column = body["columns"][0]
    assert [row[first_column] for row in table] == [str(r[first_column]) for r in body["rows"]]
    assert list(table[0]) == body["columns"]
    html = await web.get(url(view))
    assert html.status_code == 200
    assert 'aria-current="page">' in html.text
    for key in ("Model", "Task"):
        for row in body["rows"]:
            if key in row:
                assert row[key] in html.text


async def test_a_filtered_pool_is_re_ranked_as_mteb_re_ranks_it(
    web: httpx.AsyncClient, checkout: Path
) -> None:
    """mteb's `update_tables`: the frame of the models `_filter_models` keeps, summarised."""
    frame = mteb_frame_of(checkout)
    names = frame["model_name"].unique().to_list()
    cases: list[tuple[dict[str, str], dict[str, Any]]] = [
        ({"max_size": "1000", "unknown_size": "hide"}, {"n_parameters_range": (None, 1e9)}),
        ({"availability": "open"}, {"open_weights": True}),
        ({"availability": "proprietary"}, {"open_weights": False}),
        ({"instructions": "tuned"}, {"use_instructions": True}),
        ({"compatibility": "sentence-transformers"}, {"frameworks": ["Sentence Transformers"]}),
    ]
    every = ranked((await web.get(url(suffix=".json"))).json())
    moved = []
    for params, mteb_filter in cases:
        metas = get_model_metas(model_names=names, **mteb_filter)
        kept = [meta.name for meta in metas if meta.name]
        reference = mteb_summary(
            mteb.get_benchmark(ENG_V2), frame.filter(pl.col("model_name").is_in(kept))
        )
        body = (await web.get(url(suffix=".json"), params=params)).json()
        assert body["filtered_pool"] is True and body["version"] is None
        assert same_tables(ranked(body), mteb_ranked(reference)), params
        if len(kept) < len(names):
            moved.append(ranked(body) != {m: every[m] for m in kept})
    assert any(moved)  # a filter moved ranks up


async def test_zero_shot_filters_on_the_chosen_tasks_as_mteb_does(
    web: httpx.AsyncClient, checkout: Path
) -> None:
    frame = mteb_frame_of(checkout)
    tasks = [t.metadata.name for t in mteb.get_benchmark(ENG_V2).tasks]
    names = frame["model_name"].unique().to_list()
    metas = get_model_metas(model_names=names)
    for mode in ("only_zero_shot", "remove_unknown"):
        verdict = {meta.name: meta.is_zero_shot_on(tasks) for meta in metas}
        if mode == "only_zero_shot":
            kept = [name for name, zero in verdict.items() if zero is True]
        else:
            kept = [name for name, zero in verdict.items() if zero is not None]
        body = (await web.get(url(suffix=".json"), params={"zero_shot": mode})).json()
        reference = mteb_summary(
            mteb.get_benchmark(ENG_V2), frame.filter(pl.col("model_name").is_in(kept))
        )
        assert same_tables(ranked(body), mteb_ranked(reference)), mode


async def test_customising_by_task_type_ranks_those_tasks_as_mteb(
    web: httpx.AsyncClient, checkout: Path
) -> None:
    benchmark = mteb.get_benchmark(ENG_V2)
    sts = [t.metadata.name for t in benchmark.tasks if t.metadata.type == "STS"]
    body = (await web.get(url(suffix=".json"), params={"type": "STS"})).json()
    assert body["tasks"] == sts and body["custom_subset"] is True
    reference = mteb_summary(benchmark, mteb_frame_of(checkout), sts)
    assert same_tables(ranked(body), mteb_ranked(reference))
    both = (await web.get(url(suffix=".json"), params={"type": "STS", "task": "BIOSSES"})).json()
    assert both["tasks"] == ["BIOSSES"]
    domain = (await web.get(url(suffix=".json"), params={"domain": "Medical"})).json()
    assert domain["tasks"] == [
        t.metadata.name
        for t in benchmark.tasks
        if not t.metadata.domains or "Medical" in t.metadata.domains
    ]


async def test_per_task_and_per_language_equal_mteb(web: httpx.AsyncClient, checkout: Path) -> None:
    frame = mteb_frame_of(checkout)
    per_task = {
        row["Model"]: row
        for row in mteb.get_benchmark(ENG_V2)._create_per_task_table(frame).iter_rows(named=True)
    }
    body = (await web.get(url("/per-task", ".json"))).json()
    assert {row["Model"] for row in body["rows"]} == set(per_task)
    for row in body["rows"]:
        for task in body["tasks"]:
            assert close(row[task], per_task[row["Model"]][task]), (row["Model"], task)
    languages = _create_per_language_table_from_benchmark_results(frame, "all")
    body = (await web.get(url("/per-language", ".json"))).json()
    assert [row["Model"] for row in body["rows"]] == languages["Model"].to_list()
    for row, theirs in zip(body["rows"], languages.iter_rows(named=True), strict=True):
        assert all(close(row[c], theirs[c]) for c in languages.columns if c != "Model")


async def test_task_information_is_the_registry_metadata(web: httpx.AsyncClient) -> None:
    body = (await web.get(url("/task-info", ".json"), params={"type": "STS"})).json()
    benchmark = mteb.get_benchmark(ENG_V2)
    sts = [t for t in benchmark.tasks if t.metadata.type == "STS"]
    assert [row["Task"] for row in body["rows"]] == [t.metadata.name for t in sts]
    for row, task in zip(body["rows"], sts, strict=True):
        assert row["Main Score"] == task.metadata.main_score
        assert row["Dataset Revision"] == task.metadata.dataset["revision"]
        assert row["Languages"] == ", ".join(task.languages)
        assert row["Samples"] > 0


async def test_empty_fields_are_no_filter(web: httpx.AsyncClient) -> None:
    """A form submitted with every field empty is the stored, unfiltered table."""
    fields = [
        "q",
        "min_params",
        "max_params",
        "zero_shot",
        "availability",
        "instructions",
        "max_size",
        "pool",
        "sort",
    ]
    stored = (await web.get(url(suffix=".json"))).json()
    empty = (await web.get(url(suffix=".json"), params=dict.fromkeys(fields, ""))).json()
    assert empty["rows"] == stored["rows"] and empty["version"] == stored["version"] is not None
    assert (await web.get(url(), params=dict.fromkeys(fields, ""))).status_code == 200


async def test_bad_fields_get_typed_errors_next_to_the_field(web: httpx.AsyncClient) -> None:
    bad = {"min_params": "many", "zero_shot": "sometimes", "type": "Poetry", "max_size": "7"}
    response = await web.get(url(suffix=".json"), params=bad)
    assert response.status_code == 422
    codes = {field["field"]: field["code"] for field in response.json()["fields"]}
    assert codes == {
        "min_params": "not_a_number",
        "zero_shot": "not_a_choice",
        "type": "not_in_benchmark",
        "max_size": "not_a_choice",
    }
    page = await web.get(url("/per-task"), params=bad)
    assert page.status_code == 422
    assert 'id="error-min_params" data-code="not_a_number"' in page.text
    assert 'aria-describedby="error-min_params"' in page.text
    assert 'value="many"' in page.text  # the bad value is shown back
    assert "<table" in page.text  # with the table of the valid fields
    empty_range = await web.get(url(suffix=".json"), params={"min_params": 2, "max_params": 1})
    assert empty_range.json()["fields"][0]["code"] == "empty_range"


async def test_unknown_sizes_stay_unless_hidden(web: httpx.AsyncClient) -> None:
    every = (await web.get(url(suffix=".json"))).json()["rows"]
    unknown = {r["Model"] for r in every if r["Total Parameters (B)"] is None}
    for params in ({"min_params": "0"}, {"max_size": "10000"}):
        rows = (await web.get(url(suffix=".json"), params=params)).json()["rows"]
        assert unknown <= {r["Model"] for r in rows}, params
    hidden = await web.get(url(suffix=".json"), params={"min_params": 0, "unknown_size": "hide"})
    assert not unknown & {r["Model"] for r in hidden.json()["rows"]}


async def test_lenient_names_redirect_to_the_canonical_url(web: httpx.AsyncClient) -> None:
    canonical = "/benchmarks/MTEB%28eng%2C%20v2%29"
    for given, target in [
        ("/benchmarks/MTEB(eng,+v2)", canonical),
        ("/benchmarks/mteb(ENG, v2)/per-task.json", f"{canonical}/per-task.json"),
        ("/benchmarks/MTEB(eng, v2)/?sort=Model", "/benchmarks/MTEB(eng, v2)?sort=Model"),
    ]:
        response = await web.get(given)
        assert response.status_code == 308, given
        assert httpx.URL(response.headers["location"]) == httpx.URL(target), given
    followed = await web.get(
        "/benchmarks/mteb(eng,+v2)/", params={"q": "bge"}, follow_redirects=True
    )
    assert followed.status_code == 200 and followed.url.params["q"] == "bge"


async def test_an_unknown_name_lists_the_closest(web: httpx.AsyncClient) -> None:
    response = await web.get("/benchmarks/MTEB(english, v2).json")
    assert response.status_code == 404
    assert ENG_V2 in response.json()["closest"]
    page = await web.get("/benchmarks/MTEB(english, v2)")
    assert page.status_code == 404
    assert "/benchmarks/MTEB%28eng%2C%20v2%29" in page.text


async def test_the_sort_is_shown_on_its_header_and_kept_in_links(web: httpx.AsyncClient) -> None:
    body = (await web.get(url(suffix=".json"), params={"sort": "-Mean (Task)"})).json()
    means = [row["Mean (Task)"] for row in body["rows"] if row["Mean (Task)"] is not None]
    assert means == sorted(means, reverse=True)
    page = (await web.get(url(), params={"sort": "-Mean (Task)"})).text
    assert page.count('aria-sort="descending">') == 1
    assert (
        'aria-sort="descending"><a href="/benchmarks/MTEB%28eng%2C%20v2%29?sort=Mean+%28Task%29"'
        in page
    )
    assert "/per-task?sort=-Mean+%28Task%29" in page  # the tab links keep it
    assert "/charts/size/MTEB%28eng%2C%20v2%29?sort=-Mean+%28Task%29" in page


async def test_home_is_the_default_benchmark_with_selector_citation_and_share(
    web: httpx.AsyncClient,
) -> None:
    home = (await web.get("/", params={"q": "bge"})).text
    benchmark = mteb.get_benchmark(ENG_V2)
    assert f"<h1>{ENG_V2}</h1>" in home
    assert "General Purpose" in home and "Retrieval" in home  # mteb's selector groups
    assert '<a href="/benchmarks/MTEB%28eng%2C%20v2%29" aria-current="page"' in home
    assert "[MTEB(eng, v1)](" not in home  # the description's Markdown is rendered
    assert benchmark.citation is not None
    assert benchmark.citation.splitlines()[0] in home
    assert 'value="http://web/?q=bge"' in home  # the share link keeps the query
    assert "/tasks/BIOSSES" in home


async def test_languages_narrow_tasks_and_cells_as_mteb_does(
    web: httpx.AsyncClient, checkout: Path
) -> None:
    """mteb's language chain: the task list (`update_task_list`), then only the score rows of
    those languages (`update_tables`), summarised; the per-language table of the same rows."""
    name, chosen = "MTEB(Multilingual, v2)", {"fra", "deu"}
    benchmark = mteb.get_benchmark(name)
    frame = mteb_frame(load_mteb_results(benchmark, checkout), benchmark)
    tasks = [t.metadata.name for t in benchmark.tasks if set(t.languages) & chosen]
    in_language = pl.col("language").list.eval(
        pl.element().str.split("-").list.first().is_in(list(chosen))
    )
    narrowed = frame.filter(in_language.list.any() & pl.col("task_name").is_in(tasks))
    reference = mteb_summary(benchmark, narrowed)
    params = {"language": sorted(chosen)}
    body = (await web.get(url(suffix=".json", name=name), params=params)).json()
    assert body["rows"] and same_tables(ranked(body), mteb_ranked(reference))
    unnarrowed = mteb_summary(benchmark, frame.filter(pl.col("task_name").is_in(tasks)))
    assert not same_tables(ranked(body), mteb_ranked(unnarrowed))  # the cells were narrowed
    languages = _create_per_language_table_from_benchmark_results(
        narrowed, benchmark.language_view or "all"
    )
    body = (await web.get(url("/per-language", ".json", name), params=params)).json()
    assert [row["Model"] for row in body["rows"]] == languages["Model"].to_list()
    assert set(body["columns"][2:]) == set(languages.columns) - {"Model"}  # mteb's: unordered
    for row, theirs in zip(body["rows"], languages.iter_rows(named=True), strict=True):
        assert all(close(row[c], theirs[c]) for c in languages.columns if c != "Model")


async def test_a_computed_table_follows_new_results(
    web: httpx.AsyncClient, store: Store, checkout: Path
) -> None:
    """A kept computed table is not served once the stored results change."""
    params = {"type": "STS"}
    before = ranked((await web.get(url(suffix=".json"), params=params)).json())
    folder = next((checkout / "results" / MINILM.replace("/", "__")).iterdir())
    path = folder / "BIOSSES.json"
    result = json.loads(path.read_text())
    for scores in result["scores"]["test"]:
        scores["main_score"] -= 0.09
    path.write_text(json.dumps(result))
    await run_import(store, checkout, resamples=RESAMPLES)
    await asyncio.sleep(2 * VERSION_REFRESH_S)  # kept pages follow the store within this
    after = ranked((await web.get(url(suffix=".json"), params=params)).json())
    sts = len([t for t in mteb.get_benchmark(ENG_V2).tasks if t.metadata.type == "STS"])
    assert after[MINILM][1] == pytest.approx(before[MINILM][1] - 0.09 / sts, abs=1e-9)


async def test_the_zero_shot_filter_is_offered_where_mteb_offers_it(
    web: httpx.AsyncClient,
) -> None:
    assert "Zero-shot</legend>" in (await web.get(url())).text
    assert "Zero-shot</legend>" not in (await web.get(url(name="RTEB(beta)"))).text


async def test_history_takes_lenient_names_too(web: httpx.AsyncClient) -> None:
    response = await web.get("/history/mteb(eng,+v2)/", params={"m": "x"})
    assert response.status_code == 308
    assert response.headers["location"] == "/history/MTEB%28eng%2C%20v2%29?m=x"
    assert (await web.get("/history/MTEB(eng, v2).json")).status_code == 200
    unknown = await web.get("/history/MTEB(english).json")
    assert unknown.status_code == 404 and ENG_V2 in unknown.json()["closest"]
