"""Submitting a model in a real browser on the real stack, and following it to its result."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from services.stack import Stack
from tests.conftest import MODEL_ID

REVISION = "web-submit-test"
"""A revision of its own (the mirror pins any name as given), so no other test holds it."""
FOLLOW_TIMEOUT_MS = 600_000


async def fill(page: Page, model: str, tasks: str, key: str | None, revision: str = "") -> None:
    await page.get_by_label("Model", exact=True).fill(model)
    await page.get_by_label("Revision", exact=True).fill(revision)
    await page.get_by_label("Tasks", exact=True).fill(tasks)
    if key is not None:
        await page.get_by_label("API key").fill(key)


async def post(page: Page) -> int:
    """Press Submit; the status the form post was answered with (before any redirect)."""
    async with page.expect_response(
        lambda r: r.url.endswith("/submit") and r.request.method == "POST"
    ) as answer:
        await page.get_by_role("button", name="Submit").click()
    await page.wait_for_load_state()
    return (await answer.value).status


async def test_a_submission_is_followed_from_the_form_to_its_task_row(
    page: Page, stack: Stack
) -> None:
    assert stack.api_key
    await page.goto(f"{stack.web_url}/submit")
    await fill(page, MODEL_ID, "BIOSSES", stack.api_key, REVISION)
    assert await post(page) == 303
    assert re.search(r"/submissions/[0-9a-f]+$", page.url), page.url
    submission_url = page.url
    await expect(page.locator("#status")).to_have_text(
        re.compile("completed"), timeout=FOLLOW_TIMEOUT_MS
    )  # the page refreshed itself: the test never reloads it
    assert page.url == submission_url
    assert await page.locator('meta[http-equiv="refresh"]').count() == 0  # done: it stops
    row = page.locator("tbody tr", has_text="BIOSSES")
    await expect(row).to_contain_text("done")
    await expect(row).to_contain_text(re.compile(r"\d+\.\d\d"))
    submission_id = submission_url.rsplit("/", 1)[1]
    # the model's row (the session's stack may hold another revision of it, which the task's
    # table shows instead, as mteb keeps one revision per model)
    task_row = page.locator("tbody tr", has_text=MODEL_ID)
    for _ in range(60):  # the task's leaderboard is written just after the submission ends
        await page.goto(f"{stack.web_url}/tasks/BIOSSES")
        if await task_row.count():
            break
        await page.wait_for_timeout(500)
    await expect(task_row).to_contain_text(MODEL_ID)
    await expect(task_row).to_contain_text("81.64")  # mteb's score of MiniLM on BIOSSES
    await page.goto(f"{stack.web_url}/queue")
    finished = page.locator("#finished tbody tr", has_text=submission_id[:8])
    await expect(finished).to_contain_text("completed")


async def test_a_bad_model_id_is_shown_next_to_the_model_field(page: Page, stack: Stack) -> None:
    assert stack.api_key
    await page.goto(f"{stack.web_url}/submit")
    await fill(page, "not a model id", "BIOSSES", stack.api_key)
    assert await post(page) == 422
    model = page.get_by_label("Model", exact=True)
    await expect(model).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#model-error")).to_contain_text("invalid_model_id")
    await expect(model).to_have_value("not a model id")
    await expect(page.get_by_label("Tasks", exact=True)).to_have_value("BIOSSES")
    await expect(page.get_by_label("API key")).to_have_value("")  # never written back
    assert stack.api_key not in await page.content()


async def test_a_missing_key_is_shown_next_to_the_key_field(page: Page, stack: Stack) -> None:
    await page.goto(f"{stack.web_url}/submit")
    await fill(page, MODEL_ID, "BIOSSES", None, REVISION)
    assert await post(page) == 401
    await expect(page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#api_key-error")).to_contain_text("unauthorized")
    assert await page.locator("#model-error").count() == 0


async def test_an_unknown_task_is_shown_next_to_the_tasks_field(page: Page, stack: Stack) -> None:
    assert stack.api_key
    await page.goto(f"{stack.web_url}/submit")
    await fill(page, MODEL_ID, "BIOSSES, NoSuchTask", stack.api_key, REVISION)
    assert await post(page) == 422
    await expect(page.locator("#tasks-error")).to_contain_text("unknown_task")
    await expect(page.locator("#tasks-error")).to_contain_text("NoSuchTask")
