"""The API's `/docs` renders Swagger UI in a real browser with no request to another host."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Page, expect

from services.stack import Stack


async def test_swagger_ui_renders_from_the_api_alone(page: Page, stack: Stack) -> None:
    origin = urlsplit(stack.api_url).netloc
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(f"{stack.api_url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "leaderboard submission API"
    )
    await expect(page.get_by_text("/v1/submissions").first).to_be_visible()
    elsewhere = [url for url in requested if urlsplit(url).netloc != origin]
    assert not elsewhere, elsewhere
    assert any(url.endswith("swagger-ui-bundle.js") for url in requested)


async def test_redoc_renders_from_the_api_alone(page: Page, stack: Stack) -> None:
    origin = urlsplit(stack.api_url).netloc
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(f"{stack.api_url}/redoc")
    await expect(page.get_by_text("leaderboard submission API").first).to_be_visible()
    assert [url for url in requested if urlsplit(url).netloc != origin] == []
