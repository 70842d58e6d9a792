"""The benchmark views in a real browser: the filter form as people use it (mouse and
keyboard), custom subsets, every view, a phone's width, and axe-core's accessibility rules."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

ENG_V2 = "MTEB(eng, v2)"
VIEWS = {
    "Summary": "",
    "Per task": "/per-task",
    "Per language": "/per-language",
    "Task information": "/task-info",
}
SERIOUS = {"serious", "critical"}


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def column_headers(page: Page) -> list[str]:
    return [text.strip() for text in await page.locator("table thead th").all_inner_texts()]


async def test_a_custom_subset_from_the_checkboxes_carries_to_every_view(
    page: Page, site: str
) -> None:
    await page.goto(f"{site}/benchmarks/{ENG_V2}")
    await page.get_by_text("Customize this benchmark").click()
    await page.get_by_role("group", name="Task type").get_by_label("STS", exact=True).check()
    await page.get_by_role("button", name="Apply").click()
    await page.wait_for_load_state()
    assert query_of(page.url)["type"] == ["STS"]
    assert "Computed now on 9 tasks" in await page.locator("p.about-table").inner_text()
    await page.get_by_role("link", name="Per task", exact=True).click()
    await page.wait_for_load_state()
    assert query_of(page.url)["type"] == ["STS"]
    headers = await column_headers(page)
    assert "BIOSSES" in headers and "Banking77Classification" not in headers
    assert await page.get_by_role("group", name="Task type").get_by_label("STS").is_checked()


async def test_a_bad_field_shows_its_message_next_to_it(page: Page, site: str) -> None:
    await page.goto(f"{site}/benchmarks/{ENG_V2}")
    await page.get_by_text("Advanced model filters").click()
    await page.get_by_label("from").fill("many")
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name="Apply").click()
    response = await navigation.value
    assert response is not None and response.status == 422
    field = page.get_by_label("from")
    assert await field.get_attribute("aria-invalid") == "true"
    assert await field.input_value() == "many"
    message = page.locator("#error-min_params")
    assert await message.inner_text() == "'many' is not a number"
    assert await message.get_attribute("data-code") == "not_a_number"
    assert await page.locator("table tbody tr").count() > 0  # the valid fields' table


async def test_every_view_is_a_page_with_its_table(page: Page, site: str) -> None:
    await page.goto(f"{site}/benchmarks/{ENG_V2}?q=e")
    for label in VIEWS:
        await page.get_by_role("link", name=label, exact=True).click()
        await page.wait_for_load_state()
        assert query_of(page.url)["q"] == ["e"]
        current = page.locator('nav.tabs a[aria-current="page"]')
        assert await current.inner_text() == label
        assert await page.locator("table tbody tr").count() > 0, label
        assert await page.locator("h1").inner_text() == ENG_V2


async def test_sorting_by_a_header_is_shown_and_kept(page: Page, site: str) -> None:
    await page.goto(f"{site}/benchmarks/{ENG_V2}")
    header = page.locator("thead th", has_text="Mean (Task)").first
    await header.get_by_role("link").click()
    await page.wait_for_load_state()
    header = page.locator("thead th", has_text="Mean (Task)").first
    assert await header.get_attribute("aria-sort") == "descending"
    await page.get_by_role("link", name="Per task", exact=True).click()
    await page.wait_for_load_state()
    assert query_of(page.url)["sort"] == ["-Mean (Task)"]


async def test_the_form_works_from_the_keyboard_alone(page: Page, site: str) -> None:
    await page.goto(f"{site}/benchmarks/{ENG_V2}")
    for _ in range(80):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.name") == "q":
            break
    else:
        pytest.fail("Tab never reached the search field")
    await page.keyboard.type("bge")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert query_of(page.url)["q"] == ["bge"]
    models = await page.locator("table tbody th.c-model a").all_inner_texts()
    assert models and all("bge" in model.lower() for model in models)


async def test_a_phone_shows_the_model_and_its_main_score(phone: Page, site: str) -> None:
    await phone.goto(f"{site}/benchmarks/{ENG_V2}")
    width = phone.viewport_size["width"] if phone.viewport_size else 390
    first = phone.locator("table tbody tr").first
    model = await first.locator("th.c-model").bounding_box()
    mean_column = (await column_headers(phone)).index("Mean (Task)")
    mean = await first.locator("th, td").nth(mean_column).bounding_box()
    assert model is not None and mean is not None
    assert model["x"] >= 0 and model["x"] + model["width"] <= width
    assert mean["x"] + mean["width"] <= width  # no sideways scroll needed for the main score
    await phone.locator(".table-wrap").evaluate("box => box.scrollLeft = 2000")
    model_after = await first.locator("th.c-model").bounding_box()
    assert model_after is not None and model_after["x"] == pytest.approx(model["x"], abs=1)
    overflow = await phone.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width  # the page itself does not scroll sideways


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    results = await Axe().run(page)
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        *(f"/benchmarks/{ENG_V2}{view}" for view in VIEWS.values()),
        f"/benchmarks/{ENG_V2}?min_params=many&type=STS",
        "/benchmarks/MTEB(english)",
        f"/history/{ENG_V2}",
    ],
)
async def test_axe_finds_no_serious_violation(page: Page, site: str, path: str) -> None:
    await page.goto(f"{site}{path}")
    for summary in await page.locator("details > summary").all():
        if await summary.is_visible():
            await summary.click()  # check the form's hidden parts too
    assert await serious_violations(page) == []
    await page.emulate_media(color_scheme="dark")
    assert await serious_violations(page) == []


async def test_checked_models_go_to_compare(page: Page, site: str) -> None:
    await page.goto(f"{site}/benchmarks/{ENG_V2}/per-task")
    models = await page.locator("table tbody th.c-model a").all_inner_texts()
    for model in models[:2]:
        await page.get_by_label(f"Compare {model}", exact=True).check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Compare the checked models").click()
    assert urlsplit(page.url).path == "/compare"
    assert query_of(page.url)["model"] == models[:2]
