"""Stale results: made by an older mteb than the installed one, or on another dataset revision
than the task's current one (the installed mteb's, or a custom task's latest data); ranked and
marked until `leaderboard reevaluate` replaces them."""

from __future__ import annotations

from functools import lru_cache

import mteb

from shared.custom_tasks import catalogue


def major_minor(version: str) -> tuple[int, int] | None:
    """`(major, minor)` of a version string; None when it does not start with two numbers."""
    parts = version.split(".")[:2]
    if len(parts) < 2 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1])


def installed_dataset_revision(task: str) -> str | None:
    """The dataset revision `task` is evaluated on now: the installed mteb's, else the custom
    task's current revision (its data as last uploaded); None for an unknown task."""
    registry = _registry_dataset_revision(task)
    if registry is not None:
        return registry
    custom = catalogue.CURRENT.tasks.get(task)
    return custom.spec.revision if custom is not None else None


@lru_cache(maxsize=8192)
def _registry_dataset_revision(task: str) -> str | None:
    try:
        revision = mteb.get_task(task).metadata.dataset.get("revision")
    except KeyError:
        return None
    return str(revision) if revision else None


def stale_reason(task: str, mteb_version: str | None, dataset_revision: str | None) -> str | None:
    """Why a result of `task` is stale, or None when it is current (or nothing says otherwise).

    Versions are compared by major and minor only, as results are kept per mteb major.minor.
    """
    made_by = major_minor(mteb_version) if mteb_version else None
    installed = major_minor(mteb.__version__)
    if made_by is not None and installed is not None and made_by < installed:
        return f"computed by mteb {mteb_version}; mteb {mteb.__version__} is installed"
    current = installed_dataset_revision(task)
    if dataset_revision and current and dataset_revision != current:
        return f"dataset revision {dataset_revision}; the task now uses {current}"
    return None
