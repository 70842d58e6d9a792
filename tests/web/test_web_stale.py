"""Stale results are marked on the task page, in its JSON and in benchmark JSON rows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import mteb

from services.aggregator.leaderboards.tasks import refresh_task_leaderboard
from services.web.app import create_app
from shared.documents import ResultDoc, result_id
from shared.settings import Settings
from shared.store import Store
from tests.support.aggregation_fixtures import run_import
from tests.support.synthetic_results import MINILM, synthetic_checkout


def stored(model: str, mteb_version: str, score: float) -> ResultDoc:
    return ResultDoc(
        _id=result_id(model, "r1", "BIOSSES", mteb_version),
        model=model,
        revision="r1",
        task="BIOSSES",
        main_score=score,
        evaluated_at=datetime(2026, 1, 1, tzinfo=UTC),
        mteb_version=mteb_version,
        source="import",
    )


async def test_the_task_page_marks_stale_rows(store: Store, mongodb_url: str) -> None:
    await store.upsert_result(stored("org/current", mteb.__version__, 0.7))
    await store.upsert_result(stored("org/old", "1.12.0", 0.9))
    await refresh_task_leaderboard(store, None, "BIOSSES")
    app = create_app(Settings(mongodb_url=mongodb_url, mongodb_database=store.db.name))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as web:
            rows = (await web.get("/tasks/BIOSSES.json")).json()["rows"]
            page = (await web.get("/tasks/BIOSSES")).text
    reasons = {row["model"]: row["stale_reason"] for row in rows}
    assert reasons == {
        "org/old": f"computed by mteb 1.12.0; mteb {mteb.__version__} is installed",
        "org/current": None,
    }
    marked = [row for row in re.findall(r"<tr>.*?</tr>", page, re.S) if "badge stale" in row]
    assert len(marked) == 1
    assert "org/old" in marked[0]
    assert f'<span class="badge stale" title="{reasons["org/old"]}">stale</span>' in marked[0]


async def test_benchmark_rows_list_their_stale_tasks(
    store: Store, mongodb_url: str, tmp_path: Path
) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM,))
    for path in (checkout / "results" / MINILM.replace("/", "__")).rglob("*.json"):
        result = json.loads(path.read_text())
        if "mteb_version" in result:  # not model_meta.json
            current = result.get("task_name") == "BIOSSES"
            result["mteb_version"] = mteb.__version__ if current else "1.12.0"
            path.write_text(json.dumps(result))
    await run_import(store, checkout, resamples=0)
    app = create_app(Settings(mongodb_url=mongodb_url, mongodb_database=store.db.name))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as web:
            table = (await web.get("/benchmarks/MTEB(eng, v2).json")).json()
            page = (await web.get("/benchmarks/MTEB(eng, v2)")).text
    [row] = [row for row in table["rows"] if row["Model"] == MINILM]
    assert "STSBenchmark" in row["Stale Tasks"]
    assert "BIOSSES" not in row["Stale Tasks"]
    assert set(row["Stale Tasks"]) <= set(table["tasks"])
    badge = re.search(r'<span class="badge stale" title="[^"]*: ([^"]*)">stale</span>', page)
    assert badge is not None
    assert badge.group(1) == ", ".join(row["Stale Tasks"])
