"""What mteb's registry says about a model and a task, and where a task's data is read from."""

from __future__ import annotations

import platform
from importlib.metadata import version
from pathlib import Path

import mteb
from mteb.abstasks import AbsTask
from mteb.models import ModelMeta

from shared.paths import confined
from shared.summary.models import registered

VERSIONED_PACKAGES = ("mteb", "sentence-transformers", "transformers", "torch")


def package_versions() -> dict[str, str]:
    """Versions of the libraries that shape a result, and Python's."""
    return {name: version(name) for name in VERSIONED_PACKAGES} | {
        "python": platform.python_version()
    }


def model_meta(model: str, revision: str) -> ModelMeta:
    """mteb's registry entry for `model` at `revision`, or an empty one carrying the name."""
    meta = registered(model)
    if meta is None:
        return ModelMeta.create_empty(overwrites={"name": model, "revision": revision})
    return meta.model_copy(update={"revision": revision})


def mirror_folder(name: str, datasets_dir: Path | None) -> Path | None:
    """The local copy of task `name`'s data, when `datasets_dir` has one."""
    folder = confined(datasets_dir, name) if datasets_dir else None
    return folder if folder is not None and folder.is_dir() else None


def load_task(name: str, datasets_dir: Path | None) -> AbsTask:
    """The registry's task, reading its data from `datasets_dir/<name>/` when that exists."""
    task = mteb.get_task(name)
    folder = mirror_folder(name, datasets_dir)
    if folder is not None:
        # metadata is shared by every instance of the task class: replace, never mutate
        task.metadata = task.metadata.model_copy(
            update={"dataset": {**task.metadata.dataset, "path": str(folder)}}, deep=True
        )
    return task
