"""A model mteb's registry lacks, evaluated for real next to an imported official pool: it shows,
marked, on the web and in `leaderboard show`, and moves no official row."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.stack import Stack, start_stack
from shared.embedded import free_port
from shared.settings import Settings
from tests.conftest import MODEL_ID
from tests.support.helpers import wait_for_submission
from tests.support.results_repo import RESULTS_CHECKOUT

pytestmark = pytest.mark.skipif(
    not RESULTS_CHECKOUT.exists(), reason="the shared public results checkout is not here"
)

ENG_V2 = "MTEB(eng, v2)"
COPY = "myorg/minilm-copy"
"""The mirrored all-MiniLM-L6-v2 under a name mteb's registry lacks."""
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
IMPORTED = (MINILM, "BAAI/bge-base-en-v1.5", "Alibaba-NLP/gte-Qwen2-1.5B-instruct")
TASKS = ("BIOSSES", "STSBenchmark")
OFFICIAL = "Official Pool"
HERE = "Evaluated Here"
BADGE = "not in mteb's pool</span>"
# What a browser sends for the filter form with every field left as it is but the pool select.
FORM = {"q": "", "min_params": "", "max_params": "", "zero_shot": "", "sort": ""}


def public_copy(target: Path, models: tuple[str, ...]) -> Path:
    """A checkout holding `models`' folders of the public results (copied, never edited)."""
    for model in models:
        folder = model.replace("/", "__")
        shutil.copytree(RESULTS_CHECKOUT / "results" / folder, target / "results" / folder)
    return target


@pytest.fixture(scope="module")
def pool_stack(
    mongodb_url: str,
    models_dir: Path,
    datasets_dir: Path | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The whole stack on a database and nats-server of its own: the import reaches no other
    test's stack (and no other evaluator takes its jobs)."""
    home = tmp_path_factory.mktemp("pool-stack")
    settings = Settings(
        embedded_nats_port=free_port(),
        mongodb_url=mongodb_url,
        mongodb_database=f"pool_{uuid.uuid4().hex[:12]}",
        data_dir=home / "data",
        api_port=free_port(),
        web_port=free_port(),
        aggregator_metrics_port=free_port(),
        evaluator_metrics_port=free_port(),
        models_dir=models_dir,
        datasets_dir=datasets_dir,
        bootstrap_resamples=100,
        api_key_file=home / "config" / "api-key",
    )
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"} if datasets_dir else {}
    running = start_stack(
        settings,
        log_dir=home / "logs",
        extra_env={"HF_HOME": str(home / "hf")} | offline,
        operator_key=True,
    )
    yield running
    running.stop()
    for log in sorted((home / "logs").glob("*.log")):
        print(f"----- {log.name}\n{log.read_text()[-20000:]}")


def cli(stack: Stack, *args: str, timeout: float = 60.0) -> str:
    """`leaderboard <args>` against `stack`; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=stack.env | {"LEADERBOARD_API_URL": stack.api_url},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def show(stack: Stack, *args: str) -> dict[str, dict[str, Any]]:
    """`leaderboard show "MTEB(eng, v2)" --format json <args>`: its rows by model."""
    shown = json.loads(cli(stack, "show", ENG_V2, "--format", "json", *args))
    return {row["Model"]: row for row in shown["rows"]}


async def web_rows(web: httpx.AsyncClient, **params: str) -> dict[str, dict[str, Any]]:
    """The benchmark's `.json` view's rows by model."""
    response = await web.get(f"/benchmarks/{ENG_V2}.json", params=params)
    assert response.status_code == 200, response.text
    return {row["Model"]: row for row in response.json()["rows"]}


async def rows_once_listing(web: httpx.AsyncClient, model: str) -> dict[str, dict[str, Any]]:
    """The web's rows once `model` is among them (the table follows the submission's end)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = await web_rows(web)
        if model in rows:
            return rows
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{model} not on {ENG_V2}")


def html_rows(page: str) -> dict[str, str]:
    """The HTML table's rows (their markup) by the model named in their first name cell."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*>.*?</tr>", body, flags=re.DOTALL)
    names = (re.search(r"<td>([^<\s]+)", row) for row in rows)
    return {name.group(1): row for name, row in zip(names, rows, strict=True) if name}


@pytest.fixture(scope="module")
async def outcome(pool_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An imported checkout of three registry models, the tables before, then `COPY` submitted
    on `TASKS` and run to its end; the tables after."""
    checkout = public_copy(tmp_path_factory.mktemp("checkout"), IMPORTED)
    started = time.monotonic()
    cli(pool_stack, "import-results", str(checkout), timeout=300)
    imported_s = time.monotonic() - started
    async with httpx.AsyncClient(base_url=pool_stack.web_url, timeout=60) as web:
        before = await web_rows(web)
        before_shown = show(pool_stack)
        assert pool_stack.settings.models_dir is not None
        alias = pool_stack.settings.models_dir / COPY
        alias.parent.mkdir(parents=True, exist_ok=True)
        alias.symlink_to((pool_stack.settings.models_dir / MODEL_ID).resolve(), True)
        submission_id = cli(pool_stack, "submit", COPY, "--tasks", ",".join(TASKS)).strip()
        finished = await wait_for_submission(pool_stack.api_url, submission_id)
        assert finished["status"] == "completed", finished
        after = await rows_once_listing(web, COPY)
    print(f"import {imported_s:.1f} s, submission to table {time.monotonic() - started:.1f} s")
    return {"before": before, "before_shown": before_shown, "after": after, "finished": finished}


async def test_the_copy_is_marked_outside_the_pool_and_evaluated_here(
    outcome: dict[str, Any],
) -> None:
    before, after = outcome["before"], outcome["after"]
    assert set(before) == set(IMPORTED)
    assert all(row[OFFICIAL] and not row[HERE] for row in before.values())
    assert set(after) == {*IMPORTED, COPY}
    row = after[COPY]
    assert (row[OFFICIAL], row[HERE]) == (False, True)
    assert row["Revision"] == outcome["finished"]["revision"]
    assert row["Rank (Borda)"] is not None


async def test_no_official_row_moves(outcome: dict[str, Any]) -> None:
    after = outcome["after"]
    assert {model: after[model] for model in IMPORTED} == outcome["before"]


async def test_the_official_pool_view_hides_the_copy(
    outcome: dict[str, Any], pool_stack: Stack
) -> None:
    async with httpx.AsyncClient(base_url=pool_stack.web_url) as web:
        assert await web_rows(web, pool="official") == outcome["before"]
        assert set(await web_rows(web, pool="all")) == {*IMPORTED, COPY}


async def test_show_marks_the_copy_and_hides_it_from_the_official_pool(
    outcome: dict[str, Any], pool_stack: Stack
) -> None:
    before = outcome["before_shown"]
    assert set(before) == set(IMPORTED)

    shown = show(pool_stack)
    official = show(pool_stack, "--pool", "official")

    assert (shown[COPY][OFFICIAL], shown[COPY][HERE]) == (False, True)
    assert {model: shown[model] for model in IMPORTED} == before
    assert official == before


async def test_the_html_page_badges_the_copy_only(
    outcome: dict[str, Any], pool_stack: Stack
) -> None:
    async with httpx.AsyncClient(base_url=pool_stack.web_url) as web:
        page = await web.get(f"/benchmarks/{ENG_V2}")
        official = await web.get(f"/benchmarks/{ENG_V2}", params=FORM | {"pool": "official"})

    assert page.status_code == 200
    rows = html_rows(page.text)
    assert set(rows) == {*IMPORTED, COPY}
    assert BADGE in rows[COPY] and "evaluated here</span>" in rows[COPY]
    assert 'class="outside"' in rows[COPY]
    for model in IMPORTED:
        assert BADGE not in rows[model] and "evaluated here</span>" not in rows[model]
    assert 'class="legend"' in page.text
    assert official.status_code == 200, official.text
    assert set(html_rows(official.text)) == set(IMPORTED)
    assert '<option value="official" selected>' in official.text


async def test_the_task_page_lists_the_copy(outcome: dict[str, Any], pool_stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=pool_stack.web_url) as web:
        rows = (await web.get("/tasks/BIOSSES.json")).json()["rows"]
        page = await web.get("/tasks/BIOSSES")

    [row] = [row for row in rows if row["model"] == COPY]
    assert row["source"] == "evaluator"
    assert row["submission_id"] == outcome["finished"]["id"]
    [minilm] = [row for row in rows if row["model"] == MINILM]
    assert row["main_score"] == pytest.approx(minilm["main_score"], abs=1e-6)  # the same model
    assert COPY in page.text
