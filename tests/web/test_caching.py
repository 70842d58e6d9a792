"""Pages kept per data version: ETag, 304, gzip, and nothing stale, erroneous or live kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from pymongo.errors import ServerSelectionTimeoutError
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.web.app import create_app
from services.web.caching import PageCache, accepts_gzip, matches
from shared.documents import SubmissionDoc, TaskProgress, task_leaderboard_id
from shared.settings import Settings
from shared.store import Store
from tests.support.aggregation_fixtures import run_import
from tests.support.synthetic_results import synthetic_checkout

RESAMPLES = 20
ENG_V2 = "/benchmarks/MTEB(eng, v2)"
IDENTITY = {"accept-encoding": "identity"}


@pytest.fixture
async def web(store: Store, mongodb_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The web app over an import of the synthetic results checkout."""
    await run_import(store, synthetic_checkout(tmp_path / "checkout"), resamples=RESAMPLES)
    settings = Settings(
        mongodb_url=mongodb_url, mongodb_database=store.db.name, bootstrap_resamples=RESAMPLES
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            yield client


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until `check()` is true; fails after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "never came true"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("suffix", ["", ".json", ".csv"])
async def test_a_page_has_an_etag_and_answers_304_while_it_holds(
    web: httpx.AsyncClient, suffix: str
) -> None:
    first = await web.get(ENG_V2 + suffix)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = await web.get(ENG_V2 + suffix, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = await web.get(ENG_V2 + suffix, headers={"if-none-match": 'W/"other"'})
    assert other.status_code == 200
    assert other.content == first.content


@pytest.mark.parametrize("suffix", ["", ".json", ".csv"])
async def test_gzip_when_accepted_and_the_same_bytes_unpacked(
    web: httpx.AsyncClient, suffix: str
) -> None:
    plain = await web.get(ENG_V2 + suffix, headers=IDENTITY)
    assert "content-encoding" not in plain.headers
    packed = await web.get(ENG_V2 + suffix, headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["vary"]
    assert packed.content == plain.content  # httpx unpacks it
    assert int(packed.headers["content-length"]) < len(plain.content)
    assert packed.headers["etag"] == plain.headers["etag"]


async def test_a_page_stays_until_the_data_version_moves(
    web: httpx.AsyncClient, store: Store
) -> None:
    before = (await web.get("/tasks/BIOSSES.json")).json()
    assert before["rows"]
    # a write behind the store's back: the data version does not move, the page is kept
    await store.leaderboards.update_one(
        {"_id": task_leaderboard_id("BIOSSES")}, {"$set": {"rows": []}}
    )
    await asyncio.sleep(0.5)
    assert (await web.get("/tasks/BIOSSES.json")).json() == before
    await store.bump_data_version()

    async def shows_the_write() -> bool:
        return (await web.get("/tasks/BIOSSES.json")).json()["rows"] == []

    await eventually(shows_the_write)


async def test_error_pages_are_never_kept(web: httpx.AsyncClient) -> None:
    missing = await web.get("/tasks/NoSuchTask", headers={"accept-encoding": "gzip"})
    assert missing.status_code == 404
    assert "etag" not in missing.headers
    assert "no task named" in missing.text
    bad = await web.get(f"{ENG_V2}.json", params={"task": "NoSuchTask"})
    assert bad.status_code == 422
    assert "etag" not in bad.headers


async def test_a_submission_page_is_live_and_gzipped(web: httpx.AsyncClient, store: Store) -> None:
    submission = SubmissionDoc(
        id="s1", model="org/m", revision="r", tasks=[TaskProgress(task="BIOSSES")]
    )
    await store.insert_submission(submission)
    first = await web.get("/submissions/s1", headers={"accept-encoding": "gzip"})
    assert first.status_code == 200
    assert "etag" not in first.headers
    assert first.headers["content-encoding"] == "gzip"
    await store.update_submission("s1", lambda doc: setattr(doc.tasks[0], "reason", "moved on"))
    assert "moved on" in (await web.get("/submissions/s1")).text


def test_if_none_match_compares_weakly_and_takes_lists() -> None:
    etag = b'W/"abc"'
    assert matches('W/"abc"', etag)
    assert matches('"abc"', etag)
    assert matches('"x", W/"abc"', etag)
    assert matches("*", etag)
    assert not matches('"abd"', etag)
    assert not matches(None, etag)


def test_accept_encoding_is_read_with_its_weights() -> None:
    def accepts(value: str) -> bool:
        return accepts_gzip(Headers({"accept-encoding": value}))

    assert accepts("gzip, deflate, br")
    assert accepts("br;q=1.0, gzip;q=0.8")
    assert not accepts("gzip;q=0")
    assert not accepts("identity")
    assert not accepts("")


class Version:
    """The data version the middleware reads, set by the test."""

    def __init__(self) -> None:
        self.value = 1

    async def data_version(self) -> int:
        return self.value


async def test_concurrent_requests_render_a_page_once_and_only_200s_are_kept() -> None:
    renders: list[str] = []

    async def slow(request: Request) -> Response:
        renders.append(request.url.path)
        await asyncio.sleep(0.2)
        return PlainTextResponse("x" * 1000)

    async def teapot(request: Request) -> Response:
        renders.append(request.url.path)
        return PlainTextResponse("no", status_code=418)

    async def own_rules(request: Request) -> Response:
        renders.append(request.url.path)
        return PlainTextResponse("live", headers={"cache-control": "max-age=1"})

    app = Starlette(
        routes=[Route("/slow", slow), Route("/teapot", teapot), Route("/own", own_rules)],
        middleware=[Middleware(PageCache, refresh_s=0.0)],
    )
    version = Version()
    app.state.store = version
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = await asyncio.gather(*(client.get("/slow") for _ in range(8)))
        assert [a.text for a in answers] == ["x" * 1000] * 8
        assert renders == ["/slow"]
        for path in ("/teapot", "/teapot", "/own", "/own"):
            await client.get(path)
        assert renders == ["/slow", "/teapot", "/teapot", "/own", "/own"]
        version.value = 2
        await client.get("/slow")
        assert renders.count("/slow") == 2


class Unreachable:
    """A store whose data version cannot be read."""

    def __init__(self) -> None:
        self.reads = 0

    async def data_version(self) -> int:
        self.reads += 1
        raise ServerSelectionTimeoutError("down")


async def test_without_a_data_version_pages_pass_through_and_the_store_is_spared() -> None:
    async def page(request: Request) -> Response:
        return PlainTextResponse("rendered")

    app = Starlette(routes=[Route("/", page)], middleware=[Middleware(PageCache, refresh_s=60)])
    store = Unreachable()
    app.state.store = store
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = await asyncio.gather(*(client.get("/") for _ in range(5)))
    assert [answer.text for answer in answers] == ["rendered"] * 5
    assert all("etag" not in answer.headers for answer in answers)
    assert store.reads == 1  # the others neither waited for nor repeated the failed read
