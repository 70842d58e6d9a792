"""Checks a submission request, cheap to expensive, and pins the model revision."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx2
import mteb
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    GatedRepoError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from services.submission.refusals import Refusal, RefusalCode
from shared.events import SubmissionRequest, is_valid_model_id


@dataclass(frozen=True)
class ValidSubmission:
    """A request that passed every check, its revision pinned and its tasks resolved."""

    model: str
    revision: str
    requested_revision: str | None
    tasks: list[str]
    benchmark: str | None


def resolve_tasks(request: SubmissionRequest) -> list[str]:
    """The task names asked for, checked against mteb's registry, in order, without repeats."""
    if request.benchmark is not None:
        try:
            benchmark = mteb.get_benchmark(request.benchmark)
        except KeyError:
            raise Refusal(
                RefusalCode.UNKNOWN_BENCHMARK,
                f"no benchmark named {request.benchmark!r} in mteb's registry",
                "benchmark",
            ) from None
        return [task.metadata.name for task in benchmark.tasks]
    names: list[str] = []
    for name in request.tasks or []:
        try:
            mteb.get_task(name)
        except KeyError:
            raise Refusal(
                RefusalCode.UNKNOWN_TASK, f"no task named {name!r} in mteb's registry", "tasks"
            ) from None
        if name not in names:
            names.append(name)
    return names


def mirror_revision(model: str, folder: Path, requested: str | None) -> str:
    """The revision of a mirrored model: the requested one, mteb's registry's, or a content hash."""
    if requested:
        return requested
    try:
        known = mteb.get_model_meta(model).revision
    except KeyError:
        known = None
    if known:
        return known
    digest = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return f"local-{digest.hexdigest()}"


class ModelResolver:
    """Finds a model in the offline mirror or on the Hub and pins its revision."""

    def __init__(self, models_dir: Path | None, hub: HfApi | None = None) -> None:
        self.models_dir = models_dir
        self.hub = hub or HfApi()

    async def pin(self, model: str, revision: str | None) -> str:
        if self.models_dir is not None and (folder := self.models_dir / model).is_dir():
            return await asyncio.to_thread(mirror_revision, model, folder, revision)
        return await asyncio.to_thread(self._pin_on_hub, model, revision)

    def _pin_on_hub(self, model: str, revision: str | None) -> str:
        try:
            info = self.hub.model_info(model, revision=revision)
        except GatedRepoError:
            raise Refusal(RefusalCode.GATED_MODEL, f"{model} is gated", "model") from None
        except RevisionNotFoundError:
            raise Refusal(
                RefusalCode.REVISION_NOT_FOUND, f"{model} has no revision {revision!r}", "revision"
            ) from None
        except RepositoryNotFoundError:
            raise Refusal(RefusalCode.MODEL_NOT_FOUND, f"{model} not found", "model") from None
        except OfflineModeIsEnabled:
            raise Refusal(
                RefusalCode.MODEL_NOT_FOUND,
                f"{model} is not in the offline model mirror and the Hub is offline",
                "model",
            ) from None
        except (httpx2.TransportError, OSError) as error:  # huggingface_hub's HTTP client
            raise Refusal(
                RefusalCode.HUB_UNREACHABLE, f"the Hugging Face Hub is unreachable: {error}"
            ) from None
        if not info.sha:
            raise Refusal(RefusalCode.MODEL_NOT_FOUND, f"{model} has no commit", "model")
        return info.sha


async def validate(request: SubmissionRequest, resolver: ModelResolver) -> ValidSubmission:
    """Every check of DESIGN §3 this service makes; raises `Refusal` at the first failure."""
    if not is_valid_model_id(request.model):
        raise Refusal(
            RefusalCode.INVALID_MODEL_ID,
            f"{request.model!r} is not a model id of the form org/name",
            "model",
        )
    tasks = resolve_tasks(request)
    revision = await resolver.pin(request.model, request.revision)
    return ValidSubmission(
        model=request.model,
        revision=revision,
        requested_revision=request.revision,
        tasks=tasks,
        benchmark=request.benchmark,
    )
