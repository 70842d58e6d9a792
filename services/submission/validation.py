"""Checks a submission request, cheap to expensive, and pins the model revision (DESIGN §3)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import mteb
from huggingface_hub import HfApi

from services.submission.hub import Hub, ModelDescription
from services.submission.model_files import (
    ModelDetails,
    card_facts,
    config_details,
    folder_card,
    folder_reader,
)
from services.submission.refusals import Refusal, RefusalCode
from shared.custom_tasks.catalogue import Catalogue
from shared.custom_tasks.spec import TaskSpec
from shared.events import SubmissionRequest, Visibility, is_valid_model_id
from shared.paths import confined
from shared.settings import Settings
from shared.summary.models import registered


@dataclass(frozen=True)
class Policy:
    """The operator's choices about which models are taken."""

    max_parameters: int
    allow_trust_remote_code: bool
    require_license: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            max_parameters=settings.max_model_parameters,
            allow_trust_remote_code=settings.allow_trust_remote_code,
            require_license=settings.require_license,
        )


def in_registry(name: str) -> bool:
    """Whether `name` is a task of mteb's registry."""
    try:
        mteb.get_task(name)
    except (KeyError, ValueError):
        return False
    return True


def custom_benchmark_tasks(name: str, visible: Catalogue) -> list[str]:
    """The tasks of custom benchmark `name`, which the caller must be able to see."""
    custom = visible.benchmarks.get(name)
    if custom is None:
        raise Refusal(
            RefusalCode.UNKNOWN_BENCHMARK,
            f"no benchmark named {name!r} in mteb's registry or among your custom benchmarks",
            "benchmark",
        )
    return list(custom.tasks)


def resolve_tasks(request: SubmissionRequest, visible: Catalogue | None = None) -> list[str]:
    """The task names asked for, in order, without repeats: mteb's registry's, or custom tasks
    in `visible` (those the caller may see). A task the caller may not see is unknown to it:
    the message is the same as for a name that exists nowhere."""
    visible = visible or Catalogue()
    if request.benchmark:
        try:  # a registry benchmark's tasks are the registry's
            return [task.metadata.name for task in mteb.get_benchmark(request.benchmark).tasks]
        except (KeyError, ValueError):
            pass
    names = (
        custom_benchmark_tasks(request.benchmark, visible) if request.benchmark else request.tasks
    )
    resolved: list[str] = []
    for name in names or []:
        if name not in visible.tasks and not in_registry(name):
            raise Refusal(
                RefusalCode.UNKNOWN_TASK,
                f"no task named {name!r} in mteb's registry or among your custom tasks",
                "tasks",
            )
        if name not in resolved:
            resolved.append(name)
    return resolved


def check_request(request: SubmissionRequest, visible: Catalogue | None = None) -> list[str]:
    """Step 1 without the network: the model id's syntax, then the task names."""
    if not is_valid_model_id(request.model):
        raise Refusal(
            RefusalCode.INVALID_MODEL_ID,
            f"{request.model!r} is not a model id of the form org/name",
            "model",
        )
    return resolve_tasks(request, visible)


def custom_tasks_of(tasks: list[str], visible: Catalogue) -> dict[str, TaskSpec]:
    """The custom tasks among `tasks` (registry names win), each with its current definition."""
    return {
        name: visible.tasks[name].spec
        for name in tasks
        if name in visible.tasks and not in_registry(name)
    }


def is_private(request: SubmissionRequest, tasks: list[str], visible: Catalogue) -> bool:
    """Whether a submission of `tasks` is private: it holds a private custom task, or names a
    private custom benchmark."""
    named = [visible.benchmarks.get(request.benchmark)] if request.benchmark else []
    entries = [*(visible.tasks.get(name) for name in tasks), *named]
    return any(entry is not None and entry.visibility is Visibility.PRIVATE for entry in entries)


def mirror_revision(model: str, folder: Path, requested: str | None) -> str:
    """The revision of a mirrored model: the requested one, mteb's registry's, or a content hash."""
    if requested:
        return requested
    entry = registered(model)
    if entry is not None and entry.revision:
        return entry.revision
    digest = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return f"local-{digest.hexdigest()}"


def describe_mirror(model: str, folder: Path, requested: str | None) -> ModelDescription:
    """A mirrored model described as the Hub would: files, remote code, its card's metadata."""
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    card = card_facts(folder_card(folder))
    return ModelDescription(
        sha=mirror_revision(model, folder, requested),
        private=False,
        files=frozenset(path.name for path in folder.iterdir()),
        remote_code=isinstance(config, dict) and "auto_map" in config,
        license=card.license,
        languages=card.languages,
        base_model=card.base_model,
        source="mirror",
    )


def safetensors_parameters(path: Path) -> int:
    """The parameter count a safetensors file's header declares."""
    with path.open("rb") as file:
        (size,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(size))
    return sum(
        math.prod(tensor["shape"]) for name, tensor in header.items() if name != "__metadata__"
    )


class ModelResolver:
    """Finds a model in the offline mirror or on the Hub, pins its revision, counts parameters."""

    def __init__(self, models_dir: Path | None, hub: HfApi | None = None) -> None:
        self.models_dir = models_dir
        self.hub = Hub(hub)

    def mirror_folder(self, model: str) -> Path | None:
        if self.models_dir is not None and (folder := confined(self.models_dir, model)).is_dir():
            return folder
        return None

    async def describe(
        self, model: str, revision: str | None, token: str | None = None
    ) -> ModelDescription:
        """Step 2: the model at a pinned commit (mirror first; the Hub is not asked then)."""
        if folder := self.mirror_folder(model):
            return await asyncio.to_thread(describe_mirror, model, folder, revision)
        return await asyncio.to_thread(self.hub.describe, model, revision, token)

    async def parameters(
        self, model: str, described: ModelDescription, token: str | None = None
    ) -> int | None:
        """Step 4: the parameter count from the safetensors header (None: mirror without one)."""
        if folder := self.mirror_folder(model):
            weights = folder / "model.safetensors"
            return (
                await asyncio.to_thread(safetensors_parameters, weights)
                if weights.is_file()
                else None
            )
        return await asyncio.to_thread(self.hub.parameters, model, described.sha, token)

    async def details(
        self, model: str, described: ModelDescription, token: str | None = None
    ) -> ModelDetails:
        """The sizes the model's configuration declares; its release date (Hub models only)."""
        if folder := self.mirror_folder(model):
            return await asyncio.to_thread(config_details, model, folder_reader(folder))
        return await asyncio.to_thread(self.hub.details, model, described, token)


def check_model(
    model: str, described: ModelDescription, parameters: int | None, policy: Policy
) -> None:
    """Steps 4 and 5: size cap, sentence-transformers files, remote code, license."""
    if parameters is not None and parameters > policy.max_parameters:
        raise Refusal(
            RefusalCode.TOO_LARGE,
            f"{model} has {parameters:,} parameters; this leaderboard takes at most "
            f"{policy.max_parameters:,}",
            "model",
        )
    if not described.sentence_transformers:
        raise Refusal(
            RefusalCode.NOT_SENTENCE_TRANSFORMERS,
            f"{model} has neither modules.json nor config_sentence_transformers.json",
            "model",
        )
    if described.remote_code and not policy.allow_trust_remote_code:
        raise Refusal(
            RefusalCode.TRUST_REMOTE_CODE_REQUIRED,
            f"{model} needs trust_remote_code, which this leaderboard does not allow",
            "model",
        )
    if policy.require_license and described.source == "hub" and not described.license:
        raise Refusal(
            RefusalCode.LICENSE_MISSING, f"{model}'s model card declares no license", "model"
        )
