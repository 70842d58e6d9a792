"""A registry model with results under two revisions: its task page shows the revision its
benchmark row does (both join revisions by mteb's rule)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import mteb
import pytest

from services.web.app import create_app
from shared.settings import Settings
from shared.store import Store
from tests.support.aggregation_fixtures import run_import
from tests.support.synthetic_results import MINILM, synthetic_checkout

ENG_V2 = "MTEB(eng, v2)"
MAIN = mteb.get_model_meta(MINILM).revision
OLD, NEW = "a" * 40, "b" * 40


def revised(checkout: Path, source: str, revision: str, mteb_version: str, shift: float) -> None:
    """A copy of MiniLM's `source` folder as `revision`: every file of `mteb_version`, BIOSSES's
    main score moved by `shift`."""
    models = checkout / "results" / MINILM.replace("/", "__")
    target = models / revision
    shutil.copytree(models / source, target)
    meta = json.loads((target / "model_meta.json").read_text())
    (target / "model_meta.json").write_text(json.dumps(meta | {"revision": revision}))
    for path in target.glob("*.json"):
        if path.name == "model_meta.json":
            continue
        result = json.loads(path.read_text())
        result["mteb_version"] = mteb_version
        if result["task_name"] == "BIOSSES":
            for scores in result["scores"]["test"]:
                scores["main_score"] += shift
        path.write_text(json.dumps(result))


def biosses(checkout: Path) -> float:
    """MiniLM's BIOSSES main score in its main revision's folder."""
    path = checkout / "results" / MINILM.replace("/", "__") / MAIN / "BIOSSES.json"
    score: float = json.loads(path.read_text())["scores"]["test"][0]["main_score"]
    return score


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """MiniLM's results in the results repository's layout."""
    return synthetic_checkout(tmp_path / "checkout", (MINILM,))


@asynccontextmanager
async def web_client(store: Store, mongodb_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(mongodb_url=mongodb_url, mongodb_database=store.db.name)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            yield client


async def shown_revisions(store: Store, mongodb_url: str, checkout: Path) -> tuple[str, str, float]:
    """After importing `checkout`: MiniLM's revision on /tasks/BIOSSES and on the benchmark
    page, and its BIOSSES score on the task page."""
    await run_import(store, checkout, resamples=0)
    async with web_client(store, mongodb_url) as web:
        task_rows = (await web.get("/tasks/BIOSSES.json")).json()["rows"]
        bench_rows = (await web.get(f"/benchmarks/{ENG_V2}.json")).json()["rows"]
    [task_row] = [row for row in task_rows if row["model"] == MINILM]
    [bench_row] = [row for row in bench_rows if row["Model"] == MINILM]
    return task_row["revision"], bench_row["Revision"], task_row["main_score"]


async def test_the_registrys_main_revision_wins_on_both_pages(
    store: Store, mongodb_url: str, checkout: Path
) -> None:
    main_score = biosses(checkout)
    revised(checkout, MAIN, NEW, "2.26.24", shift=0.1)  # better, newer: still not the main one

    task_revision, bench_revision, score = await shown_revisions(store, mongodb_url, checkout)

    assert task_revision == bench_revision == MAIN
    assert score == pytest.approx(main_score)


async def test_without_the_main_revision_the_newest_mteb_version_wins_on_both_pages(
    store: Store, mongodb_url: str, checkout: Path
) -> None:
    main_score = biosses(checkout)
    revised(checkout, MAIN, OLD, "1.0.0", shift=0.1)  # the better score, an older mteb
    revised(checkout, MAIN, NEW, "2.26.24", shift=-0.1)
    shutil.rmtree(checkout / "results" / MINILM.replace("/", "__") / MAIN)

    task_revision, bench_revision, score = await shown_revisions(store, mongodb_url, checkout)

    assert task_revision == bench_revision == NEW
    assert score == pytest.approx(main_score - 0.1)
