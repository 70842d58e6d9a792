"""The custom task forms in a real browser on the real stack (the submission API's task,
benchmark and best-models endpoints behind them): create a task from a file, a broken file's
refusal by its field, queue a model with the button, publish, save a benchmark (publish and
delete it), delete the task."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from services.stack import Stack
from tests.conftest import MODEL_ID, SHARED_DATASETS

TASK = "web-e2e-sts"
PAIRS = 20
"""BIOSSES pairs the task holds (a small STS task of real data)."""


def pairs_file(folder: Path) -> Path:
    lines = (SHARED_DATASETS / "BIOSSES" / "test.jsonl").read_text().splitlines()[:PAIRS]
    path = folder / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_a_task_made_queued_published_saved_and_deleted_from_the_website(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    assert stack.api_key
    web = stack.web_url
    await page.goto(f"{web}/signin")
    await page.get_by_label("API key").fill(stack.api_key)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in").click()

    await page.goto(f"{web}/tasks/new")
    await page.get_by_label("Name", exact=True).fill(TASK)
    await page.get_by_label("Type").select_option("STS")
    await page.get_by_label("Pairs").set_input_files(pairs_file(tmp_path))
    await page.get_by_label("Lowest").fill("0")
    await page.get_by_label("Highest").fill("4")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create the task").click()
    assert page.url == f"{web}/tasks/{TASK}"
    await expect(page.locator("main")).to_contain_text("Custom STS task")
    await expect(page.locator("#files")).to_contain_text(re.compile(r"[0-9a-f]{64}"))

    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\nq1\td1\n")  # no score column
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "d1", "text": "a document"}\n')
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": "q1", "text": "a query"}\n')
    await page.goto(f"{web}/tasks/new")
    await page.get_by_label("Name", exact=True).fill("web-e2e-broken")
    await page.get_by_label("Type").select_option("Retrieval")
    await page.get_by_label("Corpus").set_input_files(corpus)
    await page.get_by_label("Queries").set_input_files(queries)
    await page.get_by_label("Qrels").set_input_files(qrels)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create the task").click()
    await expect(page.get_by_label("Qrels")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#qrels-error")).to_contain_text("file qrels.tsv, line 1")
    await page.goto(f"{web}/tasks/web-e2e-broken")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")  # nothing kept

    await page.goto(f"{web}/tasks/{TASK}")
    async with page.expect_navigation():
        await page.get_by_role("link", name="How do the best models do on my data?").click()
    await page.get_by_label("Or these models").fill(MODEL_ID)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Queue them").click()
    queued = page.locator("#queued a")
    await expect(queued).to_have_count(1)
    assert re.search(r"/submissions/[0-9a-f]+$", await queued.get_attribute("href") or "")

    await page.goto(f"{web}/tasks/{TASK}")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Publish (make public)").click()
    await expect(page.locator("main")).to_contain_text("; public, owned by")

    await page.goto(f"{web}/benchmarks/new?tasks={TASK}&tasks=BIOSSES")
    await page.get_by_label("Name", exact=True).fill("web-e2e-bench")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create the benchmark").click()
    assert page.url == f"{web}/benchmarks/web-e2e-bench"
    async with page.expect_navigation():
        await page.get_by_role("button", name="Publish the benchmark").click()
    await expect(page.locator(".benchmark-actions")).to_contain_text("public")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Delete the benchmark (its tasks stay)").click()
    assert page.url == f"{web}/benchmarks"
    await expect(page.locator("main")).not_to_contain_text("web-e2e-bench")

    await page.goto(f"{web}/tasks/{TASK}/delete")
    await expect(page.locator("#what-goes")).to_contain_text("result")
    await page.get_by_label("Type the task's name to confirm").fill(TASK)
    async with page.expect_navigation():
        await page.get_by_role("button", name=f"Delete {TASK} and its results").click()
    await expect(page.locator("#deleted")).to_contain_text(f"The task {TASK} is deleted")
    await page.goto(f"{web}/tasks/{TASK}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
