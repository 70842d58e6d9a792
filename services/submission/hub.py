"""What the Hugging Face Hub says about a model, each failure of a check turned into a typed
refusal (what is only recorded, sizes and release date, stays unknown instead)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    NotASafetensorsRepoError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    SafetensorsParsingError,
)

from services.submission.model_files import ModelDetails, card_facts, config_details, json_of
from services.submission.refusals import Refusal, RefusalCode

log = logging.getLogger(__name__)

T = TypeVar("T")

HUB_FAILURES = (HfHubHTTPError, httpx2.TransportError, OSError)
"""What a failed Hub call raises, after the errors that mean something of the model."""

SENTENCE_TRANSFORMERS_FILES = ("modules.json", "config_sentence_transformers.json")


@dataclass(frozen=True)
class ModelDescription:
    """A model at a pinned commit: visibility, files, and its card's metadata."""

    sha: str
    private: bool
    files: frozenset[str]
    remote_code: bool
    license: str | None
    languages: list[str]
    base_model: list[str]
    source: str = "hub"

    @property
    def sentence_transformers(self) -> bool:
        return any(name in self.files for name in SENTENCE_TRANSFORMERS_FILES)


@contextmanager
def hub_refusals(model: str, revision: str | None) -> Iterator[None]:
    """Turn the Hub's errors into the refusal each stands for."""
    try:
        yield
    except GatedRepoError:  # a RepositoryNotFoundError too: first
        raise Refusal(
            RefusalCode.GATED_MODEL, f"{model} is gated and the token given has no access", "model"
        ) from None
    except DisabledRepoError:
        raise Refusal(
            RefusalCode.DISABLED_MODEL, f"{model} is disabled on the Hub", "model"
        ) from None
    except RevisionNotFoundError:
        raise Refusal(
            RefusalCode.REVISION_NOT_FOUND, f"{model} has no revision {revision!r}", "revision"
        ) from None
    except RepositoryNotFoundError:
        raise Refusal(
            RefusalCode.MODEL_NOT_FOUND,
            f"{model} not found (or private, and no `hf_token` that can read it was given)",
            "model",
        ) from None
    except OfflineModeIsEnabled:
        raise Refusal(
            RefusalCode.MODEL_NOT_FOUND,
            f"{model} is not in the offline model mirror and the Hub is offline",
            "model",
        ) from None
    except (NotASafetensorsRepoError, SafetensorsParsingError):
        raise Refusal(
            RefusalCode.NO_WEIGHTS,
            f"{model} has no readable safetensors weights (model.safetensors or its index)",
            "model",
        ) from None
    except HUB_FAILURES as error:
        raise Refusal(
            RefusalCode.HUB_UNREACHABLE, f"the Hugging Face Hub failed: {type(error).__name__}"
        ) from None


class Hub:
    """The Hub calls validation makes, with the submitter's token when one is given."""

    def __init__(self, api: HfApi | None = None) -> None:
        self.api = api or HfApi()

    def describe(self, model: str, revision: str | None, token: str | None) -> ModelDescription:
        """`model_info` at `revision`, pinned to its commit; gated access is tried."""
        with hub_refusals(model, revision):
            info = self.api.model_info(model, revision=revision, token=token or None)
            if info.disabled:
                raise Refusal(
                    RefusalCode.DISABLED_MODEL, f"{model} is disabled on the Hub", "model"
                )
            if not info.sha:
                raise Refusal(RefusalCode.MODEL_NOT_FOUND, f"{model} has no commit", "model")
            files = frozenset(sibling.rfilename for sibling in info.siblings or [])
            if info.gated and files:
                self.api.file_exists(model, min(files), revision=info.sha, token=token or None)
        config: dict[str, Any] = info.config or {}
        card = card_facts(info.card_data)
        return ModelDescription(
            sha=info.sha,
            private=bool(info.private),
            files=files,
            remote_code="auto_map" in config or "custom_code" in (info.tags or []),
            license=card.license,
            languages=card.languages,
            base_model=card.base_model,
        )

    def parameters(self, model: str, sha: str, token: str | None) -> int:
        """The parameter count from the safetensors header(s), no weights downloaded."""
        with hub_refusals(model, sha):
            metadata = self.api.get_safetensors_metadata(model, revision=sha, token=token or None)
        return sum(metadata.parameter_count.values())

    def details(self, model: str, described: ModelDescription, token: str | None) -> ModelDetails:
        """Sizes from the model's configuration files, and its release date, at the pinned
        commit; what the Hub fails to give stays unknown (never a refusal)."""

        def read(name: str) -> Any:
            if name not in described.files:
                return None
            path = self.api.hf_hub_download(
                model, name, revision=described.sha, token=token or None
            )
            return json_of(Path(path).read_bytes())

        found = unless_failed(model, lambda: config_details(model, read)) or ModelDetails()
        released = unless_failed(model, lambda: self.release_date(model, described.sha, token))
        return replace(found, release_date=released)

    def release_date(self, model: str, sha: str, token: str | None) -> str | None:
        """The day of the repository's first commit, as mteb's `ModelMeta.fetch_release_date`
        dates a model."""
        commits = self.api.list_repo_commits(model, revision=sha, token=token or None)
        return commits[-1].created_at.strftime("%Y-%m-%d") if commits else None


def unless_failed(model: str, call: Callable[[], T]) -> T | None:
    """`call()`, or None (logged) when the Hub fails."""
    try:
        return call()
    except HUB_FAILURES as error:
        log.warning("reading %s on the Hub failed: %s", model, type(error).__name__)
        return None
