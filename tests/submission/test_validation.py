"""Submission checks: task and benchmark names, model mirror and Hub pinning."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import HfApi
from safetensors import safe_open

from services.submission.refusals import Refusal, RefusalCode
from services.submission.validation import (
    ModelResolver,
    Policy,
    check_model,
    check_request,
    describe_mirror,
    resolve_tasks,
)
from shared.embedded import free_port
from shared.events import SubmissionRequest
from tests.conftest import MODEL_ID


def refusal_code(error: pytest.ExceptionInfo[Refusal]) -> RefusalCode | str:
    return error.value.detail.code


def test_tasks_resolve_in_order_without_repeats() -> None:
    request = SubmissionRequest(model="a/b", tasks=["STSBenchmark", "BIOSSES", "STSBenchmark"])
    assert resolve_tasks(request) == ["STSBenchmark", "BIOSSES"]


def test_benchmark_resolves_to_its_tasks() -> None:
    tasks = resolve_tasks(SubmissionRequest(model="a/b", benchmark="MTEB(eng, v2)"))
    assert len(tasks) == 41
    assert "BIOSSES" in tasks


def test_unknown_names_are_refused() -> None:
    with pytest.raises(Refusal) as error:
        resolve_tasks(SubmissionRequest(model="a/b", tasks=["Nope"]))
    assert refusal_code(error) == RefusalCode.UNKNOWN_TASK
    with pytest.raises(Refusal) as error:
        resolve_tasks(SubmissionRequest(model="a/b", benchmark="Nope"))
    assert refusal_code(error) == RefusalCode.UNKNOWN_BENCHMARK


async def test_mirrored_registry_model_is_pinned_to_the_registry_revision(models_dir: Path) -> None:
    described = await ModelResolver(models_dir).describe(MODEL_ID, None)
    assert described.sha == "8b3219a92973c328a8e22fadcfa821b5dc75636a"
    assert described.source == "mirror"
    assert described.sentence_transformers and not described.remote_code
    assert (await ModelResolver(models_dir).describe(MODEL_ID, "v1.0")).sha == "v1.0"


async def test_mirrored_model_parameters_come_from_its_safetensors_header(
    models_dir: Path,
) -> None:
    resolver = ModelResolver(models_dir)
    parameters = await resolver.parameters(MODEL_ID, await resolver.describe(MODEL_ID, None))
    with safe_open(models_dir / MODEL_ID / "model.safetensors", framework="numpy") as weights:
        loaded = sum(weights.get_tensor(name).size for name in weights.keys())  # noqa: SIM118
    assert parameters == loaded
    assert 22_000_000 < loaded < 23_000_000  # all-MiniLM-L6-v2's 22.7M


async def test_mirrored_unknown_model_is_pinned_to_its_content(tmp_path: Path) -> None:
    folder = tmp_path / "org" / "model"
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    first = (await ModelResolver(tmp_path).describe("org/model", None)).sha
    assert first.startswith("local-")
    assert (await ModelResolver(tmp_path).describe("org/model", None)).sha == first
    (folder / "modules.json").write_text("[{}]")
    assert (await ModelResolver(tmp_path).describe("org/model", None)).sha != first


async def test_unreachable_hub_is_a_typed_refusal(tmp_path: Path) -> None:
    dead_hub = HfApi(endpoint=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(Refusal) as error:
        await ModelResolver(tmp_path, dead_hub).describe("org/model", None)
    assert refusal_code(error) == RefusalCode.HUB_UNREACHABLE
    assert error.value.status_code == 503


def test_malformed_model_id_is_refused_before_the_task_names() -> None:
    with pytest.raises(Refusal) as error:
        check_request(SubmissionRequest(model="bad id", tasks=["Nope"]))
    assert refusal_code(error) == RefusalCode.INVALID_MODEL_ID


def test_remote_code_in_a_mirrored_model_is_seen(tmp_path: Path) -> None:
    folder = tmp_path / "org" / "custom"
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    (folder / "config.json").write_text('{"auto_map": {"AutoModel": "modeling.Model"}}')
    described = describe_mirror("org/custom", folder, "r1")
    policy = Policy(max_parameters=10, allow_trust_remote_code=False, require_license=True)
    with pytest.raises(Refusal) as error:
        check_model("org/custom", described, None, policy)
    assert refusal_code(error) == RefusalCode.TRUST_REMOTE_CODE_REQUIRED
    allowed = Policy(max_parameters=10, allow_trust_remote_code=True, require_license=True)
    check_model("org/custom", described, None, allowed)  # no license asked of a mirrored model
    with pytest.raises(Refusal) as error:
        check_model("org/custom", described, 11, allowed)
    assert refusal_code(error) == RefusalCode.TOO_LARGE
