"""Signing in, custom task pages and the create form in a real browser: the keyboard alone
signs in, the session cookie's flags as Chromium stores them, a private task unseen once signed
out, a broken file's refusal shown by its field with file and line, and no serious or critical
axe-core violation on the new pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, Page, expect

from services.web.session import COOKIE
from shared.store import Store
from tests.support.browser import DESKTOP, serving_web
from tests.support.custom_seed import (
    PRIVATE_BENCHMARK,
    PRIVATE_TASK,
    PUBLIC_BENCHMARK,
    Seeded,
    seeded_store,
    web_settings,
)
from tests.support.recording_api import RecordingApi, recording_api
from tests.web.test_browser_models import blocking_violations
from tests.web.test_visibility import PAGES, PRIVATE_PAGES, names_in


@pytest.fixture
def api() -> Iterator[RecordingApi]:
    with recording_api() as api:
        yield api


@pytest.fixture
async def seeded(store: Store, tmp_path: Path) -> Seeded:
    return await seeded_store(store, tmp_path)


@pytest.fixture
async def custom_site(
    store: Store, mongodb_url: str, tmp_path: Path, seeded: Seeded, api: RecordingApi
) -> AsyncIterator[str]:
    with serving_web(web_settings(store, mongodb_url, tmp_path, api.url)) as url:
        yield url


async def sign_in(page: Page, site: str, key: str) -> None:
    """Sign in from the keyboard alone: Tab to the key field, type it, Enter."""
    await page.goto(f"{site}/signin")
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.name") == "api_key":
            break
    else:
        pytest.fail("Tab never reached the key field")
    await page.keyboard.type(key)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def test_signing_in_and_out_from_the_keyboard(
    page: Page, custom_site: str, seeded: Seeded
) -> None:
    await page.goto(f"{custom_site}/tasks")
    await expect(page.locator("#custom-tasks")).not_to_contain_text(PRIVATE_TASK)
    await sign_in(page, custom_site, seeded.keys["alice"])
    assert page.url == f"{custom_site}/tasks"
    await expect(page.locator("#viewer-name")).to_have_text("alice")
    await expect(page.locator("#custom-tasks")).to_contain_text(PRIVATE_TASK)
    [cookie] = [c for c in await page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # served over plain HTTP here
    assert seeded.keys["alice"] not in cookie["value"]
    assert await page.evaluate("document.cookie") == ""  # no script reads it
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign out").click()
    await page.goto(f"{custom_site}/tasks/{PRIVATE_TASK}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")


async def test_the_cookie_is_secure_behind_a_tls_proxy(
    browser: Browser, custom_site: str, seeded: Seeded
) -> None:
    context = await browser.new_context(
        viewport=DESKTOP, extra_http_headers={"X-Forwarded-Proto": "https"}
    )
    page = await context.new_page()
    await page.goto(f"{custom_site}/signin")
    await page.get_by_label("API key").fill(seeded.keys["alice"])
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Sign in").click()
    cookie = await (await answer.value).header_value("set-cookie")
    assert cookie is not None and "Secure" in cookie and "HttpOnly" in cookie
    await context.close()


async def test_a_wrong_key_is_shown_by_the_key_field(page: Page, custom_site: str) -> None:
    await page.goto(f"{custom_site}/signin")
    await page.get_by_label("API key").fill("not-a-key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#api_key-error")).to_contain_text("unauthorized")
    assert [c for c in await page.context.cookies() if c["name"] == COOKIE] == []


async def test_a_broken_file_is_refused_by_its_field_with_file_and_line(
    page: Page, custom_site: str, seeded: Seeded, api: RecordingApi, tmp_path: Path
) -> None:
    refusal = {
        "code": "unknown_document",
        "message": "qrels point at a document the corpus lacks: d9",
        "field": "qrels",
        "file": "qrels.tsv",
        "line": 3,
    }
    api.answer("POST", "/v1/tasks", 422, {"error": refusal})
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td9\t1\n")
    await sign_in(page, custom_site, seeded.keys["alice"])
    await page.goto(f"{custom_site}/tasks/new")
    assert await blocking_violations(page) == []
    await page.get_by_label("Name", exact=True).fill("tickets")
    await page.get_by_label("Type").select_option("Retrieval")
    await page.get_by_label("Qrels").set_input_files(qrels)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create the task").click()
    field = page.get_by_label("Qrels")
    await expect(field).to_have_attribute("aria-invalid", "true")
    error = page.locator("#qrels-error")
    await expect(error).to_contain_text("file qrels.tsv, line 3")
    await expect(error).to_contain_text("unknown_document")
    await expect(page.get_by_label("Name", exact=True)).to_have_value("tickets")
    assert b"q1\td9\t1" in api.requests[-1].body
    assert await blocking_violations(page) == []


@pytest.mark.parametrize(
    "path",
    [
        "/tasks",
        f"/tasks/{PRIVATE_TASK}",
        f"/tasks/{PRIVATE_TASK}/delete",
        "/benchmarks",
        f"/benchmarks/{PRIVATE_BENCHMARK}",
        "/benchmarks/new",
        f"/best-models?task={PRIVATE_TASK}",
        f"/best-models?benchmark={quote(PUBLIC_BENCHMARK)}",
    ],
)
async def test_axe_finds_no_serious_violation_on_the_new_pages(
    page: Page, custom_site: str, seeded: Seeded, path: str
) -> None:
    await sign_in(page, custom_site, seeded.keys["alice"])
    await page.goto(f"{custom_site}{path}")
    assert await blocking_violations(page) == []


async def test_axe_finds_no_serious_violation_on_the_sign_in_page(
    page: Page, custom_site: str
) -> None:
    await page.goto(f"{custom_site}/signin")
    assert await blocking_violations(page) == []


async def test_a_browser_sees_no_private_name_until_signed_in_as_the_owner(
    page: Page, custom_site: str, seeded: Seeded
) -> None:
    for path in PAGES:
        answer = await page.request.get(f"{custom_site}{path}")
        assert answer.ok, path
        assert names_in(await answer.text()) == set(), path
    for path in PRIVATE_PAGES:
        assert (await page.request.get(f"{custom_site}{path}")).status == 404, path
    await page.goto(f"{custom_site}/benchmarks")
    await expect(page.locator("main")).not_to_contain_text(PRIVATE_BENCHMARK)
    await sign_in(page, custom_site, seeded.keys["alice"])
    for path in PRIVATE_PAGES:  # the page's requests carry its session cookie
        assert (await page.request.get(f"{custom_site}{path}")).status == 200, path
    await page.goto(f"{custom_site}/benchmarks")
    await expect(page.locator("#custom-benchmarks")).to_contain_text(PRIVATE_BENCHMARK)
