"""Cheap checks first, bounded input: key, then body size, then field sizes, as an attacker tries.

The API runs under uvicorn on a real port; requests are written on a raw socket where timing
matters, so that what is measured is the server's answer, not a client's buffering.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from huggingface_hub import HfApi

from services.submission.app import create_app
from services.submission.auth import create_key
from services.submission.gate import MAX_BODY_BYTES
from shared.embedded import free_port
from shared.settings import Settings
from shared.store import Store
from tests.conftest import MODEL_ID
from tests.support.service import hub_url, own_nats_url, service_settings

__all__ = ["hub_url", "own_nats_url"]  # fixtures


@contextlib.contextmanager
def uvicorn_serving(settings: Settings, hub: HfApi) -> Iterator[tuple[str, int]]:
    """The API under uvicorn in a thread of its own; its URL and port."""
    port = free_port()
    app = create_app(settings, hub)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        time.sleep(0.2)
    try:
        yield url, port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
async def served(
    own_nats_url: str,
    mongodb_url: str,
    hub_url: str,
    models_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[str, int, str, Store]]:
    """URL, port, a user key with 50 submissions a day, and the store."""
    settings = service_settings(
        own_nats_url,
        mongodb_url,
        tmp_path_factory.mktemp("gate"),
        models_dir=models_dir,
        submissions_per_day=50,
    )
    store = Store(settings.mongodb_url or "", settings.mongodb_database)
    await store.ensure_indexes()
    key = await create_key(store, "user")
    try:
        with uvicorn_serving(settings, HfApi(endpoint=hub_url, token=False)) as (url, port):
            yield url, port, key, store
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


async def send_body(writer: asyncio.StreamWriter, body: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        for start in range(0, len(body), 65536):
            writer.write(body[start : start + 65536])
            await writer.drain()


async def raw_post(port: int, headers: dict[str, str], body: bytes) -> tuple[int, float]:
    """POST `body` on a raw connection; the status and seconds from the headers to the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [
        "POST /v1/submissions HTTP/1.1",
        "Host: api",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    started = time.monotonic()
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    sending = asyncio.create_task(send_body(writer, body))
    status_line = await asyncio.wait_for(reader.readline(), timeout=120)
    elapsed = time.monotonic() - started
    sending.cancel()
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return int(status_line.split()[1]), elapsed


def many_tasks(count: int) -> bytes:
    return json.dumps({"model": MODEL_ID, "tasks": [f"T{n:07d}" for n in range(count)]}).encode()


async def test_no_key_is_401_at_once_however_big_the_body(
    served: tuple[str, int, str, Store],
) -> None:
    """300,000 task names without a key: 401 within 100 ms (slack for a loaded machine), and
    /healthz answers meanwhile."""
    url, port, _, _ = served
    body = many_tasks(300_000)
    assert len(body) > 3_000_000
    attack = asyncio.create_task(raw_post(port, {}, body))
    async with httpx.AsyncClient(base_url=url) as client:
        started = time.monotonic()
        health = await client.get("/healthz", timeout=10)
        health_s = time.monotonic() - started
    status, elapsed = await attack
    assert status == 401
    assert elapsed < 0.5, elapsed
    assert health.status_code == 200 and health_s < 2.0, health_s


async def test_a_body_over_the_cap_is_413_before_it_is_read(
    served: tuple[str, int, str, Store],
) -> None:
    _, port, key, _ = served
    status, elapsed = await raw_post(port, {"Authorization": f"Bearer {key}"}, many_tasks(300_000))
    assert status == 413
    assert elapsed < 2.0, elapsed


async def test_a_chunked_body_over_the_cap_is_413(served: tuple[str, int, str, Store]) -> None:
    url, _, key, _ = served

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 1000 + 10):
            yield b" " * 1000

    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/v1/submissions", content=chunks(), headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


HOSTILE = [
    pytest.param({"model": f"{MODEL_ID}\n"}, "invalid_model_id", id="newline-after-id"),
    pytest.param({"model": "org/name\n"}, "invalid_model_id", id="newline-unknown-id"),
    pytest.param({"revision": "../../../../../tmp/x"}, "invalid_request", id="revision-traversal"),
    pytest.param({"revision": "main\n"}, "invalid_request", id="revision-newline"),
    pytest.param({"revision": "a" * 256}, "invalid_request", id="revision-too-long"),
    pytest.param({"tasks": ["BIOSSES"] * 2001}, "invalid_request", id="too-many-tasks"),
    pytest.param({"tasks": ["B" * 201]}, "invalid_request", id="task-name-too-long"),
    pytest.param({"model": "o/" + "n" * 200}, "invalid_request", id="model-too-long"),
]


@pytest.mark.parametrize(("fields", "code"), HOSTILE)
async def test_hostile_fields_of_a_mirrored_model_are_typed_422s(
    served: tuple[str, int, str, Store], fields: dict[str, object], code: str
) -> None:
    url, _, key, store = served
    before = await store.submissions.count_documents({})
    body = {"model": MODEL_ID, "tasks": ["BIOSSES"]} | fields
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/v1/submissions", json=body, headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert await store.submissions.count_documents({}) == before


@pytest.mark.parametrize("size", [600_000, 1_100_000])
async def test_a_huge_revision_is_refused_unstored(
    served: tuple[str, int, str, Store], size: int
) -> None:
    url, _, key, store = served
    before = await store.submissions.count_documents({})
    body = {"model": MODEL_ID, "tasks": ["BIOSSES"], "revision": "a" * size}
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/v1/submissions", json=body, headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 413, response.text
    assert await store.submissions.count_documents({}) == before


async def test_concurrent_submissions_admit_exactly_the_days_limit(
    served: tuple[str, int, str, Store],
) -> None:
    """80 POSTs at once with a 50-a-day key: exactly 50 get past the rate limit."""
    url, _, _, store = served
    key = await create_key(store, "racer")
    body = {"model": "some-org/not-in-the-mirror", "tasks": ["BIOSSES"]}  # refused after the count
    limits = httpx.Limits(max_connections=80)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/submissions", json=body, headers={"Authorization": f"Bearer {key}"}
                )
                for _ in range(80)
            )
        )
    codes = [response.json()["error"]["code"] for response in responses]
    assert codes.count("rate_limited") == 30, codes
    assert codes.count("model_not_found") == 50, codes


@pytest.mark.parametrize("submission_id", ["*", ">", "a.b", "a%20b"])
async def test_an_id_that_is_no_token_is_never_looked_up_nor_put_on_a_subject(
    served: tuple[str, int, str, Store], submission_id: str
) -> None:
    url, _, key, _ = served
    async with httpx.AsyncClient(base_url=url) as client:
        read = await client.get(f"/v1/submissions/{submission_id}")
        cancel = await client.delete(
            f"/v1/submissions/{submission_id}", headers={"Authorization": f"Bearer {key}"}
        )
    for response in (read, cancel):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "submission_not_found"
