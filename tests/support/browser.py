"""A real browser for the web tests: Debian's Chromium driven by Playwright, and the web app
served over real HTTP on a store holding an import of a synthetic results checkout.

Chromium comes from Debian (`apt-get install chromium`; `.ci/run` installs it when missing),
since Playwright's own browser download needs the internet.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from services.web.app import create_app
from shared.embedded import free_port
from shared.settings import Settings
from shared.store import Store
from tests.support.aggregation_fixtures import run_import
from tests.support.synthetic_results import synthetic_checkout

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = ViewportSize(width=1400, height=900)
PHONE = ViewportSize(width=390, height=844)
RESAMPLES = 100


@contextmanager
def serving_web(settings: Settings) -> Iterator[str]:
    """The web app served by uvicorn on a free loopback port, in a thread; its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the web server did not start")
        threading.Event().wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
async def site(store: Store, mongodb_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """The base URL of the web app over an import of the synthetic results checkout."""
    await run_import(store, synthetic_checkout(tmp_path / "checkout"), resamples=RESAMPLES)
    settings = Settings(
        mongodb_url=mongodb_url, mongodb_database=store.db.name, bootstrap_resamples=RESAMPLES
    )
    with serving_web(settings) as url:
        yield url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the session."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh desktop-sized page (its own context: no cookies or cache shared)."""
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """A fresh 390 px wide page, as on a phone."""
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    yield page
    await context.close()
