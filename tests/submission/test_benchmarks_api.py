"""Custom benchmarks over HTTP (create, refusals, visibility, publish, delete, submitting one)
and "best models on my data" picking from a leaderboard built from the public results."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import mteb
import pytest

from services.submission.auth import create_key
from services.submission.best_models import unfit
from shared.documents import BenchmarkLeaderboardDoc, benchmark_leaderboard_id
from shared.summary.models import model_meta
from shared.summary.table import summarize
from tests.conftest import MODEL_ID
from tests.support.results_repo import RESULTS_CHECKOUT, result_rows
from tests.support.service import Service, hub_url, own_nats_url, service

__all__ = ["hub_url", "own_nats_url"]  # fixtures

REGISTRY = "MTEB(eng, v2)"
SEED_TASKS = ["BIOSSES", "STSBenchmark"]
PAIRS = "".join(
    json.dumps({"sentence1": f"s{i}", "sentence2": f"t{i}", "score": i % 5}) + "\n"
    for i in range(6)
).encode()


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
        tmp_path_factory.mktemp("benchmarks"),
        max_model_parameters=10**9,
        models_dir=models_dir,
        submissions_per_day=1000,
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def other_key(svc: Service) -> str:
    return await create_key(svc.store, "other")


async def make_task(svc: Service, visibility: str = "private", key: str | None = None) -> str:
    name = f"t{uuid.uuid4().hex[:10]}"
    response = await svc.api.post(
        "/v1/tasks",
        data={
            "name": name,
            "type": "STS",
            "metadata": json.dumps({"score_range": [0, 4]}),
            "visibility": visibility,
        },
        files=[("pairs", ("pairs.jsonl", PAIRS))],
        headers=svc.auth(key),
    )
    assert response.status_code == 201, response.text
    return name


async def make_benchmark(
    svc: Service, tasks: list[str], visibility: str = "private", key: str | None = None
) -> Any:
    body = {"name": f"b{uuid.uuid4().hex[:10]}", "tasks": tasks, "visibility": visibility}
    return await svc.api.post("/v1/benchmarks", json=body, headers=svc.auth(key))


async def test_a_benchmark_of_custom_and_registry_tasks(svc: Service, other_key: str) -> None:
    first, second = await make_task(svc), await make_task(svc)
    response = await make_benchmark(svc, [first, second, "BIOSSES", first])
    assert response.status_code == 201, response.text
    created = response.json()
    name = created["name"]
    assert created["tasks"] == [first, second, "BIOSSES"]
    assert created["visibility"] == "private" and created["owner"] == "user"
    assert (await svc.api.get(f"/v1/benchmarks/{name}", headers=svc.auth())).is_success
    for headers in ({}, svc.auth(other_key)):
        hidden = await svc.api.get(f"/v1/benchmarks/{name}", headers=headers)
        assert hidden.status_code == 404
        assert hidden.json()["error"]["code"] == "benchmark_not_found"
        listed = await svc.api.get("/v1/benchmarks", headers=headers)
        assert name not in [b["name"] for b in listed.json()]

    submitted = await svc.api.post(
        "/v1/submissions", json={"model": MODEL_ID, "benchmark": name}, headers=svc.auth()
    )
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["tasks"] == [first, second, "BIOSSES"]
    stored = await svc.store.get_submission(submitted.json()["id"])
    assert stored is not None and stored.visibility == "private"
    unseen = await svc.api.post(
        "/v1/submissions", json={"model": MODEL_ID, "benchmark": name}, headers=svc.auth(other_key)
    )
    assert unseen.status_code == 422 and unseen.json()["error"]["code"] == "unknown_benchmark"

    refused = await svc.api.post(f"/v1/benchmarks/{name}/publish", headers=svc.auth())
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "private_task_in_public_benchmark"
    for task in (first, second):
        assert (await svc.api.post(f"/v1/tasks/{task}/publish", headers=svc.auth())).is_success
    published = await svc.api.post(f"/v1/benchmarks/{name}/publish", headers=svc.auth())
    assert published.status_code == 200 and published.json()["visibility"] == "public"
    assert (await svc.api.get(f"/v1/benchmarks/{name}")).is_success

    forbidden = await svc.api.delete(f"/v1/benchmarks/{name}", headers=svc.auth(other_key))
    assert forbidden.status_code == 403
    deleted = await svc.api.delete(f"/v1/benchmarks/{name}", headers=svc.auth())
    assert deleted.status_code == 200 and deleted.json() == {"benchmark": name}
    assert await svc.store.get_custom_benchmark(name) is None
    assert await svc.store.get_custom_task(first) is not None  # its tasks stay


async def test_benchmark_refusals_store_nothing(svc: Service, other_key: str) -> None:
    mine, theirs = await make_task(svc), await make_task(svc, key=other_key)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"tasks": [mine], "visibility": "public"}, 422, "private_task_in_public_benchmark"),
        ({"tasks": ["NoSuchTask"]}, 422, "unknown_task"),
        ({"tasks": [theirs]}, 422, "unknown_task"),
        ({"tasks": [mine], "name": "BEIR"}, 422, "name_taken"),
        ({"tasks": []}, 422, "invalid_request"),
        ({"tasks": [mine], "name": "MTEB(eng, v2)"}, 422, "invalid_request"),
    ]
    before = await svc.store.custom_benchmarks_collection.count_documents({})
    for change, status, code in cases:
        body: dict[str, Any] = {"name": f"b{uuid.uuid4().hex[:10]}", "tasks": [mine]}
        body |= change
        response = await svc.api.post("/v1/benchmarks", json=body, headers=svc.auth())
        assert response.status_code == status, (change, response.text)
        assert response.json()["error"]["code"] == code, change
    assert await svc.store.custom_benchmarks_collection.count_documents({}) == before
    taken = await make_benchmark(svc, [mine])
    again = await svc.api.post(
        "/v1/benchmarks",
        json={"name": taken.json()["name"], "tasks": ["BIOSSES"]},
        headers=svc.auth(other_key),
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "benchmark_exists"


@pytest.fixture(scope="module")
async def seeded(svc: Service) -> BenchmarkLeaderboardDoc:
    """The registry benchmark's leaderboard over the public results of two of its tasks."""
    if not RESULTS_CHECKOUT.is_dir():
        pytest.skip("needs the public mteb results checkout")
    table = summarize(
        mteb.get_benchmark(REGISTRY),
        list(result_rows(set(SEED_TASKS))),
        model_meta,
        tasks=SEED_TASKS,
        bootstrap_resamples=0,
    )
    document = BenchmarkLeaderboardDoc(
        _id=benchmark_leaderboard_id(REGISTRY), name=REGISTRY, table=table.model_dump_json()
    )
    await svc.store.put_benchmark_leaderboard(document)
    return document


async def test_best_models_are_the_top_fit_rows_each_submitted(
    svc: Service, seeded: BenchmarkLeaderboardDoc
) -> None:
    task = await make_task(svc)
    cap = 400_000_000
    ranked = sorted(
        (row for row in seeded.table.rows if row.rank_borda is not None),
        key=lambda row: row.rank_borda or 0,
    )
    chosen: list[str] = []
    passed_over: dict[str, str] = {}
    for row in ranked:  # the top three fit models, by rank, and the unfit ones above them
        if len(chosen) == 3:
            break
        reason = unfit(row.model, row.n_parameters_b, cap)
        if reason is None:
            chosen.append(row.model)
        else:
            passed_over[row.model] = reason
    assert len(chosen) == 3 and passed_over
    response = await svc.api.post(
        f"/v1/tasks/{task}/best-models",
        json={"benchmark": REGISTRY, "top": 3, "max_parameters": cap, "priority": "low"},
        headers=svc.auth(),
    )
    assert response.status_code == 202, response.text
    answer = response.json()
    queued = [entry["model"] for entry in answer["submissions"]]
    skipped = {entry["model"]: entry["reason"] for entry in answer["skipped"]}
    assert {model: skipped[model] for model in passed_over} == passed_over
    refused = {model: reason for model, reason in skipped.items() if model not in passed_over}
    assert sorted(queued + list(refused)) == sorted(chosen)
    # the mirror holds MiniLM only; the others are refused by the normal intake, with its code
    assert set(refused.values()) <= {"model_not_found", "hub_unreachable"}
    assert (MODEL_ID in chosen) == (MODEL_ID in queued)
    for entry in answer["submissions"]:
        stored = await svc.store.get_submission(entry["submission_id"])
        assert stored is not None and stored.priority == "low"
        assert [progress.task for progress in stored.tasks] == [task]


async def test_best_models_of_a_chosen_list_and_refusals(svc: Service, other_key: str) -> None:
    task = await make_task(svc)
    response = await svc.api.post(
        f"/v1/tasks/{task}/best-models",
        json={"models": [MODEL_ID, "some-org/not-in-the-mirror"]},
        headers=svc.auth(),
    )
    assert response.status_code == 202, response.text
    answer = response.json()
    assert [entry["model"] for entry in answer["submissions"]] == [MODEL_ID]
    assert answer["skipped"] == [
        {"model": "some-org/not-in-the-mirror", "reason": "model_not_found"}
    ]
    hidden = await svc.api.post(
        f"/v1/tasks/{task}/best-models", json={"models": [MODEL_ID]}, headers=svc.auth(other_key)
    )
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "task_not_found"
    unknown = await svc.api.post(
        f"/v1/tasks/{task}/best-models", json={"benchmark": "Nope(v9)"}, headers=svc.auth()
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_benchmark"
    fresh = await make_task(svc)  # `task` is queued for MiniLM already
    benchmark = (await make_benchmark(svc, [fresh, "STS12"])).json()["name"]
    on_benchmark = await svc.api.post(
        f"/v1/benchmarks/{benchmark}/best-models",
        json={"models": [MODEL_ID], "priority": "low"},
        headers=svc.auth(),
    )
    assert on_benchmark.status_code == 202, on_benchmark.text
    [entry] = on_benchmark.json()["submissions"]
    stored = await svc.store.get_submission(entry["submission_id"])
    assert stored is not None and stored.benchmark == benchmark
    assert [progress.task for progress in stored.tasks] == [fresh, "STS12"]
