"""Chart pages: each point's title holds the value the benchmark table's `.json` has, in every
rendering, for filtered views too."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.store import Store
from shared.summary.models import model_meta
from tests.support.synthetic_results import MINILM
from tests.support.web_client import imported, web_client

ENG_V2 = "MTEB(eng, v2)"
SVG = "{http://www.w3.org/2000/svg}"
SIZE_TITLE = re.compile(r"^(.+): Mean \(Task\) (\d+\.\d\d), ([\d.e+-]+) B parameters$")
TIME_TITLE = re.compile(r"^(.+): Mean \(Task\) (\d+\.\d\d), released (\d{4}-\d\d-\d\d)$")
RADAR_TITLE = re.compile(r"^(.+): (\w+) (\d+\.\d\d)$")


@pytest.fixture
async def web(store: Store, mongodb_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    await imported(store, tmp_path / "checkout")
    async with web_client(store, mongodb_url) as client:
        yield client


def point_titles(svg: str, series: int | None = None) -> list[str]:
    """The `<title>` of every point (of the `series`-th series only, when given)."""
    root = ET.fromstring(svg)
    titles = []
    for group in root.iter(f"{SVG}g"):
        classes = (group.get("class") or "").split()
        if "series" not in classes or (series is not None and f"serie-{series}" not in classes):
            continue
        for point in group.iter(f"{SVG}g"):
            if point.get("class") in ("dots", "bar"):
                title = point.find(f"{SVG}title")
                assert title is not None and title.text
                titles.append(title.text)
    return titles


def inline_charts(html: str) -> dict[str, str]:
    """The SVG charts inline in a page, by the end of their title (`… rank over time`)."""
    found = {}
    for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL):
        label = re.search(r'aria-label="([^"]*)"', svg)
        assert label is not None
        found[label.group(1).split(":")[1].strip()] = svg
    return found


async def table(
    web: httpx.AsyncClient, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    response = await web.get(f"/benchmarks/{ENG_V2}.json", params=params)
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


@pytest.mark.parametrize("params", [None, {"q": "bge"}, {"max_params": "2"}])
async def test_the_size_chart_draws_the_table(
    web: httpx.AsyncClient, params: dict[str, Any] | None
) -> None:
    rows = await table(web, params)
    svg = await web.get(f"/charts/size/{ENG_V2}.svg", params=params)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    drawn = {}
    for title in point_titles(svg.text, series=0):
        model, score, size = SIZE_TITLE.fullmatch(title).groups()  # type: ignore[union-attr]
        drawn[model] = (score, float(size))
    expected = {
        row["Model"]: (f"{row['Mean (Task)'] * 100:.2f}", row["Total Parameters (B)"])
        for row in rows
        if row["Mean (Task)"] is not None and row["Total Parameters (B)"]
    }
    assert drawn == expected
    assert drawn  # the filters left something to draw
    data = (await web.get(f"/charts/size/{ENG_V2}.json", params=params)).json()
    assert {row["Model"] for row in data["rows"]} == set(expected)
    front = [row for row in data["rows"] if row["On Pareto front"]]
    best = max(data["rows"], key=lambda row: row["Mean (Task)"])
    smallest = min(data["rows"], key=lambda row: row["Total Parameters (B)"])
    assert best in front and smallest in front
    for row in data["rows"]:  # on the front: no model as small or smaller scores higher
        beaten = any(
            other["Total Parameters (B)"] <= row["Total Parameters (B)"]
            and other["Mean (Task)"] > row["Mean (Task)"]
            for other in data["rows"]
        )
        assert row["On Pareto front"] is not beaten


async def test_the_time_chart_draws_release_dates(web: httpx.AsyncClient) -> None:
    rows = await table(web)
    svg = (await web.get(f"/charts/time/{ENG_V2}.svg")).text
    drawn = {}
    for title in point_titles(svg):
        model, score, day = TIME_TITLE.fullmatch(title).groups()  # type: ignore[union-attr]
        drawn[model] = (score, day)
    expected = {
        row["Model"]: (f"{row['Mean (Task)'] * 100:.2f}", model_meta(row["Model"]).release_date)
        for row in rows
        if row["Mean (Task)"] is not None and model_meta(row["Model"]).release_date
    }
    assert drawn == expected
    assert MINILM in drawn


async def test_the_task_type_radar_draws_the_top_models(web: httpx.AsyncClient) -> None:
    body = (await web.get(f"/benchmarks/{ENG_V2}.json")).json()
    types = [c for c in body["columns"] if c not in {"Model"} and c in body["rows"][0]]
    svg = (await web.get(f"/charts/task-types/{ENG_V2}.svg")).text
    data = (await web.get(f"/charts/task-types/{ENG_V2}.json")).json()
    axes = data["columns"][1:]
    assert set(axes) <= set(types)
    ranked = sorted(
        (r for r in body["rows"] if all(r[a] is not None for a in axes)),
        key=lambda r: r["Rank (Borda)"],
    )[:5]
    expected = {(r["Model"], a, f"{r[a] * 100:.2f}") for r in ranked for a in axes}
    drawn = {RADAR_TITLE.fullmatch(t).groups() for t in point_titles(svg)}  # type: ignore[union-attr]
    assert drawn == expected


async def test_the_rank_chart_draws_the_history(web: httpx.AsyncClient) -> None:
    history = (await web.get(f"/history/{ENG_V2}.json")).json()
    svg = (await web.get(f"/charts/rank/{ENG_V2}.svg")).text
    expected = {
        f"{row['Model']}: Rank (Borda) {row['Rank (Borda)']} on {row['day']}"
        for row in history["rows"]
        if row["Rank (Borda)"] is not None
    }
    assert set(point_titles(svg)) == expected


async def test_every_rendering_of_a_chart_page(web: httpx.AsyncClient) -> None:
    html = await web.get(f"/charts/size/{ENG_V2}", params={"q": "bge"})
    assert html.status_code == 200
    assert "<svg" in html.text and 'role="img"' in html.text
    assert "<script" not in html.text  # pygal's tooltip script (a CDN) is left out
    data = (await web.get(f"/charts/size/{ENG_V2}.json", params={"q": "bge"})).json()
    for row in data["rows"]:
        assert f"{row['Mean (Task)'] * 100:.2f}" in html.text  # the data table beside it
    table_csv = (await web.get(f"/charts/size/{ENG_V2}.csv", params={"q": "bge"})).text
    assert [r["Model"] for r in csv.DictReader(io.StringIO(table_csv))] == [
        r["Model"] for r in data["rows"]
    ]


async def test_a_custom_subset_is_charted(web: httpx.AsyncClient) -> None:
    params = {"task": ["BIOSSES", "STSBenchmark", "Banking77Classification"]}
    rows = await table(web, params)
    titles = point_titles((await web.get(f"/charts/size/{ENG_V2}.svg", params=params)).text, 0)
    assert {SIZE_TITLE.fullmatch(t).group(1) for t in titles} == {  # type: ignore[union-attr]
        r["Model"] for r in rows if r["Mean (Task)"] is not None and r["Total Parameters (B)"]
    }


async def test_unknown_benchmarks_kinds_and_tasks(web: httpx.AsyncClient) -> None:
    assert (await web.get("/charts/size/NoSuchBenchmark")).status_code == 404
    pie = await web.get(f"/charts/pie/{ENG_V2}")
    assert pie.status_code == 404 and "the charts are size, time" in pie.text
    bad = await web.get(f"/charts/size/{ENG_V2}.json", params={"task": "NoSuchTask"})
    assert bad.status_code == 422
    assert [f["code"] for f in bad.json()["fields"]] == ["not_in_benchmark"]
    page = await web.get(f"/charts/size/{ENG_V2}", params={"min_params": "abc", "q": "bge"})
    assert page.status_code == 422  # drawn without the bad field, which is named
    assert "not_a_number" in page.text and "<svg" in page.text
    lenient = await web.get("/charts/size/mteb(eng,+v2).svg", params={"q": "bge"})
    assert lenient.status_code == 308
    assert lenient.headers["location"] == "/charts/size/MTEB%28eng%2C%20v2%29.svg?q=bge"


async def test_charts_are_kept_per_version(web: httpx.AsyncClient) -> None:
    first = (await web.get(f"/charts/size/{ENG_V2}.svg")).text
    assert (await web.get(f"/charts/size/{ENG_V2}.svg")).text == first  # the kept drawing
