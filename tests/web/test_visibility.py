"""Private custom tasks and benchmarks on every page: unseen without their owner's key (or an
admin's), seen with it; signing in and out; the page cache keeps no signed-in view."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from services.web.app import create_app
from services.web.session import COOKIE
from shared.settings import Settings
from shared.store import Store
from tests.support.custom_seed import (
    PRIVATE_BENCHMARK,
    PRIVATE_NAMES,
    PRIVATE_SCORE,
    PRIVATE_TASK,
    PUBLIC_BENCHMARK,
    PUBLIC_TASK,
    STALE,
    Seeded,
    seeded_store,
    web_settings,
)
from tests.support.synthetic_results import MINILM

ENG_V2 = quote("MTEB(eng, v2)", safe="")
MODEL = quote(MINILM)
PAGES = [
    "/",
    "/tasks",
    "/tasks.json",
    "/tasks.csv",
    "/benchmarks",
    f"/benchmarks/{ENG_V2}",
    f"/benchmarks/{ENG_V2}.json",
    f"/models/{MODEL}",
    f"/models/{MODEL}.json",
    f"/models/{MODEL}.csv",
    f"/compare?model={MODEL}&model=BAAI/bge-base-en-v1.5",
    f"/compare.json?model={MODEL}&model=BAAI/bge-base-en-v1.5",
    "/queue",
    "/queue.json",
    "/queue.csv",
]
"""Pages that list or join custom tasks and benchmarks: never naming a private one unseen."""
PRIVATE_PAGES = [
    f"/tasks/{PRIVATE_TASK}",
    f"/tasks/{PRIVATE_TASK}.json",
    f"/tasks/{PRIVATE_TASK}.csv",
    f"/benchmarks/{PRIVATE_BENCHMARK}",
    f"/benchmarks/{PRIVATE_BENCHMARK}.json",
    f"/benchmarks/{PRIVATE_BENCHMARK}.csv",
    f"/benchmarks/{PRIVATE_BENCHMARK}/per-task",
    f"/benchmarks/{PRIVATE_BENCHMARK}/per-task.csv",
    f"/benchmarks/{PRIVATE_BENCHMARK}/task-info.json",
    f"/benchmarks/{PRIVATE_BENCHMARK}/per-language.json",
    f"/benchmarks/{PRIVATE_BENCHMARK}.json?task={PRIVATE_TASK}",
    f"/charts/time/{PRIVATE_BENCHMARK}.json",
    f"/charts/task-types/{PRIVATE_BENCHMARK}",
    f"/charts/size/{PRIVATE_BENCHMARK}.json",
    f"/charts/size/{PRIVATE_BENCHMARK}.svg",
    f"/history/{PRIVATE_BENCHMARK}.json",
]
"""The private task's and benchmark's own pages: not found unseen."""


@pytest.fixture
async def seeded(store: Store, tmp_path: Path) -> Seeded:
    return await seeded_store(store, tmp_path)


@pytest.fixture
async def settings(store: Store, mongodb_url: str, tmp_path: Path, seeded: Seeded) -> Settings:
    return web_settings(store, mongodb_url, tmp_path, api_url="http://127.0.0.1:9")


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            yield client


async def signed_in(client: httpx.AsyncClient, key: str) -> httpx.AsyncClient:
    """A client of the same app holding a session of `key`."""
    other = httpx.AsyncClient(transport=client._transport, base_url="http://web")
    answer = await other.post("/signin", data={"api_key": key})
    assert answer.status_code == 303, answer.text
    return other


def names_in(body: str) -> set[str]:
    return {name for name in PRIVATE_NAMES if name in body}


async def test_nothing_private_shows_to_an_anonymous_viewer(app_client: httpx.AsyncClient) -> None:
    for path in PAGES:
        answer = await app_client.get(path)
        assert answer.status_code == 200, path
        assert names_in(answer.text) == set(), path
        assert str(PRIVATE_SCORE) not in answer.text, path
    for path in PRIVATE_PAGES:
        answer = await app_client.get(path)
        assert answer.status_code == 404, (path, answer.status_code)
    near = await app_client.get(f"/benchmarks/{PRIVATE_BENCHMARK[:-1]}.json")  # a near miss
    assert near.status_code == 404
    assert PRIVATE_BENCHMARK not in near.text
    typo = await app_client.get(f"/benchmarks/{PRIVATE_BENCHMARK[:-1]}")
    assert PRIVATE_BENCHMARK not in typo.text


async def test_the_public_custom_task_and_benchmark_show_to_everyone(
    app_client: httpx.AsyncClient,
) -> None:
    tasks = (await app_client.get("/tasks.json")).json()["tasks"]
    assert [task["name"] for task in tasks] == [PUBLIC_TASK]
    assert tasks[0]["owner"] == "bob" and tasks[0]["visibility"] == "public"
    page = await app_client.get(f"/tasks/{PUBLIC_TASK}.json")
    assert page.status_code == 200
    assert page.json()["rows"][0]["model"] == MINILM
    benchmark = await app_client.get(f"/benchmarks/{PUBLIC_BENCHMARK}.json")
    assert benchmark.status_code == 200
    assert set(benchmark.json()["tasks"]) == {PUBLIC_TASK, "BIOSSES"}
    assert PUBLIC_BENCHMARK in (await app_client.get("/benchmarks")).text
    selector = (await app_client.get(f"/benchmarks/{ENG_V2}")).text
    assert "Custom" in selector and f"/benchmarks/{PUBLIC_BENCHMARK}" in selector
    assert PUBLIC_TASK in (await app_client.get(f"/models/{MODEL}.json")).text


async def test_the_owner_sees_her_private_task_and_benchmark_everywhere(
    app_client: httpx.AsyncClient, seeded: Seeded
) -> None:
    alice = await signed_in(app_client, seeded.keys["alice"])
    for path in ["/tasks", "/tasks.json", "/tasks.csv", "/benchmarks", f"/models/{MODEL}.json"]:
        answer = await alice.get(path)
        assert names_in(answer.text), path
    task = (await alice.get(f"/tasks/{PRIVATE_TASK}.json")).json()
    assert task["owner"] == "alice" and task["visibility"] == "private"
    assert task["rows"][0]["main_score"] == PRIVATE_SCORE
    assert task["rows"][0]["stale_reason"] == STALE
    assert [file["path"] for file in task["files"]] == ["README.md", "data/test.jsonl"]
    assert task["earlier_revisions"] == ["0" * 64]
    page = (await alice.get(f"/tasks/{PRIVATE_TASK}")).text
    assert "stale" in page and task["revision"] in page and "Publish" in page
    for path in PRIVATE_PAGES:
        assert (await alice.get(path)).status_code == 200, path
    summary = (await alice.get(f"/benchmarks/{PRIVATE_BENCHMARK}.json")).json()
    assert summary["rows"][0]["Model"] == MINILM
    model = (await alice.get(f"/models/{MODEL}.json")).json()
    assert PRIVATE_BENCHMARK in [row["benchmark"] for row in model["benchmarks"]]
    assert (await alice.get(f"/submissions/{seeded.private_submission}")).status_code == 200
    assert seeded.private_submission in (await alice.get("/queue.json")).text
    home = (await alice.get(f"/benchmarks/{ENG_V2}")).text
    assert f"/benchmarks/{PRIVATE_BENCHMARK}" in home  # the selector's Custom group


async def test_another_user_sees_nothing_private_and_an_admin_sees_all(
    app_client: httpx.AsyncClient, seeded: Seeded
) -> None:
    bob = await signed_in(app_client, seeded.keys["bob"])
    for path in PAGES:
        assert names_in((await bob.get(path)).text) == set(), path
    for path in PRIVATE_PAGES:
        assert (await bob.get(path)).status_code == 404, path
    assert (await bob.get(f"/submissions/{seeded.private_submission}")).status_code == 404
    root = await signed_in(app_client, seeded.keys["root"])
    for path in PRIVATE_PAGES:
        assert (await root.get(path)).status_code == 200, path
    assert names_in((await root.get("/tasks")).text) == {PRIVATE_TASK}


async def test_a_signed_in_page_is_never_served_to_an_anonymous_request(
    app_client: httpx.AsyncClient, seeded: Seeded
) -> None:
    alice = await signed_in(app_client, seeded.keys["alice"])
    for path in ["/tasks", f"/models/{MODEL}", "/benchmarks", f"/benchmarks/{ENG_V2}"]:
        mine = await alice.get(path)
        assert names_in(mine.text), path
        assert mine.headers["cache-control"] == "private, no-store"
        assert "etag" not in mine.headers
        anonymous = await app_client.get(path)
        assert names_in(anonymous.text) == set(), path
        again = await app_client.get(path, headers={"If-None-Match": anonymous.headers["etag"]})
        assert again.status_code == 304  # the anonymous page is kept, for anonymous viewers
        assert names_in((await alice.get(path)).text), path  # and never served to alice


async def test_a_wrong_or_revoked_key_signs_no_one_in(
    app_client: httpx.AsyncClient, store: Store, seeded: Seeded
) -> None:
    wrong = await app_client.post("/signin", data={"api_key": "not-a-key"})
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers
    assert "unauthorized" in wrong.text and "not-a-key" not in wrong.text
    empty = await app_client.post("/signin", data={"api_key": ""})
    assert empty.status_code == 422
    alice = await signed_in(app_client, seeded.keys["alice"])
    assert (await alice.get(f"/tasks/{PRIVATE_TASK}")).status_code == 200
    await store.revoke_api_key("alice")
    assert (await alice.get(f"/tasks/{PRIVATE_TASK}")).status_code == 404
    assert "Sign in" in (await alice.get("/tasks")).text


async def test_a_forged_cookie_signs_no_one_in(app_client: httpx.AsyncClient) -> None:
    app_client.cookies.set(COOKIE, "gAAAAABforged")
    assert (await app_client.get(f"/tasks/{PRIVATE_TASK}")).status_code == 404


async def test_the_session_cookie_is_httponly_samesite_and_secure_over_tls(
    app_client: httpx.AsyncClient, seeded: Seeded
) -> None:
    plain = await app_client.post("/signin", data={"api_key": seeded.keys["alice"]})
    cookie = plain.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    assert seeded.keys["alice"] not in cookie  # sealed
    tls = httpx.AsyncClient(transport=app_client._transport, base_url="https://web")
    secure = await tls.post("/signin", data={"api_key": seeded.keys["alice"]})
    assert "Secure" in secure.headers["set-cookie"]


async def test_forms_of_a_signed_in_viewer_need_their_csrf_token(
    app_client: httpx.AsyncClient, seeded: Seeded
) -> None:
    alice = await signed_in(app_client, seeded.keys["alice"])
    for path in [f"/tasks/{PRIVATE_TASK}/publish", "/signout", "/benchmarks/new", "/best-models"]:
        answer = await alice.post(path, data={"csrf": "wrong"})
        assert answer.status_code == 403, path
        assert "csrf_invalid" in answer.text
    assert (await alice.get(f"/tasks/{PRIVATE_TASK}")).status_code == 200  # still signed in


async def test_signing_out_ends_the_session(app_client: httpx.AsyncClient, seeded: Seeded) -> None:
    alice = await signed_in(app_client, seeded.keys["alice"])
    page = (await alice.get("/tasks")).text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = await alice.post("/signout", data={"csrf": token})
    assert answer.status_code == 303
    assert f"{COOKIE}=" in answer.headers["set-cookie"]
    assert (await alice.get(f"/tasks/{PRIVATE_TASK}")).status_code == 404


async def test_without_a_secret_key_signing_in_is_unavailable(
    store: Store, mongodb_url: str, seeded: Seeded
) -> None:
    app = create_app(Settings(mongodb_url=mongodb_url, mongodb_database=store.db.name))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            form = await client.get("/signin")
            assert form.status_code == 503
            assert "LEADERBOARD_SECRET_KEY_FILE" in form.text
            answer = await client.post("/signin", data={"api_key": seeded.keys["alice"]})
            assert answer.status_code == 503 and "set-cookie" not in answer.headers


async def shows_soon(client: httpx.AsyncClient, path: str, shown: bool) -> bool:
    """Whether `path` names the private task (`shown`) within a generous while."""
    for _ in range(100):
        if (PRIVATE_TASK in (await client.get(path)).text) == shown:
            return True
        await asyncio.sleep(0.2)
    return False


async def test_a_task_published_or_deleted_shows_so_without_a_data_version_change(
    app_client: httpx.AsyncClient, store: Store
) -> None:
    assert names_in((await app_client.get("/tasks")).text) == set()
    version = await store.data_version()
    await store.custom_tasks_collection.update_one(
        {"_id": PRIVATE_TASK}, {"$set": {"visibility": "public"}}
    )
    assert await shows_soon(app_client, "/tasks", shown=True)
    await store.custom_tasks_collection.delete_one({"_id": PRIVATE_TASK})
    assert await shows_soon(app_client, "/tasks", shown=False)
    assert await store.data_version() == version  # the pages kept moved on all the same
