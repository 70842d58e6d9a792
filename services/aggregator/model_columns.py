"""The model columns of a summary table (Zero-shot, sizes), formatted as mteb's table does."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache

from mteb.models import ModelMeta

_training_cache: dict[tuple[str | None, frozenset[str]], frozenset[str]] = {}
_training_lock = threading.Lock()


def training_datasets(meta: ModelMeta) -> frozenset[str] | None:
    """`ModelMeta.get_training_datasets()`: its training datasets, those of the model it was
    adapted from (looked up in mteb's registry) and their similar tasks; None when unknown.

    Memoized by (adapted_from, training datasets): the similar-task walk costs milliseconds
    per model. A meta read from a `model_meta.json` may hold a list; it counts as a set.
    """
    if meta.training_datasets is None:
        return None
    declared = frozenset(meta.training_datasets)
    key = (meta.adapted_from, declared)
    if key not in _training_cache:
        with _training_lock:  # tables computed at once would each walk the same models
            if key not in _training_cache:
                as_set = meta.model_copy(update={"training_datasets": set(declared)})
                _training_cache[key] = frozenset(as_set.get_training_datasets() or ())
    return _training_cache[key]


def zero_shot(meta: ModelMeta, task_names: frozenset[str]) -> int:
    """mteb's Zero-shot: `int(100 − 100 × |trained-on ∩ tasks| / |tasks|)`, −1 when unknown.

    mteb's leaderboard reads the training data of the model's entry in its registry; here it
    comes from the ModelMeta given for the model (the registry's, a `model_meta.json`'s or a
    submission's).
    """
    trained_on = training_datasets(meta)
    if trained_on is None or not task_names:
        return -1
    return _zero_shot(trained_on, task_names)


@lru_cache(maxsize=2**16)
def _zero_shot(trained_on: frozenset[str], task_names: frozenset[str]) -> int:
    return int(100 - 100 * (len(trained_on & task_names) / len(task_names)))


@lru_cache(maxsize=256)
def _interned(tasks: frozenset[str]) -> frozenset[str]:
    return tasks


def task_set(tasks: Iterable[str]) -> frozenset[str]:
    """`frozenset(tasks)`, the same object for the same tasks while it is in use (a cheap key)."""
    return _interned(frozenset(tasks))


ModelCells = tuple[int, float | None, float | None, int | None, int | None]
"""Zero-shot, Total and Active Parameters (B), Embedding Dimensions, Max Tokens."""


def model_cells(metas: Iterable[ModelMeta], task_names: frozenset[str]) -> list[ModelCells]:
    """Each model's cells of a table over `task_names`, computed once per (meta object, tasks)."""
    known = _cells.get(task_names)
    if known is None:
        if len(_cells) >= _TASK_SETS_KEPT:
            _cells.clear()
        known = _cells[task_names] = {}
    elif len(known) >= _CELLS_KEPT:
        known.clear()
    found = []
    for meta in metas:
        entry = known.get(id(meta))
        if entry is None or entry[0] is not meta:
            entry = known[id(meta)] = (meta, _cells_of(meta, task_names))
        found.append(entry[1])  # the meta is kept alive with them, so its id is not reused
    return found


def _cells_of(meta: ModelMeta, task_names: frozenset[str]) -> ModelCells:
    return (
        zero_shot(meta, task_names),
        parameters_b(meta.n_parameters),
        parameters_b(meta.n_active_parameters),
        embedding_size(meta.embed_dim),
        max_tokens(meta.max_tokens),
    )


_CELLS_KEPT = 2**13
_TASK_SETS_KEPT = 64
_cells: dict[frozenset[str], dict[int, tuple[ModelMeta, ModelCells]]] = {}
"""Per task set, by id of the meta object: the meta and its cells."""


def parameters_b(n_parameters: float | None) -> float | None:
    """A parameter count in billions rounded to 1M, as mteb shows it (7M -> 0.007)."""
    return None if n_parameters is None else round(float(n_parameters) / 1e9, 3)


def embedding_size(embed_dim: int | Sequence[int] | None) -> int | None:
    """The embedding dimension; the largest for Matryoshka-style lists."""
    if isinstance(embed_dim, int):
        return embed_dim
    if isinstance(embed_dim, Sequence) and len(embed_dim) > 0:
        return int(max(embed_dim))
    return None


def max_tokens(value: float | None) -> int | None:
    """The context length as an integer; None when unknown or unbounded (inf)."""
    return None if value is None or math.isinf(value) else int(value)
