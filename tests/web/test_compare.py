"""Compare: scores side by side from the task leaderboards, one revision against another, the
paired test over the shared tasks, and typed refusals."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from scipy.stats import wilcoxon

from shared.store import Store
from shared.summary.models import registered
from shared.summary.paired import paired_test
from tests.support.synthetic_results import BGE, F2LLM, MINILM, OLDER_SHA
from tests.support.web_client import imported, web_client


@pytest.fixture
async def web(store: Store, mongodb_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    await imported(store, tmp_path / "checkout")
    async with web_client(store, mongodb_url) as client:
        yield client


async def test_two_models_side_by_side(web: httpx.AsyncClient) -> None:
    response = await web.get("/compare.json", params={"model": [MINILM, "", BGE]})
    assert response.status_code == 200
    body = response.json()
    assert body["models"] == [MINILM, BGE]
    for row in body["tasks"][:6]:
        task = (await web.get(f"/tasks/{row['task']}.json")).json()
        by_model = {r["model"]: r["main_score"] for r in task["rows"]}
        assert row["scores"] == [by_model.get(MINILM), by_model.get(BGE)]
    shared = [row for row in body["tasks"] if None not in row["scores"]]
    assert body["shared_tasks"] == len(shared)
    a = [row["scores"][0] for row in shared]
    b = [row["scores"][1] for row in shared]
    assert [row["differences"][0] for row in shared] == [y - x for x, y in zip(a, b, strict=True)]
    [test] = body["paired_tests"]
    expected = paired_test(a, b)
    assert test["n"] == len(shared)
    assert test["mean_difference"] == pytest.approx(expected.mean_difference)
    assert test["interval"] == pytest.approx(list(expected.interval or ()))
    assert test["p_value"] == pytest.approx(wilcoxon(b, a).pvalue)
    types = {row["type"] for row in shared}
    assert {row["type"] for row in body["task_types"]} == types
    table = list(
        csv.DictReader(
            io.StringIO((await web.get("/compare.csv", params={"model": [MINILM, BGE]})).text)
        )
    )
    assert [row["task"] for row in table] == [row["task"] for row in body["tasks"]]


async def test_two_revisions_of_one_model(web: httpx.AsyncClient) -> None:
    meta = registered(F2LLM)
    assert meta is not None and meta.revision
    new, old = f"{F2LLM}@{meta.revision}", f"{F2LLM}@{OLDER_SHA}"
    body = (await web.get("/compare.json", params={"model": [old, new]})).json()
    assert body["models"] == [f"{F2LLM}@{OLDER_SHA[:12]}", f"{F2LLM}@{meta.revision[:12]}"]
    [test] = body["paired_tests"]
    assert test["n"] == 10  # the older revision's tasks
    html = await web.get("/compare", params={"model": [old, new]})
    assert html.status_code == 200
    assert "Is it better than" in html.text


async def test_more_than_eight_models_are_refused(web: httpx.AsyncClient) -> None:
    many = [f"org/model-{n}" for n in range(9)]
    response = await web.get("/compare.json", params={"model": many})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_models"
    page = await web.get("/compare", params={"model": many})
    assert page.status_code == 422
    assert "too_many_models" in page.text and "at most 8" in page.text


async def test_unknown_models_and_revisions_are_refused(web: httpx.AsyncClient) -> None:
    unknown = await web.get("/compare.json", params={"model": [MINILM, "nobody/nothing"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_model"
    revision = await web.get("/compare.json", params={"model": [MINILM, f"{BGE}@nope"]})
    assert revision.json()["error"]["code"] == "unknown_revision"


async def test_the_empty_form(web: httpx.AsyncClient) -> None:
    page = await web.get("/compare")
    assert page.status_code == 200
    assert page.text.count('name="model"') == 2
