"""A canary Hub token and API keys through every path that touches them, then looked for
everywhere: answers, events, dead letters, logs, the store, the streams and the files on disk.

The servers are this module's own, so their data folders can be searched byte by byte.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.js.errors import NotFoundError

from services.submission import app as submission_app
from services.submission.door import REPLY_HEADER
from shared.bus import STREAMS, Bus
from shared.embedded import free_port, start_mongo_wire, start_nats, stop
from shared.events import Subjects
from tests.support.hub_server import ORG, running_hub
from tests.support.service import Service, service

TOKEN = "hf_CanaryTokenQ7x9Zt4Lm2Np8Rv5Ws3Ky6"
UNKNOWN_KEY = "lb_CanaryKeyJ4h8Gf2Dq6Sa9Wz3Xc7Vb1"

PUBLIC = f"{ORG}/public"
BODIES: list[dict[str, Any] | bytes] = [
    {"model": PUBLIC, "tasks": ["BIOSSES"], "hf_token": TOKEN},  # accepted
    {"model": f"{ORG}/private", "tasks": ["STS12"], "hf_token": TOKEN},  # not found
    {"model": PUBLIC, "hf_token": TOKEN},  # no tasks: invalid
    {"model": 3, "tasks": ["BIOSSES"], "hf_token": TOKEN},  # invalid model
    {"model": PUBLIC, "tasks": ["BIOSSES"], "benchmark": "x", "hf_token": TOKEN},
    {"model": f"{PUBLIC}\n", "tasks": ["BIOSSES"], "hf_token": TOKEN},
    f'{{"model": 3, "tasks": ["BIOSSES"], "hf_\\u0074oken": "{TOKEN}"}}'.encode(),
    f'{{"model": "{PUBLIC}", "hf_\\u0074oken": "{TOKEN}"}}'.encode(),
    f'{{"hf_token": "{TOKEN}", "model": '.encode(),  # not JSON
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A nats-server and a Mongo-wire server of this module; their URLs and the data root."""
    root = tmp_path_factory.mktemp("canary")
    nats_port, mongo_port = free_port(), free_port()
    nats = start_nats(root / "nats", nats_port)
    mongo = start_mongo_wire(root / "mongo", mongo_port)
    yield f"nats://127.0.0.1:{nats_port}", f"mongodb://127.0.0.1:{mongo_port}", root
    stop(nats)
    stop(mongo)


def needles(svc: Service) -> list[bytes]:
    """The secrets, each without a few leading characters (a leak may cut some off)."""
    return [secret[4:].encode() for secret in (TOKEN, UNKNOWN_KEY, svc.user_key)]


async def ask(svc: Service, body: dict[str, Any] | bytes, key: str, reply: bool = True) -> bytes:
    """An intake request; its answer (empty when none was asked for or came)."""
    inbox = svc.bus.client.new_inbox()
    answers = await svc.bus.client.subscribe(inbox, max_msgs=1)
    headers = {"Authorization": f"Bearer {key}"} | ({REPLY_HEADER: inbox} if reply else {})
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    await svc.bus.js.publish(Subjects.INTAKE, data, headers=headers)
    try:
        return bytes((await answers.next_msg(timeout=60)).data) if reply else b""
    except TimeoutError:
        return b""


async def requests_through_every_door(svc: Service, seen: list[bytes]) -> None:
    for body in BODIES:
        for key in (svc.user_key, UNKNOWN_KEY):
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            response = await svc.api.post("/v1/submissions", content=content, headers=headers)
            assert response.status_code < 500 or response.status_code == 503, response.text
            seen.append(response.content + str(response.headers).encode())
            seen.append(await ask(svc, body, key))
    listing = await svc.api.get("/v1/submissions", params={"limit": 200})
    seen.append(listing.content)


async def stream_contents(bus: Bus) -> list[bytes]:
    contents = []
    for stream in STREAMS:
        info = await bus.js.stream_info(stream.name)
        for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
            try:
                msg = await bus.js.get_msg(stream.name, seq)
            except NotFoundError:
                continue
            contents.append((msg.data or b"") + repr(msg.headers).encode())
    return contents


async def store_dump(svc: Service) -> list[bytes]:
    dump = []
    for name in await svc.store.db.list_collection_names():
        dump.extend([repr(doc).encode() async for doc in svc.store.db[name].find({})])
    return dump


def files_under(root: Path) -> list[bytes]:
    return [path.read_bytes() for path in root.rglob("*") if path.is_file()]


async def test_no_secret_is_anywhere_in_plain_text(
    servers: tuple[str, str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    nats_url, mongo_url, root = servers
    seen: list[bytes] = []
    with running_hub() as hub_url:
        async with service(nats_url, mongo_url, hub_url, root / "svc") as svc:
            await requests_through_every_door(svc, seen)
            await ask(svc, BODIES[0], svc.user_key, reply=False)
            await ask(svc, BODIES[2], svc.user_key, reply=False)
            secrets = needles(svc)
            seen.extend(await store_dump(svc))
    # the Hub down: requests fail, the door retries, then gives up on them
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(submission_app, "INTAKE_ATTEMPTS", 2)
        dead_hub = f"http://127.0.0.1:{free_port()}"
        async with service(nats_url, mongo_url, dead_hub, root / "down") as down:
            secrets.append(down.user_key[4:].encode())
            body = {"model": f"{ORG}/another", "tasks": ["BIOSSES"], "hf_token": TOKEN}
            response = await down.api.post("/v1/submissions", json=body, headers=down.auth())
            assert response.json()["error"]["code"] == "hub_unreachable"
            seen.append(response.content)
            answer = await ask(down, body, down.user_key)
            assert b"error" in answer
            seen.append(answer)
            seen.extend(await store_dump(down))
            await asyncio.sleep(1.0)  # dead letters are written before the answer; flushed
            seen.extend(await stream_contents(down.bus))
            intake = await down.bus.js.stream_info("LB_SUBMISSIONS", subjects_filter="lb.intake.>")
            assert not (intake.state.subjects or {}), "a handled request stayed in the stream"
    seen.append(caplog.text.encode())
    seen.extend(files_under(root))
    leaks = [(secret, text[:300]) for text in seen for secret in secrets if secret in text]
    assert not leaks
