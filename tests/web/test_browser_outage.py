"""The store's outage in a real browser: a page that says what is unavailable (503, accessible),
and the same address working again once the store is back, without restarting the web service."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.async_api import Page

from shared.embedded import free_port, start_mongo_wire, stop
from shared.settings import Settings
from tests.support.browser import serving_web
from tests.web.test_browser_models import blocking_violations


async def test_the_outage_page_in_a_browser(page: Page, tmp_path: Path) -> None:
    port = free_port()
    mongo = start_mongo_wire(tmp_path / "mongo", port)
    settings = Settings(
        mongodb_url=f"mongodb://127.0.0.1:{port}", mongodb_database=f"outage_{uuid.uuid4().hex[:8]}"
    )
    try:
        with serving_web(settings) as site:
            assert (await page.goto(f"{site}/tasks/BIOSSES")).status == 200  # type: ignore[union-attr]
            stop(mongo)
            for _ in range(20):  # a page kept by the web serves until its data version is due
                down = await page.goto(f"{site}/tasks/BIOSSES")
                if down is not None and down.status == 503:
                    break
                await page.wait_for_timeout(250)
            assert down is not None and down.status == 503
            assert await page.locator("h1").inner_text() == "Temporarily unavailable"
            assert "store (MongoDB)" in await page.locator("main").inner_text()
            assert await blocking_violations(page) == []

            mongo = start_mongo_wire(tmp_path / "mongo", port)
            for _ in range(60):  # the web service pings the store every second
                back = await page.goto(f"{site}/tasks/BIOSSES")
                if back is not None and back.status == 200:
                    break
                await page.wait_for_timeout(500)
            assert await page.locator("h1").inner_text() == "BIOSSES"
    finally:
        stop(mongo)
