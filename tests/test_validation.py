"""Submission checks: task and benchmark names, model mirror and Hub pinning."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import HfApi

from services.submission.refusals import Refusal, RefusalCode
from services.submission.validation import ModelResolver, resolve_tasks, validate
from shared.embedded import free_port
from shared.events import SubmissionRequest
from tests.conftest import MODEL_ID


def refusal_code(error: pytest.ExceptionInfo[Refusal]) -> RefusalCode:
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
    revision = await ModelResolver(models_dir).pin(MODEL_ID, None)
    assert revision == "8b3219a92973c328a8e22fadcfa821b5dc75636a"
    assert await ModelResolver(models_dir).pin(MODEL_ID, "v1.0") == "v1.0"


async def test_mirrored_unknown_model_is_pinned_to_its_content(tmp_path: Path) -> None:
    folder = tmp_path / "org" / "model"
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    first = await ModelResolver(tmp_path).pin("org/model", None)
    assert first.startswith("local-")
    assert await ModelResolver(tmp_path).pin("org/model", None) == first
    (folder / "modules.json").write_text("[{}]")
    assert await ModelResolver(tmp_path).pin("org/model", None) != first


async def test_unreachable_hub_is_a_typed_refusal(tmp_path: Path) -> None:
    dead_hub = HfApi(endpoint=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(Refusal) as error:
        await ModelResolver(tmp_path, dead_hub).pin("org/model", None)
    assert refusal_code(error) == RefusalCode.HUB_UNREACHABLE
    assert error.value.status_code == 503


async def test_malformed_model_id_is_refused_before_anything_else(tmp_path: Path) -> None:
    with pytest.raises(Refusal) as error:
        await validate(SubmissionRequest(model="bad id", tasks=["Nope"]), ModelResolver(tmp_path))
    assert refusal_code(error) == RefusalCode.INVALID_MODEL_ID
