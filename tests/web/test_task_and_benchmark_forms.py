"""The custom task and benchmark forms, forwarded to the submission API with the signed-in key:
here the API is a real HTTP server that records what it gets and answers as scripted
(tests/support/recording_api.py); refusals show by their field, with their file and line."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from services.web.app import create_app
from shared.custom_tasks.spec import TaskType
from shared.documents import CustomTaskDoc
from shared.store import Store
from tests.support.custom_seed import (
    PRIVATE_BENCHMARK,
    PRIVATE_TASK,
    PUBLIC_BENCHMARK,
    PUBLIC_TASK,
    Seeded,
    seeded_store,
    spec,
    web_settings,
)
from tests.support.recording_api import Recorded, RecordingApi, recording_api

QRELS = b"query-id\tcorpus-id\nq1\td1\t1\n"
MISSING_COLUMN = {
    "error": {
        "code": "missing_column",
        "message": "qrels has no `score` column",
        "field": "qrels",
        "file": "qrels.tsv",
        "line": 1,
    }
}


@pytest.fixture
def api() -> Iterator[RecordingApi]:
    with recording_api() as api:
        yield api


@pytest.fixture
async def seeded(store: Store, tmp_path: Path) -> Seeded:
    return await seeded_store(store, tmp_path)


@pytest.fixture
async def alice(
    store: Store, mongodb_url: str, tmp_path: Path, seeded: Seeded, api: RecordingApi
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the web signed in with alice's key."""
    app = create_app(web_settings(store, mongodb_url, tmp_path, api.url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            answer = await client.post("/signin", data={"api_key": seeded.keys["alice"]})
            assert answer.status_code == 303
            yield client


async def token(client: httpx.AsyncClient, path: str) -> str:
    """The CSRF token in the form of the page at `path`."""
    page = (await client.get(path)).text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def multipart(recorded: Recorded) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart request: name → (file name, content)."""
    head = f"Content-Type: {recorded.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + recorded.body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        parts[str(part.get_param("name", header="content-disposition"))] = (
            part.get_filename(),
            payload if isinstance(payload, bytes) else b"",
        )
    return parts


def task_fields(csrf: str, **extra: str) -> dict[str, Any]:
    return {
        "csrf": csrf,
        "name": "my-retrieval",
        "type": "Retrieval",
        "languages": "eng-Latn, deu-Latn",
        "description": "Support tickets.",
        "visibility": "private",
    } | extra


async def test_a_task_is_forwarded_multipart_with_the_key_and_a_refusal_shows_by_its_field(
    alice: httpx.AsyncClient, api: RecordingApi, seeded: Seeded
) -> None:
    api.answer("POST", "/v1/tasks", 422, MISSING_COLUMN)
    csrf = await token(alice, "/tasks/new")
    files = {"qrels": ("qrels.tsv", QRELS, "text/tab-separated-values")}
    answer = await alice.post("/tasks/new", data=task_fields(csrf), files=files)
    assert answer.status_code == 422
    [sent] = api.requests
    assert sent.headers["authorization"] == f"Bearer {seeded.keys['alice']}"
    parts = multipart(sent)
    assert parts["qrels"] == ("qrels.tsv", QRELS)
    assert parts["name"][1] == b"my-retrieval" and parts["type"][1] == b"Retrieval"
    assert json.loads(parts["metadata"][1]) == {
        "description": "Support tickets.",
        "languages": ["eng-Latn", "deu-Latn"],
    }
    assert "csrf" not in parts and "corpus" not in parts  # no token, no empty file input
    page = answer.text
    error = page.split('id="qrels-error">', 1)[1].split("</p>", 1)[0]
    assert "qrels.tsv" in error and "line 1" in error and "missing_column" in error
    assert 'name="qrels" type="file"' in page and 'aria-invalid="true"' in page
    assert 'value="my-retrieval"' in page  # the fields are kept


async def test_a_hub_dataset_is_forwarded_and_its_refusal_shows_by_its_field(
    alice: httpx.AsyncClient, api: RecordingApi
) -> None:
    refused = {
        "error": {
            "code": "revision_not_found",
            "message": "org/data has no revision 'v9'",
            "field": "hub_revision",
        }
    }
    api.answer("POST", "/v1/tasks", 404, refused)
    csrf = await token(alice, "/tasks/new")
    fields = task_fields(csrf, hub_dataset="org/data", hub_revision="v9")
    answer = await alice.post("/tasks/new", data=fields)
    assert answer.status_code == 404
    [sent] = api.requests
    form = parse_qs(sent.body.decode())
    assert form["hub_dataset"] == ["org/data"] and form["hub_revision"] == ["v9"]
    error = answer.text.split('id="hub_revision-error">', 1)[1].split("</p>", 1)[0]
    assert "revision_not_found" in error and "v9" in error
    assert 'value="org/data"' in answer.text


async def test_a_created_task_leads_to_its_page(
    alice: httpx.AsyncClient, api: RecordingApi, store: Store
) -> None:
    api.answer("POST", "/v1/tasks", 201, {"name": "my-retrieval"})
    csrf = await token(alice, "/tasks/new")
    files = {"qrels": ("qrels.tsv", QRELS, "text/tab-separated-values")}
    made = spec("my-retrieval", TaskType.RETRIEVAL, "ndcg_at_10")
    created = CustomTaskDoc(_id="my-retrieval", spec=made, owner="alice")
    await store.custom_tasks_collection.insert_one(created.to_mongo())  # as the API stores it
    answer = await alice.post(
        "/tasks/new", data=task_fields(csrf, score_low="", score_high=""), files=files
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/tasks/my-retrieval"
    assert (await alice.get("/tasks/my-retrieval")).status_code == 200  # read again at once


async def test_a_bad_score_range_is_refused_before_the_api(
    alice: httpx.AsyncClient, api: RecordingApi
) -> None:
    csrf = await token(alice, "/tasks/new")
    answer = await alice.post("/tasks/new", data=task_fields(csrf, score_low="low"))
    assert answer.status_code == 422
    assert 'id="score_range-error"' in answer.text
    assert api.requests == []


async def test_publish_forwards_with_the_key(
    alice: httpx.AsyncClient, api: RecordingApi, seeded: Seeded
) -> None:
    api.answer("POST", f"/v1/tasks/{PRIVATE_TASK}/publish", 200, {"name": PRIVATE_TASK})
    csrf = await token(alice, f"/tasks/{PRIVATE_TASK}")
    answer = await alice.post(f"/tasks/{PRIVATE_TASK}/publish", data={"csrf": csrf})
    assert answer.status_code == 303
    [sent] = api.requests
    assert sent.method == "POST"
    assert sent.headers["authorization"] == f"Bearer {seeded.keys['alice']}"


async def test_delete_confirms_how_many_results_go_then_says_how_many_went(
    alice: httpx.AsyncClient, api: RecordingApi
) -> None:
    confirm = await alice.get(f"/tasks/{PRIVATE_TASK}/delete")
    assert confirm.status_code == 200
    assert "1 result</strong>" in confirm.text
    csrf = await token(alice, f"/tasks/{PRIVATE_TASK}/delete")
    path = f"/v1/tasks/{PRIVATE_TASK}"
    api.answer("DELETE", path, 409, {"error": {"code": "confirmation_required", "message": "x"}})
    refused = await alice.post(f"/tasks/{PRIVATE_TASK}/delete", data={"csrf": csrf})
    assert refused.status_code == 409 and "confirmation_required" in refused.text
    assert api.requests[-1].query == {}
    api.answer("DELETE", path, 200, {"task": PRIVATE_TASK, "results_deleted": 1})
    done = await alice.post(
        f"/tasks/{PRIVATE_TASK}/delete", data={"csrf": csrf, "confirm": PRIVATE_TASK}
    )
    assert done.status_code == 200
    assert "1 result." in done.text
    assert api.requests[-1].query == {"confirm": [PRIVATE_TASK]}


async def test_a_view_s_tasks_are_saved_as_a_benchmark(
    alice: httpx.AsyncClient, api: RecordingApi
) -> None:
    view = (await alice.get(f"/benchmarks/{PRIVATE_BENCHMARK}")).text
    link = view.split('id="save-benchmark"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    form = await alice.get(link.replace("&amp;", "&"))
    assert f"{PRIVATE_TASK}\nBIOSSES" in form.text
    api.answer("POST", "/v1/benchmarks", 201, {"name": "mine"})
    csrf = await token(alice, "/benchmarks/new")
    fields = {"csrf": csrf, "name": "mine", "description": "d", "visibility": "private"}
    answer = await alice.post(
        "/benchmarks/new", data=fields | {"tasks": f"{PRIVATE_TASK}\nBIOSSES"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/benchmarks/mine"
    assert api.requests[-1].json() == {
        "name": "mine",
        "description": "d",
        "tasks": [PRIVATE_TASK, "BIOSSES"],
        "visibility": "private",
    }
    refusal = {"code": "private_task_in_public_benchmark", "message": "no", "field": "tasks"}
    api.answer("POST", "/v1/benchmarks", 422, {"error": refusal})
    refused = await alice.post("/benchmarks/new", data=fields | {"tasks": PRIVATE_TASK})
    assert refused.status_code == 422
    assert "private_task_in_public_benchmark" in refused.text.split('id="tasks-error"', 1)[1]


async def test_the_best_models_button_queues_and_shows_what_was_queued_and_skipped(
    alice: httpx.AsyncClient, api: RecordingApi
) -> None:
    task_page = (await alice.get(f"/tasks/{PRIVATE_TASK}")).text
    assert f'href="/best-models?task={PRIVATE_TASK}"' in task_page
    form = await alice.get(f"/best-models?task={PRIVATE_TASK}")
    assert form.status_code == 200 and "MTEB(eng, v2)" in form.text
    queued = {
        "submissions": [{"model": "org/a", "submission_id": "a" * 32}],
        "skipped": [{"model": "org/huge", "reason": "over the size cap"}],
    }
    api.answer("POST", f"/v1/tasks/{PRIVATE_TASK}/best-models", 202, queued)
    csrf = await token(alice, f"/best-models?task={PRIVATE_TASK}")
    fields = {
        "csrf": csrf,
        "task": PRIVATE_TASK,
        "benchmark": "MTEB(eng, v2)",
        "top": "5",
        "max_parameters": "500",
        "models": "",
        "priority": "low",
    }
    answer = await alice.post("/best-models", data=fields)
    assert answer.status_code == 200
    assert api.requests[-1].json() == {
        "benchmark": "MTEB(eng, v2)",
        "top": 5,
        "max_parameters": 500_000_000,
        "models": None,
        "priority": "low",
    }
    assert f'href="/submissions/{"a" * 32}"' in answer.text
    assert "org/huge: over the size cap" in answer.text
    api.answer("POST", f"/v1/benchmarks/{PRIVATE_BENCHMARK}/best-models", 202, queued)
    answer = await alice.post(
        "/best-models", data=fields | {"task": "", "benchmark_target": PRIVATE_BENCHMARK}
    )
    assert answer.status_code == 200
    assert api.requests[-1].path == f"/v1/benchmarks/{PRIVATE_BENCHMARK}/best-models"


async def test_the_forms_need_a_signed_in_viewer_and_a_task_they_see(
    store: Store, mongodb_url: str, tmp_path: Path, seeded: Seeded, api: RecordingApi
) -> None:
    app = create_app(web_settings(store, mongodb_url, tmp_path, api.url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as anonymous:
            for path in ["/tasks/new", "/benchmarks/new", f"/best-models?task={PUBLIC_TASK}"]:
                answer = await anonymous.get(path)
                assert answer.status_code == 401 and "/signin?next=" in answer.text, path
            assert (await anonymous.get(f"/best-models?task={PRIVATE_TASK}")).status_code == 404
            assert (await anonymous.post("/tasks/new", data={"name": "x"})).status_code == 403
    assert api.requests == []


async def test_the_owner_publishes_or_deletes_her_benchmark_from_its_page(
    alice: httpx.AsyncClient, api: RecordingApi, seeded: Seeded
) -> None:
    page = (await alice.get(f"/benchmarks/{PRIVATE_BENCHMARK}")).text
    assert "Publish the benchmark" in page and "Delete the benchmark" in page
    others = (await alice.get(f"/benchmarks/{PUBLIC_BENCHMARK}")).text  # bob's
    assert "Delete the benchmark" not in others
    csrf = await token(alice, f"/benchmarks/{PRIVATE_BENCHMARK}")
    path = f"/v1/benchmarks/{PRIVATE_BENCHMARK}"
    api.answer("POST", f"{path}/publish", 200, {"name": PRIVATE_BENCHMARK})
    published = await alice.post(f"/benchmarks/{PRIVATE_BENCHMARK}/publish", data={"csrf": csrf})
    assert published.status_code == 303
    assert api.requests[-1].headers["authorization"] == f"Bearer {seeded.keys['alice']}"
    api.answer("DELETE", path, 200, {"benchmark": PRIVATE_BENCHMARK})
    deleted = await alice.post(f"/benchmarks/{PRIVATE_BENCHMARK}/delete", data={"csrf": csrf})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/benchmarks"
    assert (api.requests[-1].method, api.requests[-1].path) == ("DELETE", path)
    refusal = {"code": "forbidden", "message": "not yours"}
    api.answer("DELETE", path, 403, {"error": refusal})
    refused = await alice.post(f"/benchmarks/{PRIVATE_BENCHMARK}/delete", data={"csrf": csrf})
    assert refused.status_code == 403 and "not yours [forbidden]" in refused.text
