"""The submission service in-process, on a nats-server of its own, the test store and a fake Hub.

Its own nats-server keeps the jobs it publishes away from the shared stack's evaluators.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from huggingface_hub import HfApi

from services.submission.app import create_app
from services.submission.auth import create_key
from services.submission.intake import Intake
from shared.bus import JOBS, SUBMISSIONS, Bus
from shared.embedded import free_port, start_nats, stop
from shared.secrets import make_key_file
from shared.settings import Settings
from shared.store import Store
from tests.support.helpers import last_sequence
from tests.support.hub_server import running_hub


@dataclass
class Service:
    """A running submission service and what a test needs around it."""

    api: httpx.AsyncClient
    app: FastAPI
    bus: Bus
    store: Store
    settings: Settings
    hub: HfApi
    admin_key: str
    user_key: str

    @property
    def intake(self) -> Intake:
        """The running service's pipeline, for tests that reach behind the HTTP API."""
        return self.app.state.intake  # type: ignore[no-any-return]

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.user_key}"}

    async def published(self) -> list[int]:
        """Last sequences of the submissions and jobs streams: they grow with every publish."""
        return [await last_sequence(self.bus, stream) for stream in (SUBMISSIONS, JOBS)]


@pytest.fixture(scope="module")
def own_nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = start_nats(tmp_path_factory.mktemp("own-nats"), port)
    yield f"nats://127.0.0.1:{port}"
    stop(process)


@pytest.fixture(scope="module")
def hub_url() -> Iterator[str]:
    with running_hub() as url:
        yield url


def service_settings(
    nats_url: str, mongodb_url: str, folder: Path, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "nats_url": nats_url,
        "mongodb_url": mongodb_url,
        "mongodb_database": f"submission_{uuid.uuid4().hex[:12]}",
        "data_dir": folder / "data",
        "secret_key_file": make_key_file(folder / "secret.key"),
        "submissions_per_day": 3,
        "api_key_file": folder / "api-key",
    }
    return Settings(**(values | overrides))


@asynccontextmanager
async def serving(
    settings: Settings, hub: HfApi
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan (bus, store, intake consumer) and a client talking to it."""
    app = create_app(settings, hub)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://submission") as client:
            yield app, client


@asynccontextmanager
async def service(
    nats_url: str, mongodb_url: str, hub_url: str, folder: Path, **overrides: object
) -> AsyncIterator[Service]:
    """A service with an admin key and a user key, its database dropped afterwards."""
    settings = service_settings(nats_url, mongodb_url, folder, **overrides)
    hub = HfApi(endpoint=hub_url, token=False)
    store = Store(settings.mongodb_url or "", settings.mongodb_database)
    await store.ensure_indexes()
    bus = await Bus.connect(nats_url, "tests")
    admin_key = await create_key(store, "admin", admin=True)
    user_key = await create_key(store, "user")
    try:
        async with serving(settings, hub) as (app, api):
            yield Service(api, app, bus, store, settings, hub, admin_key, user_key)
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()
        await bus.close()
