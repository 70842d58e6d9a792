"""Model, compare and chart pages in a real browser: reached by their links, the compare form
filled from the keyboard, a phone's width, and no serious or critical axe-core violation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

from tests.support.synthetic_results import BGE, MINILM

ENG_V2 = "MTEB(eng, v2)"
BLOCKING = {"serious", "critical"}


async def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page."""
    results = await Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:120] for n in v["nodes"][:3]]}
        for v in violations
        if v["impact"] in BLOCKING
    ]


async def test_from_a_table_to_a_model_page_and_compare(page: Page, site: str) -> None:
    await page.goto(f"{site}/tasks/BIOSSES")
    async with page.expect_navigation():
        await page.get_by_role("link", name=BGE, exact=True).click()
    assert await page.get_by_role("heading", level=1).inner_text() == BGE
    assert await page.locator("#tasks ~ .chart-and-data table tbody tr").count() > 10
    assert await blocking_violations(page) == []

    await page.goto(f"{site}/tasks/BIOSSES")
    async with page.expect_navigation():
        await page.get_by_role("link", name=f"Compare {MINILM}").click()
    assert "/compare?" in page.url  # with the task's leader
    assert await page.get_by_role("heading", name="Per task", exact=True).count() == 1
    assert await page.locator("table").first.locator("tbody tr").count() == 1  # the test row


async def test_the_compare_form_from_the_keyboard(page: Page, site: str) -> None:
    await page.goto(f"{site}/compare")
    await page.get_by_label("Model 1").focus()
    await page.keyboard.type(MINILM)
    await page.keyboard.press("Tab")
    await page.keyboard.type(BGE)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.get_by_role("heading", name=f"Is it better than {MINILM}?").count() == 1
    row = page.locator("table").first.locator("tbody tr").first
    assert BGE in await row.inner_text()
    assert await page.locator("svg.chart").count() == 1  # the task-type radar
    assert await blocking_violations(page) == []
    await page.get_by_label("Model 3").fill("nobody/nothing")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Compare").click()
    assert "unknown_model" in await page.get_by_role("alert").inner_text()
    assert await blocking_violations(page) == []


async def test_chart_pages(page: Page, site: str) -> None:
    for kind in ("size", "time", "task-types", "rank", "efficiency"):
        await page.goto(f"{site}/charts/{kind}/{quote(ENG_V2)}")
        assert await page.get_by_role("heading", level=1).count() == 1
        points = await page.locator("svg.chart g.dots title, svg.chart g.bar title").count()
        rows = await page.locator(".chart-and-data table tbody tr").count()
        if kind == "size":
            assert points >= rows > 0  # every model, and the front's points again
        elif kind == "efficiency":
            assert rows == 0  # nothing evaluated here in this store
        else:
            assert points > 0 and rows > 0
        assert await blocking_violations(page) == [], kind


async def test_on_a_phone(phone: Page, site: str) -> None:
    for path in (
        f"/models/{MINILM}",
        f"/compare?model={MINILM}&model={BGE}",
        f"/charts/size/{quote(ENG_V2)}",
    ):
        await phone.goto(f"{site}{path}")
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, path  # tables scroll inside their frames, the page does not
        heading = phone.get_by_role("heading", level=1)
        box = await heading.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert await blocking_violations(phone) == [], path


async def test_compare_the_checked_models_of_a_benchmark_table(page: Page, site: str) -> None:
    await page.goto(f"{site}/benchmarks/{quote(ENG_V2)}")
    await page.get_by_label(f"Compare {MINILM}").check()
    await page.get_by_label(f"Compare {BGE}").check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Compare the checked models").click()
    tests = page.locator("table").first.locator("tbody tr")
    assert await tests.count() == 1
    assert await page.get_by_role("heading", name="Per task", exact=True).count() == 1
    tested = await tests.locator("a").inner_text()
    assert tested in {MINILM, BGE}
    async with page.expect_navigation():
        await tests.locator("a").click()
    assert await page.get_by_role("heading", level=1).inner_text() == tested
