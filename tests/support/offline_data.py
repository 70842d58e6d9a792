"""Fixtures of the tests that run mteb on the shared task data without the Hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import datasets
import huggingface_hub
import pytest


@pytest.fixture(scope="module", autouse=True)
def offline_datasets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No Hub, and a fresh datasets cache per module, so an edited data file is never served
    stale."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path_factory.mktemp("hf"))
        patch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
        patch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
        patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        yield


@pytest.fixture(scope="module")
def data(datasets_dir: Path | None) -> Path:
    """The shared task data folder; the test is skipped without it."""
    if datasets_dir is None:
        pytest.skip("needs the offline task data")
    return datasets_dir
