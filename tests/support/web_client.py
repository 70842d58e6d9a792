"""The web app in-process (ASGI, no server) over a store holding an import of the synthetic
results checkout, for the fast web tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from services.web.app import create_app
from shared.settings import Settings
from shared.store import Store
from tests.support.aggregation_fixtures import run_import
from tests.support.synthetic_results import synthetic_checkout

RESAMPLES = 100


async def imported(store: Store, folder: Path) -> Path:
    """`folder` made a synthetic results checkout and imported into `store`; the checkout."""
    checkout = synthetic_checkout(folder)
    await run_import(store, checkout, resamples=RESAMPLES)
    return checkout


@asynccontextmanager
async def web_client(store: Store, mongodb_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the web app reading `store`."""
    settings = Settings(
        mongodb_url=mongodb_url, mongodb_database=store.db.name, bootstrap_resamples=RESAMPLES
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            yield client
