"""The submission pipeline over HTTP against a fake Hub: every refusal, duplicates, rate limits,
private models and their token, on a real nats-server and the Mongo-wire server."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.js.errors import NotFoundError

from shared.bus import JOBS, SUBMISSIONS, Bus
from shared.documents import ResultDoc, SubmissionDoc, SubmissionStatus
from shared.embedded import executable, free_port, start_nats, stop, wait_for_port
from shared.events import (
    Job,
    Subjects,
    SubmissionAccepted,
    SubmissionStatusChanged,
    TaskState,
    utcnow,
)
from shared.secrets import open_token
from tests.conftest import MODEL_ID
from tests.support.hub_server import GATED_TOKEN, ORG, PRIVATE_TOKEN, SMALL_PARAMETERS, sha_of
from tests.support.service import Service, hub_url, own_nats_url, service, serving

__all__ = ["hub_url", "own_nats_url"]  # fixtures


@pytest.fixture(scope="module")
async def svc(
    own_nats_url: str,
    mongodb_url: str,
    hub_url: str,
    models_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Service]:
    folder = tmp_path_factory.mktemp("intake")
    async with service(
        own_nats_url,
        mongodb_url,
        hub_url,
        folder,
        max_model_parameters=10**9,
        models_dir=models_dir,
    ) as running:
        yield running


def hub(name: str) -> str:
    return f"{ORG}/{name}"


REFUSALS = [
    pytest.param({"model": "bad id", "tasks": ["BIOSSES"]}, 422, "invalid_model_id", id="id"),
    pytest.param({"model": hub("public"), "tasks": ["Nope"]}, 422, "unknown_task", id="task"),
    pytest.param({"model": hub("public"), "benchmark": "Nope"}, 422, "unknown_benchmark", id="bm"),
    pytest.param({"model": hub("public")}, 422, "invalid_request", id="shape"),
    pytest.param({"model": hub("missing"), "tasks": ["BIOSSES"]}, 404, "model_not_found", id="404"),
    pytest.param(
        {"model": hub("private"), "tasks": ["BIOSSES"]}, 404, "model_not_found", id="private-hidden"
    ),
    pytest.param(
        {"model": hub("public"), "revision": "nope", "tasks": ["BIOSSES"]},
        404,
        "revision_not_found",
        id="revision",
    ),
    pytest.param({"model": hub("gated"), "tasks": ["BIOSSES"]}, 403, "gated_model", id="gated"),
    pytest.param(
        {"model": hub("disabled"), "tasks": ["BIOSSES"]}, 403, "disabled_model", id="disabled"
    ),
    pytest.param({"model": hub("no-weights"), "tasks": ["BIOSSES"]}, 422, "no_weights", id="nowt"),
    pytest.param({"model": hub("ten-billion"), "tasks": ["BIOSSES"]}, 422, "too_large", id="10B"),
    pytest.param(
        {"model": hub("not-st"), "tasks": ["BIOSSES"]}, 422, "not_sentence_transformers", id="st"
    ),
    pytest.param(
        {"model": hub("remote-code"), "tasks": ["BIOSSES"]},
        422,
        "trust_remote_code_required",
        id="remote-code",
    ),
    pytest.param(
        {"model": hub("no-license"), "tasks": ["BIOSSES"]}, 422, "license_missing", id="license"
    ),
]


async def stored_count(svc: Service) -> int:
    return await svc.store.submissions.count_documents({})


@pytest.mark.parametrize(("body", "status", "code"), REFUSALS)
async def test_refusal_is_typed_and_leaves_no_trace(
    svc: Service, body: dict[str, Any], status: int, code: str
) -> None:
    stored, published = await stored_count(svc), await svc.published()
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert await stored_count(svc) == stored
    assert await svc.published() == published


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer lb_not-a-key"}, {"Authorization": "Basic dXNlcjpwdw=="}],
    ids=["none", "unknown", "basic"],
)
async def test_submitting_needs_a_known_key(svc: Service, headers: dict[str, str]) -> None:
    published = await svc.published()
    body = {"model": hub("public"), "tasks": ["BIOSSES"]}
    response = await svc.api.post("/v1/submissions", json=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    assert await svc.published() == published


async def test_revoked_key_is_refused(svc: Service) -> None:
    from services.submission.auth import create_key

    key = await create_key(svc.store, "soon-revoked")
    assert await svc.store.revoke_api_key("soon-revoked")
    body = {"model": hub("public"), "tasks": ["BIOSSES"]}
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(key))
    assert response.json()["error"]["code"] == "unauthorized"


async def last_event(bus: Bus, subject: str) -> bytes:
    return (await bus.js.get_last_msg(SUBMISSIONS.name, subject)).data or b""


async def test_branch_is_pinned_and_card_facts_are_kept(svc: Service) -> None:
    body = {"model": hub("public"), "revision": "v1", "tasks": ["BIOSSES"]}
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["revision"] == sha_of("public", "v1")
    stored = (await svc.api.get(f"/v1/submissions/{created['id']}")).json()
    assert stored["requested_revision"] == "v1"
    assert stored["submitted_by"] == "user"
    assert stored["facts"] == {
        "parameters": SMALL_PARAMETERS,
        "embed_dim": 256,
        "max_tokens": 128,
        "embedding_parameters": 1000 * 384,
        "release_date": "2023-05-17",
        "license": "mit",
        "languages": ["en", "de"],
        "base_model": ["org/base"],
        "private": False,
        "source": "hub",
    }
    accepted = SubmissionAccepted.model_validate_json(
        await last_event(svc.bus, Subjects.accepted(created["id"]))
    )
    assert accepted.revision == sha_of("public", "v1")
    transition = SubmissionStatusChanged.model_validate_json(
        await last_event(svc.bus, Subjects.submission_status(created["id"]))
    )
    assert transition.status == "accepted"
    recorded = datetime.fromisoformat(stored["history"][0]["at"].replace("Z", "+00:00"))
    assert abs(transition.at - recorded) < timedelta(milliseconds=1)  # the store keeps ms


async def test_a_sha_revision_is_taken_as_is(svc: Service) -> None:
    sha = sha_of("another", "v1")
    body = {"model": hub("another"), "revision": sha, "tasks": ["BIOSSES"]}
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    assert response.status_code == 202, response.text
    assert response.json()["revision"] == sha


async def test_duplicate_answers_the_existing_id_and_accepts_new_tasks(svc: Service) -> None:
    first = await svc.api.post(
        "/v1/submissions",
        json={"model": hub("another"), "tasks": ["BIOSSES"]},
        headers=svc.auth(svc.admin_key),
    )
    assert first.status_code == 202, first.text
    first_id = first.json()["id"]

    again = await svc.api.post(
        "/v1/submissions",
        json={"model": hub("another"), "revision": "main", "tasks": ["BIOSSES"]},
        headers=svc.auth(svc.admin_key),
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "duplicate"
    assert again.json()["error"]["submission_id"] == first_id

    wider = await svc.api.post(
        "/v1/submissions",
        json={"model": hub("another"), "tasks": ["BIOSSES", "STSBenchmark"]},
        headers=svc.auth(svc.admin_key),
    )
    assert wider.status_code == 202, wider.text
    assert wider.json()["tasks"] == ["STSBenchmark"]
    assert wider.json()["duplicates"] == {"BIOSSES": first_id}


async def test_duplicates_of_imported_results_name_those_results(svc: Service) -> None:
    model, sha = hub("another"), sha_of("another", "v1")
    imported = ResultDoc(
        _id=f"imported-{sha[:8]}-STS15",
        model=model,
        revision=sha,
        task="STS15",
        main_score=0.5,
        evaluated_at=utcnow(),
        source="import",
        source_file="results/another/STS15.json",
    )
    await svc.store.upsert_result(imported)
    body = {"model": model, "revision": sha, "tasks": ["STS15"]}
    covered = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    assert covered.status_code == 409, covered.text
    error = covered.json()["error"]
    assert error["code"] == "duplicate" and "submission_id" not in error  # no submission holds it
    assert "imported result" in error["message"]

    body["tasks"] = ["STS15", "STS16"]
    partly = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    assert partly.status_code == 202, partly.text
    assert partly.json()["tasks"] == ["STS16"]
    assert partly.json()["duplicates"] == {"STS15": f"result:{imported.id}"}


async def test_two_identical_submissions_at_once_make_one(svc: Service) -> None:
    body = {"model": hub("public"), "tasks": ["STS12", "STS13"]}
    answers = await asyncio.gather(
        *(
            svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
            for _ in range(4)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(202) == 1, [answer.text for answer in answers]
    winner = next(answer.json() for answer in answers if answer.status_code == 202)
    assert sorted(winner["tasks"]) == ["STS12", "STS13"]
    for answer in answers:
        if answer.status_code != 202:
            assert answer.status_code == 409
            assert answer.json()["error"]["submission_id"] == winner["id"]
    assert (
        await svc.store.submissions.count_documents({"model": hub("public"), "tasks.task": "STS12"})
        == 1
    )


async def test_a_failed_task_may_be_submitted_again(svc: Service) -> None:
    body = {"model": hub("public"), "tasks": ["STS14"]}
    first = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    first_id = first.json()["id"]

    def fail(doc: SubmissionDoc) -> None:
        doc.tasks[0].state = TaskState.FAILED
        doc.set_status(SubmissionStatus.FAILED, "failed tasks: STS14")

    await svc.store.update_submission(first_id, fail)
    again = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    assert again.status_code == 202, again.text
    assert again.json()["id"] != first_id


async def test_rate_limit_is_429_with_retry_after_and_survives_a_restart(
    svc: Service, hub_url: str
) -> None:
    from services.submission.auth import create_key

    key = await create_key(svc.store, "limited")
    body = {"model": hub("no-license"), "tasks": ["BIOSSES"]}  # refused later: still counted
    for _ in range(svc.settings.submissions_per_day):
        response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(key))
        assert response.json()["error"]["code"] == "license_missing"
    async with serving(svc.settings, svc.hub) as (_, restarted):  # a second process, same store
        response = await restarted.post("/v1/submissions", json=body, headers=svc.auth(key))
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 86_401
    admin = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    assert admin.json()["error"]["code"] == "license_missing"  # admin keys are not limited


async def stream_payloads(bus: Bus, stream: str) -> list[bytes]:
    info = await bus.js.stream_info(stream)
    payloads = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await bus.js.get_msg(stream, seq)
        except NotFoundError:
            continue
        payloads.append((msg.data or b"") + repr(msg.headers).encode())
    return payloads


async def test_private_model_token_is_sealed_for_evaluators_and_never_shown(
    svc: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"model": hub("private"), "tasks": ["BIOSSES"], "hf_token": PRIVATE_TOKEN}
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
    assert response.status_code == 202, response.text
    submission_id = response.json()["id"]
    job = Job.model_validate_json(
        (await svc.bus.js.get_last_msg(JOBS.name, f"lb.jobs.normal.{submission_id}.BIOSSES")).data
        or b""
    )
    assert job.sealed_token is not None
    assert open_token(job.sealed_token, svc.settings.secret_key_file) == PRIVATE_TOKEN
    shown = [response.text, (await svc.api.get(f"/v1/submissions/{submission_id}")).text]
    shown.append((await svc.api.get("/v1/submissions", params={"limit": 200})).text)
    for stream in (SUBMISSIONS.name, JOBS.name):
        shown.extend(
            payload.decode(errors="replace") for payload in await stream_payloads(svc.bus, stream)
        )
    shown.extend([str(doc) async for doc in svc.store.submissions.find({})])
    shown.append(caplog.text)
    assert not [text for text in shown if PRIVATE_TOKEN in text]


async def test_gated_model_is_taken_with_a_token_that_has_access(svc: Service) -> None:
    body = {"model": hub("gated"), "tasks": ["BIOSSES"], "hf_token": GATED_TOKEN}
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
    assert response.status_code == 202, response.text
    job = Job.model_validate_json(
        (
            await svc.bus.js.get_last_msg(
                JOBS.name, f"lb.jobs.normal.{response.json()['id']}.BIOSSES"
            )
        ).data
        or b""
    )
    assert job.sealed_token is None  # a gated model is not private: the token is not kept


async def test_private_model_needs_a_token_and_a_secret_key(
    own_nats_url: str, mongodb_url: str, hub_url: str, tmp_path: Path
) -> None:
    body = {"model": hub("private"), "tasks": ["BIOSSES"], "hf_token": PRIVATE_TOKEN}
    async with service(own_nats_url, mongodb_url, hub_url, tmp_path, secret_key_file=None) as svc:
        published = await svc.published()
        response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "private_model"
        assert PRIVATE_TOKEN not in response.text
        assert await svc.published() == published


async def test_mirrored_model_needs_no_hub(svc: Service) -> None:
    body = {"model": MODEL_ID, "tasks": ["BIOSSES"]}
    response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth(svc.admin_key))
    assert response.status_code == 202, response.text


async def test_bus_outage_is_503_and_nothing_is_stored(
    own_nats_url: str, mongodb_url: str, hub_url: str, tmp_path: Path
) -> None:
    async with service(own_nats_url, mongodb_url, hub_url, tmp_path) as svc:
        intake = svc.intake
        await intake.bus.client.close()
        health = await svc.api.get("/healthz")
        assert health.status_code == 503
        assert health.json()["bus"] == "down"
        body = {"model": hub("public"), "tasks": ["BIOSSES"]}
        response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "bus_unavailable"
        assert await svc.store.submissions.count_documents({}) == 0  # refused before storing


async def test_store_outage_is_503(
    own_nats_url: str, mongodb_url: str, hub_url: str, tmp_path: Path
) -> None:
    async with service(own_nats_url, mongodb_url, hub_url, tmp_path) as svc:
        intake = svc.intake
        await intake.store.client.close()
        published = await svc.published()
        body = {"model": hub("public"), "tasks": ["BIOSSES"]}
        response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "store_unavailable"
        assert await svc.published() == published


def restart_nats(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """nats-server again on `port`, which its predecessor's connections may still hold."""
    arguments = ["-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(folder)]
    process = subprocess.Popen([executable("nats-server"), *arguments], stderr=subprocess.DEVNULL)
    wait_for_port(port, process)
    return process


async def test_a_submission_refused_for_the_bus_emits_nothing_when_it_is_back(
    mongodb_url: str, hub_url: str, tmp_path: Path
) -> None:
    """NATS down: `bus_unavailable`, and nothing of that submission is published afterwards."""
    port = free_port()
    nats = start_nats(tmp_path / "nats", port)
    url = f"nats://127.0.0.1:{port}"
    try:
        async with service(url, mongodb_url, hub_url, tmp_path) as svc:
            stop(nats)
            async with asyncio.timeout(30):
                while svc.intake.bus.client.is_connected:
                    await asyncio.sleep(0.1)
            body = {"model": hub("public"), "tasks": ["BIOSSES"]}
            response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
            assert response.json()["error"]["code"] == "bus_unavailable", response.text
            nats = restart_nats(tmp_path / "nats", port)
            async with asyncio.timeout(60):
                while not svc.intake.bus.client.is_connected:
                    await asyncio.sleep(0.1)
            await svc.intake.bus.client.flush()
            await asyncio.sleep(1.0)
            (stored,) = [doc["_id"] async for doc in svc.store.submissions.find()]
            for subject in (Subjects.accepted(stored), f"lb.jobs.normal.{stored}.BIOSSES"):
                stream = SUBMISSIONS if subject.startswith("lb.submissions") else JOBS
                with pytest.raises(NotFoundError):
                    await svc.bus.js.get_last_msg(stream.name, subject)
    finally:
        stop(nats)
