"""The API's `/docs` renders Swagger UI in a real browser with no request to another host."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
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


async def test_no_redoc_page_as_it_would_load_a_logo_from_elsewhere(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url) as api:
        assert (await api.get("/redoc")).status_code == 404
