"""The benchmark page's filter form, submitted by a real browser as a user submits it."""

from __future__ import annotations

from playwright.async_api import Page

ENG_V2 = "MTEB(eng, v2)"


async def test_apply_with_empty_fields_shows_the_table(page: Page, site: str) -> None:
    await page.goto(f"{site}/benchmarks/{ENG_V2}")
    rows_before = await page.locator("table tbody tr").count()
    await page.get_by_role("button", name="Apply").click()
    await page.wait_for_load_state()
    assert "min_params=" in page.url  # the browser sent the empty fields
    assert await page.locator("table tbody tr").count() == rows_before > 0
