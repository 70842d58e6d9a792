"""The submit form, queue and submission pages in a real browser: accessible, usable by keyboard
and on a phone, and honest when the API cannot be reached."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, expect

from shared.documents import SubmissionDoc, SubmissionStatus, TaskProgress
from shared.events import FailureKind, TaskState, utcnow
from shared.store import Store

SERIOUS = {"serious", "critical"}


@pytest.fixture
async def queued(store: Store) -> None:
    """A running submission and a failed one."""
    now = utcnow()
    await store.insert_submission(
        SubmissionDoc(
            id="running0",
            model="org/running",
            revision="r",
            status=SubmissionStatus.RUNNING,
            tasks=[
                TaskProgress(
                    task="BIOSSES",
                    state=TaskState.RUNNING,
                    evaluator_id="ev-0",
                    started_at=now - timedelta(seconds=30),
                ),
                TaskProgress(task="STS12"),
            ],
        )
    )
    await store.insert_submission(
        SubmissionDoc(
            id="failed00",
            model="org/failed",
            revision="r",
            status=SubmissionStatus.FAILED,
            tasks=[
                TaskProgress(
                    task="SciFact",
                    state=TaskState.FAILED,
                    failure=FailureKind.DATA_UNAVAILABLE,
                    reason="no local copy of SciFact",
                )
            ],
        )
    )


async def serious_violations(page: Page) -> list[str]:
    """axe's serious and critical findings, but `meta-refresh`: live pages refresh themselves
    without JavaScript on purpose, and each offers to stop it (WCAG 2.2.1 "turn off"; tested
    below)."""
    options = {"resultTypes": ["violations"], "rules": {"meta-refresh": {"enabled": False}}}
    results = await Axe().run(page, options=options)
    return [
        f"{v['id']}: {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/submit", "/queue", "/submissions/running0"])
async def test_no_serious_accessibility_violation(
    page: Page, site: str, queued: None, path: str, scheme: Literal["light", "dark"]
) -> None:
    await page.emulate_media(color_scheme=scheme)
    response = await page.goto(site + path)
    assert response is not None and response.status == 200
    assert await serious_violations(page) == []


async def test_the_queue_shows_running_waiting_and_failed(
    page: Page, site: str, queued: None
) -> None:
    await page.goto(f"{site}/queue")
    await expect(page.locator("#running")).to_contain_text("ev-0")
    await expect(page.locator("#waiting")).to_contain_text("STS12")
    failed = page.locator("#finished tbody tr", has_text="org/failed")
    await expect(failed).to_contain_text("data_unavailable")
    await expect(failed).to_contain_text("no local copy of SciFact")
    await page.get_by_role("link", name="running0"[:8]).first.click()
    await expect(page).to_have_url(f"{site}/submissions/running0")


async def test_the_form_by_keyboard_with_the_api_unreachable(page: Page, site: str) -> None:
    await page.goto(f"{site}/submit")
    await page.get_by_label("Model", exact=True).focus()
    await page.keyboard.type("org/name")
    for _ in range(2):  # revision, then tasks
        await page.keyboard.press("Tab")
    await page.keyboard.type("BIOSSES")
    await page.get_by_label("API key").focus()
    await page.keyboard.type("lb_not_sent_back")
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.keyboard.press("Enter")
    await page.wait_for_load_state()
    assert (await answer.value).status == 502
    await expect(page.get_by_role("alert")).to_contain_text("unreachable")
    await expect(page.get_by_label("Model", exact=True)).to_have_value("org/name")
    await expect(page.get_by_label("Tasks", exact=True)).to_have_value("BIOSSES")
    assert "lb_not_sent_back" not in await page.content()


async def test_the_form_fits_a_phone(phone: Page, site: str) -> None:
    await phone.goto(f"{site}/submit")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await expect(phone.get_by_role("button", name="Submit")).to_be_visible()


@pytest.mark.parametrize("path", ["/queue", "/submissions/running0"])
async def test_a_live_page_refreshes_itself_until_asked_to_stop(
    page: Page, site: str, queued: None, path: str
) -> None:
    await page.goto(site + path)
    refresh = page.locator('meta[http-equiv="refresh"]')
    assert await refresh.count() == 1
    await page.get_by_role("link", name="stop").click()
    await page.wait_for_load_state()
    assert page.url.endswith("?refresh=off")
    assert await refresh.count() == 0
    await page.get_by_role("link", name="refresh every").click()
    await page.wait_for_load_state()
    assert await refresh.count() == 1
