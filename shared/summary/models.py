"""Model metadata for tables: one lookup (mteb's registry, else a stored `model_meta.json`),
the official pool, and the model columns (Zero-shot, sizes) as mteb's table shows them."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from mteb.models import ModelMeta
from mteb.models.model_implementations import MODEL_REGISTRY


def registered(name: str) -> ModelMeta | None:
    """mteb's registry entry named exactly `name` (no renames followed, as mteb's result loading
    follows none), else None: the one registry lookup of every service."""
    return MODEL_REGISTRY.get(name)


def in_official_pool(name: str) -> bool:
    """Whether mteb's leaderboard ranks a model of this name: its results are loaded for the
    registry's model names only (`ResultCache._rebuild_from_full_repository`), so a name mteb
    renamed (`voyageai/*` → `mongodb/*`) or never registered is left out."""
    return registered(name) is not None


def everyone(name: str) -> bool:
    """The pool of a custom benchmark: mteb has none for it, so every model with results."""
    return True


def lenient_meta(fields: dict[str, Any]) -> ModelMeta:
    """A ModelMeta from `model_meta.json` fields, unvalidated as mteb's ResultCache reads it.

    Fields the file lacks are None (or their default), so every attribute can be read.
    """
    defaults = {
        name: field.get_default(call_default_factory=True) if not field.is_required() else None
        for name, field in ModelMeta.model_fields.items()
    }
    known = {name: value for name, value in fields.items() if name in defaults}
    return ModelMeta.model_construct(**(defaults | known))


def model_meta(name: str, meta_jsons: Sequence[str | None] = ()) -> ModelMeta:
    """mteb's registry entry for `name`; else the last of its revisions' stored
    `model_meta.json` (`meta_jsons`, by revision), else a stub of Nones.

    Outside the registry no revision is the main one (`revision` None), as in mteb's
    `join_revisions`, which takes main revisions from the registry only.
    """
    entry = registered(name)
    if entry is not None:
        return entry
    metas = [meta for meta in meta_jsons if meta]
    fields = json.loads(metas[-1]) if metas else {}
    return lenient_meta(fields | {"name": name, "revision": None})


def training_datasets(meta: ModelMeta) -> frozenset[str] | None:
    """`ModelMeta.get_training_datasets()`: its training datasets, those of the model it was
    adapted from (looked up in mteb's registry) and their similar tasks; None when unknown.
    A meta read from a `model_meta.json` may hold a list; it counts as a set."""
    if meta.training_datasets is None:
        return None
    return _training_datasets(meta.adapted_from, frozenset(meta.training_datasets))


@lru_cache(maxsize=2**12)
def _training_datasets(adapted_from: str | None, declared: frozenset[str]) -> frozenset[str]:
    """The similar-task walk, once per (adapted_from, declared): it costs milliseconds."""
    meta = ModelMeta.create_empty(
        overwrites={"adapted_from": adapted_from, "training_datasets": set(declared)}
    )
    return frozenset(meta.get_training_datasets() or ())


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


ModelCells = tuple[int, float | None, float | None, int | None, int | None]
"""Zero-shot, Total and Active Parameters (B), Embedding Dimensions, Max Tokens."""


def model_cells(meta: ModelMeta, task_names: frozenset[str]) -> ModelCells:
    """A model's cells of a table over `task_names`."""
    return (
        zero_shot(meta, task_names),
        parameters_b(meta.n_parameters),
        parameters_b(meta.n_active_parameters),
        embedding_size(meta.embed_dim),
        max_tokens(meta.max_tokens),
    )


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
