"""Custom tasks over HTTP on a real nats-server and the Mongo-wire server: create from files,
every refusal typed and leaving nothing behind, ownership, publish, delete with confirmation,
private submissions and their private subjects."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

from services.submission.auth import create_key
from shared.bus import JOBS, PRIVATE, SUBMISSIONS, TASKS, Bus
from shared.documents import ResultDoc, SubmissionDoc, SubmissionStatus, TaskProgress
from shared.events import (
    Job,
    Subjects,
    TaskCreated,
    TaskDeleted,
    TaskPublished,
    TaskState,
    utcnow,
)
from shared.task_data import BUCKET, TaskData
from tests.conftest import MODEL_ID
from tests.support.helpers import last_sequence
from tests.support.hub_server import sha_of
from tests.support.service import Service, hub_url, own_nats_url, service

__all__ = ["hub_url", "own_nats_url"]  # fixtures

UPLOAD_CAP = 2 * 1024 * 1024
MAX_ROWS = 500
MAX_FILE_BYTES = 200_000


@pytest.fixture(scope="module")
async def svc(
    own_nats_url: str,
    mongodb_url: str,
    hub_url: str,
    models_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Service]:
    async with service(
        own_nats_url,
        mongodb_url,
        hub_url,
        tmp_path_factory.mktemp("tasks"),
        max_model_parameters=10**9,
        models_dir=models_dir,
        submissions_per_day=1000,
        task_upload_max_bytes=UPLOAD_CAP,
        task_max_rows=MAX_ROWS,
        task_max_file_bytes=MAX_FILE_BYTES,
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def other_key(svc: Service) -> str:
    return await create_key(svc.store, "other")


def jsonl(*rows: dict[str, Any]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


PAIRS = jsonl(
    {"sentence1": "a cat sits", "sentence2": "a cat is sitting", "score": 4.0},
    {"sentence1": "a dog runs", "sentence2": "the stock fell", "score": 0.0},
    {"sentence1": "rain today", "sentence2": "it rains today", "score": 3.5},
)
STS_METADATA = {"score_range": [0, 4], "description": "tiny pairs"}


def own_pairs(name: str) -> bytes:
    """Pairs no other test's task holds (its files are objects of its own)."""
    return PAIRS + jsonl({"sentence1": name, "sentence2": f"about {name}", "score": 1.0})


def task_name() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


async def upload(
    svc: Service,
    name: str,
    files: dict[str, tuple[str, bytes]],
    task_type: str = "STS",
    metadata: dict[str, Any] | None = None,
    key: str | None = None,
    **fields: str,
) -> Any:
    data = {
        "name": name,
        "type": task_type,
        "metadata": json.dumps(STS_METADATA if metadata is None else metadata),
    }
    return await svc.api.post(
        "/v1/tasks",
        data=data | fields,
        files=[(role, part) for role, part in files.items()],
        headers=svc.auth(key),
    )


async def objects(bus: Bus) -> int:
    """Messages in the task data object store (0 before its first put)."""
    try:
        info = await bus.js.stream_info(f"OBJ_{BUCKET}")
    except NotFoundError:
        return 0
    return int(info.state.messages)


async def traces(svc: Service) -> tuple[int, int, int, int]:
    """What a task creation leaves: documents, objects, task events (public and private)."""
    return (
        await svc.store.custom_tasks_collection.count_documents({}),
        await objects(svc.bus),
        await last_sequence(svc.bus, TASKS),
        await last_sequence(svc.bus, PRIVATE),
    )


async def last_event(bus: Bus, subject: str) -> bytes | None:
    stream = PRIVATE if subject.startswith("lb.private.") else TASKS
    try:
        found = await bus.js.get_last_msg(stream.name, subject)
    except NotFoundError:
        return None
    return found.data


async def test_a_task_from_files_is_stored_private_and_announced_privately(svc: Service) -> None:
    name = task_name()
    response = await upload(svc, name, {"pairs": ("pairs.jsonl", PAIRS)})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["owner"] == "user" and created["visibility"] == "private"
    spec = created["spec"]
    assert spec["type"] == "STS" and spec["main_score"] == "cosine_spearman"
    stored = await svc.store.get_custom_task(name)
    assert stored is not None and stored.spec.revision == spec["revision"]
    data = TaskData(svc.bus)
    assert all([await data.holds(digest) for digest in spec["files"].values()])
    event = await last_event(svc.bus, Subjects.task_event(name, "created", True))
    assert event is not None and TaskCreated.model_validate_json(event).task.name == name
    assert await last_event(svc.bus, Subjects.task_event(name, "created", False)) is None

    assert (await svc.api.get(f"/v1/tasks/{name}", headers=svc.auth())).status_code == 200
    admin = await svc.api.get(f"/v1/tasks/{name}", headers=svc.auth(svc.admin_key))
    assert admin.status_code == 200
    for headers in ({}, svc.auth(await other_key_of(svc))):
        hidden = await svc.api.get(f"/v1/tasks/{name}", headers=headers)
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "task_not_found"
        listing = await svc.api.get("/v1/tasks", headers=headers)
        assert name not in [task["name"] for task in listing.json()]
    mine = await svc.api.get("/v1/tasks", headers=svc.auth())
    assert name in [task["name"] for task in mine.json()]


async def other_key_of(svc: Service) -> str:
    return await create_key(svc.store, f"other-{uuid.uuid4().hex[:6]}")


async def test_a_bad_key_on_a_read_is_refused_not_read_as_anonymous(svc: Service) -> None:
    response = await svc.api.get("/v1/tasks", headers=svc.auth("lb_not-a-key"))
    assert response.status_code == 401


LONG_PAIRS = jsonl(
    *[{"sentence1": "s" * 600, "sentence2": f"t{i}", "score": 1} for i in range(MAX_ROWS - 100)]
)
MANY_PAIRS = jsonl(
    *[{"sentence1": f"s{i}", "sentence2": "t", "score": 1} for i in range(MAX_ROWS + 1)]
)


def retrieval(
    corpus: bytes | None = None, queries: bytes | None = None, qrels: bytes | None = None
) -> dict[str, tuple[str, bytes]]:
    return {
        "corpus": (
            "corpus.jsonl",
            corpus or jsonl({"_id": "d1", "text": "x"}, {"_id": "d2", "text": "y"}),
        ),
        "queries": ("queries.jsonl", queries or jsonl({"_id": "q1", "text": "x?"})),
        "qrels": ("qrels.tsv", qrels or b"query-id\tcorpus-id\tscore\nq1\td1\t1\n"),
    }


REFUSED = [
    pytest.param(
        "STS", {"pairs": ("p.jsonl", jsonl({"sentence1": "a", "score": 1.0}))}, STS_METADATA,
        "missing_column", "p.jsonl", id="missing column",
    ),
    pytest.param(
        "STS", {"pairs": ("p.jsonl", PAIRS + jsonl({"sentence1": "a", "sentence2": "b", "score": 9}))},  # noqa: E501
        STS_METADATA, "score_out_of_range", "p.jsonl", id="score out of range",
    ),
    pytest.param(
        "STS", {"pairs": ("p.jsonl", b"")}, STS_METADATA, "empty_split", "p.jsonl", id="empty",
    ),
    pytest.param(
        "STS", {"pairs": ("p.tsv", b"sentence1\tsentence2\tscore\n\xff\xfe\tb\t1\n")}, STS_METADATA,
        "undecodable_text", "p.tsv", id="undecodable",
    ),
    pytest.param(
        "STS",
        {"pairs": ("p.jsonl", MANY_PAIRS)},
        STS_METADATA, "too_many_rows", "p.jsonl", id="over the row cap",
    ),
    pytest.param(
        "STS", {"pairs": ("p.jsonl", LONG_PAIRS)}, STS_METADATA, "file_too_large", "p.jsonl",
        id="over the file size cap",
    ),
    pytest.param(
        "Retrieval", retrieval(qrels=b"query-id\tcorpus-id\tscore\nq9\td1\t1\n"),
        {}, "unknown_reference", "qrels.tsv", id="qrels to an unknown query",
    ),
    pytest.param(
        "Retrieval",
        retrieval(corpus=jsonl({"_id": "d1", "text": "x"}, {"_id": "d1", "text": "y"})),
        {}, "duplicate_id", "corpus.jsonl", id="duplicate id",
    ),
    pytest.param(
        "Retrieval", retrieval(qrels=b"query-id\tcorpus-id\tscore\nq1\tnowhere\t1\n"),
        {}, "unknown_reference", "qrels.tsv", id="qrels to an unknown document",
    ),
    pytest.param(
        "Classification",
        {
            "train": ("train.csv", b"text,label\na,x\nb,x\n"),
            "test": ("test.csv", b"text,label\nc,x\nd,x\n"),
        },
        {}, "too_few_labels", None, id="one label",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("task_type", "files", "metadata", "code", "file"), REFUSED)
async def test_bad_data_is_a_typed_error_and_leaves_nothing(
    svc: Service,
    task_type: str,
    files: dict[str, tuple[str, bytes]],
    metadata: dict[str, Any],
    code: str,
    file: str | None,
) -> None:
    before = await traces(svc)
    name = task_name()
    response = await upload(svc, name, files, task_type, metadata)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    if file is not None:
        assert error["file"] == file
    if code in {"missing_column", "score_out_of_range", "duplicate_id", "unknown_reference"}:
        assert error["line"] >= 1 and error["field"]
    assert await svc.store.get_custom_task(name) is None
    assert await traces(svc) == before


BAD_REQUESTS = [
    pytest.param({"name": "BIOSSES"}, 422, "name_taken", id="registry task name"),
    pytest.param({"name": "1starts-with-a-digit"}, 422, "invalid_request", id="bad name"),
    pytest.param({"type": "Summarization"}, 422, "invalid_request", id="unknown type"),
    pytest.param({"metadata": '{"languages": []}'}, 422, "invalid_request", id="bad metadata"),
    pytest.param({"metadata": '{"colour": "red"}'}, 422, "invalid_request", id="unknown field"),
    pytest.param({"role": "corpse"}, 422, "invalid_request", id="unknown role"),
    pytest.param({"big": True}, 413, "body_too_large", id="over the upload cap"),
    pytest.param({"key": None}, 401, "unauthorized", id="no key"),
]


@pytest.mark.parametrize(("change", "status", "code"), BAD_REQUESTS)
async def test_bad_uploads_are_refused_and_leave_nothing(
    svc: Service, change: dict[str, Any], status: int, code: str
) -> None:
    before = await traces(svc)
    data = {"name": task_name(), "type": "STS", "metadata": json.dumps(STS_METADATA)}
    data |= {k: v for k, v in change.items() if k in data}
    content = b"x" * (UPLOAD_CAP + 1) if change.get("big") else PAIRS
    files = [(change.get("role", "pairs"), ("pairs.jsonl", content))]
    headers = {} if "key" in change else svc.auth()
    response = await svc.api.post("/v1/tasks", data=data, files=files, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert await traces(svc) == before


async def test_names_and_revisions_belong_to_their_key(svc: Service, other_key: str) -> None:
    name = task_name()
    assert (await upload(svc, name, {"pairs": ("p.jsonl", PAIRS)})).status_code == 201
    before = await traces(svc)
    taken = await upload(svc, name, {"pairs": ("p.jsonl", PAIRS[:-1] + b" \n")}, key=other_key)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "task_exists"
    same = await upload(svc, name, {"pairs": ("other-name.jsonl", PAIRS)})
    assert same.status_code == 409 and same.json()["error"]["code"] == "duplicate_task"
    assert await traces(svc) == before

    first = (await svc.store.get_custom_task(name)).spec.revision  # type: ignore[union-attr]
    more = PAIRS + jsonl({"sentence1": "new", "sentence2": "newer", "score": 2})
    revised = await upload(svc, name, {"pairs": ("p.jsonl", more)})
    assert revised.status_code == 201, revised.text
    assert revised.json()["earlier_revisions"] == [first]
    assert revised.json()["spec"]["revision"] != first


async def test_publish_and_delete_by_owner_or_admin_only(svc: Service, other_key: str) -> None:
    name = task_name()
    spec = (await upload(svc, name, {"pairs": ("p.jsonl", own_pairs(name))})).json()["spec"]
    other = svc.auth(other_key)
    hidden = await svc.api.post(f"/v1/tasks/{name}/publish", headers=other)
    assert hidden.status_code == 404  # another key's private task is not told to exist

    published = await svc.api.post(f"/v1/tasks/{name}/publish", headers=svc.auth())
    assert published.status_code == 200 and published.json()["visibility"] == "public"
    event = await last_event(svc.bus, Subjects.task_event(name, "published", False))
    assert (
        event is not None and TaskPublished.model_validate_json(event).revision == spec["revision"]
    )
    assert (await svc.api.get(f"/v1/tasks/{name}")).status_code == 200  # anonymous now
    forbidden = await svc.api.delete(f"/v1/tasks/{name}", params={"confirm": name}, headers=other)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"

    for model in ("org/a", "org/b"):
        await svc.store.upsert_result(
            ResultDoc(_id=f"{model}@r|{name}|2.26", model=model, revision="r", task=name,
                      main_score=0.5, evaluated_at=utcnow())
        )  # fmt: skip
    unconfirmed = await svc.api.delete(f"/v1/tasks/{name}", headers=svc.auth())
    assert unconfirmed.status_code == 409
    assert unconfirmed.json()["error"]["code"] == "confirmation_required"
    assert "2 result" in unconfirmed.json()["error"]["message"]
    assert await svc.store.count_task_results(name) == 2
    for status, state in (
        (SubmissionStatus.QUEUED, TaskState.QUEUED),  # the one still to run
        (SubmissionStatus.RUNNING, TaskState.DONE),
        (SubmissionStatus.CANCELLED, TaskState.QUEUED),
    ):
        await svc.store.insert_submission(
            SubmissionDoc(_id=uuid.uuid4().hex, model="org/c", revision="r", status=status,
                          tasks=[TaskProgress(task=name, state=state)])
        )  # fmt: skip

    deleted = await svc.api.delete(
        f"/v1/tasks/{name}", params={"confirm": name}, headers=svc.auth(svc.admin_key)
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"task": name, "results_deleted": 2, "unfinished_evaluations": 1}
    assert await svc.store.get_custom_task(name) is None
    assert await svc.store.count_task_results(name) == 0
    data = TaskData(svc.bus)
    used = {d for task in await svc.store.custom_tasks() for d in task.spec.files.values()}
    own = set(spec["files"].values()) - used  # the data rows; a README may be another's too
    assert own and not any([await data.holds(digest) for digest in own])
    assert all([await data.holds(digest) for digest in set(spec["files"].values()) & used])
    event = await last_event(svc.bus, Subjects.task_event(name, "deleted", False))
    assert event is not None and TaskDeleted.model_validate_json(event).results_deleted == 2


async def test_objects_another_task_uses_are_kept_on_delete(svc: Service) -> None:
    kept, gone = task_name(), task_name()
    spec = (await upload(svc, kept, {"pairs": ("p.jsonl", PAIRS)})).json()["spec"]
    assert (await upload(svc, gone, {"pairs": ("p.jsonl", PAIRS)})).status_code == 201
    response = await svc.api.delete(f"/v1/tasks/{gone}?confirm={gone}", headers=svc.auth())
    assert response.status_code == 200, response.text
    data = TaskData(svc.bus)
    assert all([await data.holds(digest) for digest in spec["files"].values()])


async def test_a_submission_of_a_private_task_is_private_everywhere(
    svc: Service, other_key: str
) -> None:
    name = task_name()
    spec = (await upload(svc, name, {"pairs": ("p.jsonl", PAIRS)})).json()["spec"]
    seen: list[str] = []

    async def record(msg: Msg) -> None:
        seen.append(msg.subject)

    watcher = await svc.bus.client.subscribe(">", cb=record)
    body = {"model": MODEL_ID, "tasks": [name, "BIOSSES"]}
    refused = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(other_key))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_task"
    assert "among your custom tasks" in refused.json()["error"]["message"]
    nowhere = await svc.api.post(
        "/v1/submissions", json=body | {"tasks": ["NoSuchTask"]}, headers=svc.auth(other_key)
    )
    assert nowhere.json()["error"]["message"] == refused.json()["error"]["message"].replace(
        name, "NoSuchTask"
    )

    accepted = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
    assert accepted.status_code == 202, accepted.text
    submission_id = accepted.json()["id"]
    await svc.bus.client.flush()
    await asyncio.sleep(0.5)
    await watcher.unsubscribe()
    mentioning = [subject for subject in seen if submission_id in subject]
    assert Subjects.accepted(submission_id, private=True) in mentioning
    assert Subjects.submission_status(submission_id, private=True) in mentioning
    outside = [s for s in mentioning if not s.startswith(("lb.private.", "lb.jobs."))]
    assert outside == []

    stored = await svc.store.get_submission(submission_id)
    assert stored is not None and stored.visibility == "private"
    job_msg = await svc.bus.js.get_last_msg(
        JOBS.name, Subjects.job(stored.priority, submission_id, name)
    )
    job = Job.model_validate_json(job_msg.data or b"")
    assert job.private and job.custom_task is not None
    assert job.custom_task.revision == spec["revision"]
    registry_job = await svc.bus.js.get_last_msg(
        JOBS.name, Subjects.job(stored.priority, submission_id, "BIOSSES")
    )
    assert Job.model_validate_json(registry_job.data or b"").custom_task is None
    with pytest.raises(NotFoundError):
        await svc.bus.js.get_last_msg(SUBMISSIONS.name, Subjects.accepted(submission_id))

    assert (await svc.api.get(f"/v1/submissions/{submission_id}", headers=svc.auth())).is_success
    admin = svc.auth(svc.admin_key)
    assert (await svc.api.get(f"/v1/submissions/{submission_id}", headers=admin)).is_success
    for headers in ({}, svc.auth(other_key)):
        read = await svc.api.get(f"/v1/submissions/{submission_id}", headers=headers)
        assert read.status_code == 404
        listed = await svc.api.get("/v1/submissions", params={"limit": 200}, headers=headers)
        assert submission_id not in [item["id"] for item in listed.json()["items"]]
        cancel = await svc.api.delete(f"/v1/submissions/{submission_id}", headers=headers)
        assert cancel.status_code in (401, 404)
    mine = await svc.api.get("/v1/submissions", params={"limit": 200}, headers=svc.auth())
    assert submission_id in [item["id"] for item in mine.json()["items"]]

    cancelled = await svc.api.delete(f"/v1/submissions/{submission_id}", headers=svc.auth())
    assert cancelled.status_code == 202
    found = await svc.bus.js.get_last_msg(
        PRIVATE.name, Subjects.cancelled(submission_id, private=True)
    )
    assert found.data


async def test_new_data_is_evaluated_again_the_same_data_is_a_duplicate(svc: Service) -> None:
    name = task_name()
    assert (await upload(svc, name, {"pairs": ("p.jsonl", PAIRS)})).status_code == 201
    body = {"model": MODEL_ID, "tasks": [name]}
    first = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
    assert first.status_code == 202, first.text
    again = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate"
    more = PAIRS + jsonl({"sentence1": "one", "sentence2": "two", "score": 1})
    assert (await upload(svc, name, {"pairs": ("p.jsonl", more)})).status_code == 201
    revised = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
    assert revised.status_code == 202, revised.text


async def test_an_upload_without_a_length_is_cut_at_the_cap(svc: Service) -> None:
    """Streamed in chunks (no Content-Length): refused once past the cap, nothing kept."""
    before = await traces(svc)
    boundary = "cut-at-the-cap"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n{task_name()}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nSTS\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="pairs"; filename="p.jsonl"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield head
        for _ in range(UPLOAD_CAP // 65536 + 2):
            yield b"x" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await svc.api.post(
        "/v1/tasks",
        content=chunks(),
        headers=svc.auth() | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "body_too_large"
    assert await traces(svc) == before


BIOSSES_METADATA = {"score_range": [0, 4], "description": "BIOSSES"}


async def test_a_task_from_a_hub_dataset_has_the_revision_of_the_same_folder_uploaded(
    svc: Service, datasets_dir: Path | None
) -> None:
    if datasets_dir is None:
        pytest.skip("no shared datasets")
    folder = datasets_dir / "BIOSSES"
    uploaded = await svc.api.post(
        "/v1/tasks",
        data={"name": task_name(), "type": "STS", "metadata": json.dumps(BIOSSES_METADATA)},
        files=[("data", (p.name, p.read_bytes())) for p in sorted(folder.iterdir())],
        headers=svc.auth(),
    )
    assert uploaded.status_code == 201, uploaded.text
    name = task_name()
    response = await svc.api.post(
        "/v1/tasks",
        data={
            "name": name,
            "type": "STS",
            "metadata": json.dumps(BIOSSES_METADATA),
            "hub_dataset": "hub-test/biosses",
            "hub_revision": "v1",
        },
        headers=svc.auth(),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["spec"]["revision"] == uploaded.json()["spec"]["revision"]
    assert created["source"] == {
        "hub_dataset": "hub-test/biosses",
        "hub_revision": "v1",
        "hub_commit": sha_of("dataset-biosses", "v1"),
    }
    stored = await svc.store.get_custom_task(name)
    assert stored is not None and stored.source is not None
    assert stored.source.hub_commit == sha_of("dataset-biosses", "v1")


HUB_REFUSED = [
    pytest.param("hub-test/nope", "main", 404, "dataset_not_found", id="unknown dataset"),
    pytest.param("hub-test/biosses", "nope", 404, "revision_not_found", id="unknown revision"),
    pytest.param("hub-test/secret-data", "main", 404, "dataset_not_found", id="private"),
    pytest.param("hub-test/gated-data", "main", 404, "dataset_not_found", id="gated"),
    pytest.param("../etc", "main", 422, "invalid_request", id="not a dataset id"),
    pytest.param("hub-test/biosses", "", 422, "invalid_request", id="no revision"),
]


@pytest.mark.parametrize(("dataset", "revision", "status", "code"), HUB_REFUSED)
async def test_a_hub_dataset_refused_leaves_nothing(
    svc: Service, dataset: str, revision: str, status: int, code: str
) -> None:
    before = await traces(svc)
    response = await svc.api.post(
        "/v1/tasks",
        data={
            "name": task_name(),
            "type": "STS",
            "metadata": json.dumps(BIOSSES_METADATA),
            "hub_dataset": dataset,
            "hub_revision": revision,
        },
        headers=svc.auth(),
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert await traces(svc) == before


async def test_a_hub_dataset_with_files_too_is_refused(svc: Service) -> None:
    response = await upload(
        svc,
        task_name(),
        {"pairs": ("pairs.jsonl", PAIRS)},
        hub_dataset="hub-test/biosses",
        hub_revision="main",
    )
    assert response.status_code == 422
    assert response.json()["error"] == {
        **response.json()["error"],
        "code": "invalid_request",
        "field": "hub_dataset",
    }
