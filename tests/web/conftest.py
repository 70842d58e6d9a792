"""The web test fixtures: the app over an import of a synthetic results checkout, in-process
(`web`, httpx over ASGI) or served to a real browser (tests/support/browser.py)."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.web.app import create_app
from shared.settings import Settings
from shared.store import Store
from tests.support.aggregation_fixtures import run_import
from tests.support.browser import RESAMPLES, browser, page, phone, site
from tests.support.synthetic_results import synthetic_checkout

__all__ = ["browser", "checkout", "page", "phone", "site", "web"]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A synthetic results checkout (the one `web` imports)."""
    return synthetic_checkout(tmp_path / "checkout")


@pytest.fixture
async def web(store: Store, mongodb_url: str, checkout: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The web app over a store holding an import of the synthetic results checkout."""
    await run_import(store, checkout, resamples=RESAMPLES)
    settings = Settings(
        mongodb_url=mongodb_url, mongodb_database=store.db.name, bootstrap_resamples=RESAMPLES
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            yield client
