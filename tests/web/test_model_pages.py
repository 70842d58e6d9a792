"""Model pages: the registry's metadata, the stored tables' ranks, per-task scores with their
percentile, and for a model evaluated here its efficiency and reproducibility envelope."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from mteb.models.model_implementations import MODEL_REGISTRY
from scipy.stats import percentileofscore

from services.web.caching import VERSION_REFRESH_S
from services.web.models import meta_fields
from services.web.templating import TEMPLATES
from shared.bus import Bus
from shared.events import Efficiency, Hardware
from shared.store import Store
from shared.summary.models import registered
from tests.support.aggregation_fixtures import LIVE_TASKS, evaluate_here, run_import
from tests.support.synthetic_results import BGE, MINILM, OUTSIDE, summary_checkout
from tests.support.web_client import imported, web_client
from tests.web.test_chart_pages import inline_charts, point_titles

ENG_V2 = "MTEB(eng, v2)"
HARDWARE = Hardware(cpu_model="Test CPU 9000", cpu_count=2, torch_threads=2)
EFFICIENCY = Efficiency(
    texts_encoded=300,
    tokens_encoded=6000,
    encode_time_s=2.0,
    texts_per_s=150.0,
    tokens_per_s=3000.0,
    peak_rss_bytes=512 * 1024 * 1024,
    parameters=22_713_216,
    embedding_dim=384,
    max_tokens=256,
)


@pytest.fixture
async def checkout(store: Store, tmp_path: Path) -> Path:
    return await imported(store, tmp_path / "checkout")


@pytest.fixture
async def web(store: Store, mongodb_url: str, checkout: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(store, mongodb_url) as client:
        yield client


def test_every_registry_model_has_json_metadata() -> None:
    for name, meta in MODEL_REGISTRY.items():
        fields = meta_fields(meta)
        json.dumps(fields, allow_nan=False)  # functions, dtypes, inf: as text
        assert fields["name"] == name
    unbounded = next(m for m in MODEL_REGISTRY.values() if m.max_tokens == float("inf"))
    assert meta_fields(unbounded)["max_tokens"] == "Infinity"


async def test_a_registry_model_page(web: httpx.AsyncClient) -> None:
    page = await web.get(f"/models/{BGE}.json")
    assert page.status_code == 200
    body = page.json()
    meta = registered(BGE)
    assert meta is not None
    assert body["meta"]["n_parameters"] == meta.n_parameters
    assert body["meta"]["license"] == meta.license
    assert body["meta"]["release_date"] == meta.release_date
    assert "loader" not in body["meta"]
    table = (await web.get(f"/benchmarks/{ENG_V2}.json")).json()
    [row] = [row for row in table["rows"] if row["Model"] == BGE]
    [ranked] = [b for b in body["benchmarks"] if b["benchmark"] == ENG_V2]
    assert ranked["rank"] == row["Rank (Borda)"]
    assert ranked["rank_ci"] == [row["Rank (Borda) CI Low"], row["Rank (Borda) CI High"]]
    assert ranked["zero_shot"] == row["Zero-shot"]
    assert ranked["mean_task"] == row["Mean (Task)"]
    assert {r["revision"] for r in body["revisions"]} >= {ranked["revision"]}
    assert any(point["benchmark"] == ENG_V2 for point in body["rank_history"])


async def test_per_task_scores_and_percentiles(web: httpx.AsyncClient) -> None:
    body = (await web.get(f"/models/{MINILM}.json")).json()
    assert len(body["tasks"]) > 10
    for row in body["tasks"][:5]:
        task = (await web.get(f"/tasks/{row['task']}.json")).json()
        scores = [r["main_score"] for r in task["rows"]]
        [mine] = [r for r in task["rows"] if r["model"] == MINILM]
        assert row["main_score"] == mine["main_score"]
        assert row["rank"] == mine["rank"]
        assert row["percentile"] == percentileofscore(scores, mine["main_score"], kind="weak")
    charts = inline_charts((await web.get(f"/models/{MINILM}")).text)
    bars = {
        re.fullmatch(r"(.+): main score (\d+\.\d\d)", t).groups()  # type: ignore[union-attr]
        for t in point_titles(charts["score per task"])
    }
    assert bars == {(r["task"], f"{r['main_score'] * 100:.2f}") for r in body["tasks"]}
    drawn = set(point_titles(charts["rank over time"]))
    ranks = {
        f"{r['benchmark']}: Rank (Borda) {r['rank']} on {r['day']}" for r in body["rank_history"]
    }
    assert drawn <= ranks
    lines = {title.split(": Rank")[0] for title in drawn}
    assert len(lines) == min(8, len(body["benchmarks"]))  # the palette's eight, at most
    csv = (await web.get(f"/models/{MINILM}.csv")).text
    assert csv.splitlines()[0].startswith("task,type,main_score")


async def test_an_unknown_model_is_not_found(web: httpx.AsyncClient) -> None:
    page = await web.get("/models/nobody/no-such-model")
    assert page.status_code == 404
    assert "no model named" in page.text and "<html" in page.text
    data = await web.get("/models/nobody/no-such-model.json")
    assert data.status_code == 404
    assert "no model named" in data.json()["error"]
    near = await web.get("/models/BAAI/bge-base-en-v1.6.json")
    assert near.status_code == 404 and BGE in near.json()["closest"]
    moved = await web.get(f"/models/{BGE.upper()}.json")
    assert moved.status_code == 308 and moved.headers["location"] == f"/models/{BGE}.json"


async def test_a_model_evaluated_here(
    web: httpx.AsyncClient, store: Store, bus: Bus, checkout: Path
) -> None:
    before = (await web.get(f"/models/{MINILM}.json")).json()  # kept until a table changes
    assert before["efficiency"] == [] and before["envelopes"] == []
    assert (await web.get(f"/charts/efficiency/{ENG_V2}.json")).json()["rows"] == []
    submission = await evaluate_here(
        store, bus, checkout, 0.75, hardware=HARDWARE, efficiency=EFFICIENCY
    )
    await asyncio.sleep(2 * VERSION_REFRESH_S)  # kept pages follow the store within this
    body = (await web.get(f"/models/{MINILM}.json")).json()
    [efficiency] = body["efficiency"]
    assert efficiency["Hardware"] == "Test CPU 9000 (2 CPUs, 2 threads)"
    assert efficiency["Tasks"] == len(LIVE_TASKS)
    assert efficiency["Texts/s"] == pytest.approx(150.0)
    assert efficiency["Tokens/s"] == pytest.approx(3000.0)
    assert efficiency["Peak Memory (MB)"] == pytest.approx(512.0)
    assert {e["task"] for e in body["envelopes"]} == set(LIVE_TASKS)
    assert {e["submission_id"] for e in body["envelopes"]} == {submission}
    assert {e["versions"]["mteb"] for e in body["envelopes"]} == {"2.26.24"}
    live = {r["task"]: r for r in body["tasks"] if r["task"] in LIVE_TASKS}
    assert {r["main_score"] for r in live.values()} == {0.75}
    assert {r["source"] for r in live.values()} == {"evaluator"}
    html = (await web.get(f"/models/{MINILM}")).text
    assert "Test CPU 9000" in html and submission[:12] in html
    chart = (await web.get(f"/charts/efficiency/{ENG_V2}.json")).json()
    [row] = chart["rows"]
    assert row["Model"] == MINILM and row["Texts/s"] == pytest.approx(150.0)
    table = (await web.get(f"/benchmarks/{ENG_V2}.json")).json()
    [mine] = [r for r in table["rows"] if r["Model"] == MINILM]
    assert row["Mean (Task)"] == mine["Mean (Task)"]
    partial = TEMPLATES.get_template("_efficiency.html").render(efficiency=chart)
    assert "150.0" in partial and "3,000" in partial and "512" in partial
    assert f'href="/models/{MINILM}"' in partial
    svg = (await web.get(f"/charts/efficiency/{ENG_V2}.svg")).text
    assert point_titles(svg) == [
        f"{MINILM}: Mean (Task) {mine['Mean (Task)'] * 100:.2f}, 150.0 texts/s on "
        "Test CPU 9000 (2 CPUs, 2 threads)"
    ]


async def test_a_model_outside_the_registry(store: Store, mongodb_url: str, tmp_path: Path) -> None:
    await run_import(store, summary_checkout(tmp_path / "summary"), resamples=0)
    async with web_client(store, mongodb_url) as web:
        body = (await web.get(f"/models/{OUTSIDE}.json")).json()
        assert body["in_registry"] is False
        stored = (await store.get_models([OUTSIDE]))[OUTSIDE]
        meta = json.loads(stored.revisions[-1].meta_json or "{}")
        assert body["meta"]["name"] == OUTSIDE
        assert body["meta"]["n_parameters"] == meta["n_parameters"]
        assert body["meta"]["revision"] is None  # no revision is the main one outside it
        assert body["benchmarks"] == []  # imported, in no table
        assert {r["revision"] for r in body["revisions"]} == {r.revision for r in stored.revisions}
        task = body["tasks"][0]
        board = (await web.get(f"/tasks/{task['task']}.json")).json()
        assert OUTSIDE in {row["model"] for row in board["rows"]}
        page = await web.get(f"/models/{OUTSIDE}")
        assert page.status_code == 200 and "Not in mteb's model registry" in page.text
