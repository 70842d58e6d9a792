"""A Hugging Face Hub dataset repository at a pinned commit, downloaded for a custom task.

The repository's listing (with sizes) is read first and held to the task caps before any file
is fetched; each Hub failure becomes a typed refusal and the download folder is left to the
caller to remove.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from huggingface_hub import HfApi
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from services.submission.hub import HUB_FAILURES
from services.submission.refusals import Refusal, RefusalCode
from shared.custom_tasks.data_errors import Caps
from shared.paths import OutsideFolderError, confined

DATASET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?")
MAX_FILES = 100
"""Files a task's repository may hold (hidden files such as `.gitattributes` are skipped)."""


def is_dataset_id(value: str) -> bool:
    return DATASET_ID.fullmatch(value) is not None and ".." not in value


@contextmanager
def dataset_refusals(dataset: str, revision: str) -> Iterator[None]:
    """Turn the Hub's errors into the refusal each stands for."""
    try:
        yield
    except GatedRepoError:  # a RepositoryNotFoundError too: first
        raise Refusal(
            RefusalCode.DATASET_NOT_FOUND,
            f"{dataset} is gated on the Hub: this leaderboard reads public datasets only",
            "hub_dataset",
        ) from None
    except RevisionNotFoundError:
        raise Refusal(
            RefusalCode.REVISION_NOT_FOUND,
            f"{dataset} has no revision {revision!r}",
            "hub_revision",
        ) from None
    except (RepositoryNotFoundError, DisabledRepoError):
        raise Refusal(
            RefusalCode.DATASET_NOT_FOUND,
            f"the Hub has no public dataset {dataset} (private datasets are not read)",
            "hub_dataset",
        ) from None
    except OfflineModeIsEnabled:
        raise Refusal(
            RefusalCode.HUB_UNREACHABLE, "the Hugging Face Hub is offline here", "hub_dataset"
        ) from None
    except HUB_FAILURES as error:
        raise Refusal(
            RefusalCode.HUB_UNREACHABLE, f"the Hugging Face Hub failed: {type(error).__name__}"
        ) from None


def too_large(message: str) -> Refusal:
    return Refusal(RefusalCode.INVALID_TASK_DATA, message, "hub_dataset")


def download_dataset(api: HfApi, dataset: str, revision: str, into: Path, caps: Caps) -> str:
    """The repository's files at `revision` under `into/folder`; returns the commit it
    resolved to. Sizes the Hub declares are held to `caps` before anything is fetched."""
    with dataset_refusals(dataset, revision):
        info = api.dataset_info(dataset, revision=revision, files_metadata=True, token=False)
        if info.private or info.disabled or info.gated:
            raise Refusal(
                RefusalCode.DATASET_NOT_FOUND,
                f"{dataset} is not a public dataset: this leaderboard reads public ones only",
                "hub_dataset",
            )
        if not info.sha:
            raise Refusal(
                RefusalCode.REVISION_NOT_FOUND, f"{dataset} has no commit", "hub_revision"
            )
        siblings = [s for s in info.siblings or [] if not s.rfilename.startswith(".")]
        if len(siblings) > MAX_FILES:
            raise too_large(f"{dataset} holds {len(siblings)} files; a task holds {MAX_FILES}")
        for sibling in siblings:
            if (sibling.size or 0) > caps.max_file_bytes:
                raise too_large(
                    f"{sibling.rfilename} is {sibling.size} bytes; a file may hold "
                    f"{caps.max_file_bytes}"
                )
        total = sum(sibling.size or 0 for sibling in siblings)
        if total > caps.max_total_bytes:
            raise too_large(f"{dataset} is {total} bytes; a task may hold {caps.max_total_bytes}")
        folder = into / "folder"
        for sibling in siblings:
            try:
                target = confined(folder, sibling.rfilename)
            except OutsideFolderError:
                raise too_large(f"{sibling.rfilename!r} leads outside the dataset") from None
            cached = api.hf_hub_download(
                dataset,
                sibling.rfilename,
                repo_type="dataset",
                revision=info.sha,
                cache_dir=into / "cache",
                token=False,
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, target)
    return info.sha
