"""One result per (model, task) out of several revisions, as mteb's `join_revisions` picks it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Protocol, TypeVar

from mteb.models import ModelMeta
from packaging.version import InvalidVersion, Version


class Result(Protocol):
    """What the join reads of a result: a `ResultRow` or a stored `ResultDoc`."""

    @property
    def model(self) -> str: ...
    @property
    def revision(self) -> str: ...
    @property
    def task(self) -> str: ...
    @property
    def mteb_version(self) -> str | None: ...


R = TypeVar("R", bound=Result)

NO_REVISION = frozenset({"no_revision_available", "external"})
"""Revision folder names of the results repository that stand for "revision unknown"."""


@lru_cache(maxsize=4096)
def _parsed_version(version: str | None) -> Version | None:
    if version is None:
        return None
    try:
        return Version(version)
    except (InvalidVersion, TypeError):
        return None


def _preference(row: Result, main_revision: str | None) -> tuple[int, Version | None]:
    """mteb's priority: main revision 1000, parsable mteb version 100, a real revision 10."""
    version = _parsed_version(row.mteb_version)
    priority = 1000 if row.revision == main_revision else 0
    priority += 100 if version is not None else 0
    priority += 10 if row.revision not in NO_REVISION else 0
    return priority, version


def _preferred(challenger: tuple[int, Version | None], kept: tuple[int, Version | None]) -> bool:
    """Strictly better: higher priority, then newer mteb version; a tie keeps the earlier row."""
    if challenger[0] != kept[0]:
        return challenger[0] > kept[0]
    if challenger[1] is None or kept[1] is None:
        return False
    return challenger[1] > kept[1]


def join_revisions(
    results: Iterable[R],
    models: Mapping[str, ModelMeta],
    tasks: frozenset[str],
) -> dict[tuple[str, str], R]:
    """The kept result per (model, task) among `tasks`, for the models of the pool `models`.

    mteb 2.26 `BenchmarkResults.join_revisions`, per (model, task): the row of the model's main
    revision (its ModelMeta `revision`) wins; else the highest priority (a parsable mteb
    version +100, a revision other than None/"external"/"no_revision_available" +10), then the
    newest mteb version; remaining ties keep the first row in input order (pandas' stable sort).
    Different tasks of one model may so come from different revisions, as in mteb.
    """
    kept: dict[tuple[str, str], R] = {}
    for row in results:
        if row.task not in tasks or row.model not in models:
            continue
        key = (row.model, row.task)
        current = kept.get(key)
        if current is None:
            kept[key] = row
            continue
        main_revision = models[row.model].revision
        if _preferred(_preference(row, main_revision), _preference(current, main_revision)):
            kept[key] = row
    return kept
