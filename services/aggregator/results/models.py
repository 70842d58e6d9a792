"""Model metadata of live results: a `models` revision entry for models outside mteb's registry.

Tables take a model's metadata from mteb's registry, else from the stored `model_meta.json` of
its `models` document (`summary.models.model_meta`). For a submitted model the registry lacks, that
entry is made here in mteb's ModelMeta fields, from what validation read of the model, on the
Hub or in the mirror (its card's license, languages and base model; the parameter count of the
safetensors header; sizes from its configuration files; the Hub's release date) and, for what
that left unknown, what the evaluator measured (parameters, embedding dimension, max tokens).
A stored field is never replaced: live data only fills the fields a stored `model_meta.json`
lacks.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from mteb.models import ModelMeta
from mteb.models.model_meta import _hf_langs_to_iso_lang_scripts

from shared.documents import ModelDoc, ModelFacts, ModelRevision, SubmissionDoc
from shared.events import Envelope
from shared.store import ConflictError, Store
from shared.summary.models import registered

log = logging.getLogger(__name__)

WRITE_ATTEMPTS = 5
"""Tries of the guarded write before giving up (the handler's message is then redelivered)."""


@dataclass(frozen=True)
class Measured:
    """What an evaluator measured of the model it loaded."""

    parameters: int | None = None
    embed_dim: int | None = None
    max_tokens: int | None = None


def measured(envelope: Envelope) -> Measured:
    """The model's figures in a result's envelope (none before efficiency was recorded)."""
    efficiency = envelope.efficiency
    if efficiency is None:
        return Measured()
    return Measured(
        parameters=efficiency.parameters,
        embed_dim=efficiency.embedding_dim,
        max_tokens=efficiency.max_tokens,
    )


def first_known(declared: int | None, measured: int | None) -> int | None:
    return declared if declared is not None else measured


def live_meta(model: str, revision: str, facts: ModelFacts, seen: Measured) -> dict[str, Any]:
    """`model`'s ModelMeta at `revision` as mteb's `to_dict` writes `model_meta.json`.

    Read as mteb's `ModelMeta.from_hub` reads a card (license `other` is none, languages as
    ISO codes, the first base model as `adapted_from`); what the model's files declare comes
    before what was measured; what nobody said stays None, training datasets included (mteb
    reads none from a card: Zero-shot unknown).
    """
    hub = facts.source == "hub"
    meta = ModelMeta.create_empty(
        overwrites={
            "name": model,
            "revision": revision,
            "languages": _hf_langs_to_iso_lang_scripts(facts.languages or None),
            "release_date": facts.release_date,
            "n_parameters": first_known(facts.parameters, seen.parameters),
            "n_embedding_parameters": facts.embedding_parameters,
            "max_tokens": first_known(facts.max_tokens, seen.max_tokens),
            "embed_dim": first_known(facts.embed_dim, seen.embed_dim),
            "license": facts.license if facts.license != "other" else None,
            "open_weights": not facts.private if hub else None,
            "framework": ["Sentence Transformers", "PyTorch"],
            "reference": f"https://huggingface.co/{model}" if hub else None,
            "adapted_from": facts.base_model[0] if facts.base_model else None,
        }
    )
    meta = meta.model_copy(update={"memory_usage_mb": meta.calculate_memory_usage_mb()})
    fields: dict[str, Any] = json.loads(json.dumps(meta.to_dict(), default=str))
    return fields


def filled(kept: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`kept` with the fields it lacks (absent or None) taken from `extra`."""
    return kept | {k: v for k, v in extra.items() if v is not None and kept.get(k) is None}


def parsed(meta_json: str | None) -> dict[str, Any] | None:
    fields = json.loads(meta_json) if meta_json else None
    return fields if isinstance(fields, dict) else None


def with_live_revision(
    stored: ModelDoc | None, name: str, revision: str, live: dict[str, Any]
) -> ModelDoc:
    """`stored` (or a new document) with `revision`'s metadata filled from `live`.

    A stored revision's metadata keeps every field it has. A revision without any takes `live`,
    then what the model's last stored metadata (by revision, as `model_meta` picks it)
    adds: mteb's registry holds its metadata per model, too. Revisions are kept sorted, as the
    importer writes them.
    """
    entries = {entry.revision: entry.meta_json for entry in stored.revisions} if stored else {}
    current = parsed(entries.get(revision))
    if current is not None:
        if filled(current, live) != current:
            entries[revision] = json.dumps(filled(current, live))
    else:
        others = [fields for r in sorted(entries) if (fields := parsed(entries[r])) is not None]
        entries[revision] = json.dumps(filled(live, others[-1]) if others else live)
    return ModelDoc(
        _id=name,
        revisions=[ModelRevision(revision=r, meta_json=m) for r, m in sorted(entries.items())],
    )


async def record_live_model(store: Store, submission: SubmissionDoc, envelope: Envelope) -> bool:
    """Ensure the `models` entry of a live result's model revision, when mteb's registry lacks
    the model; whether the document changed. The same result again changes nothing."""
    name, revision = submission.model, submission.revision
    if registered(name) is not None:
        return False
    live = live_meta(name, revision, submission.facts, measured(envelope))
    for _ in range(WRITE_ATTEMPTS):
        stored = (await store.get_models([name])).get(name)
        model = with_live_revision(stored, name, revision, live)
        if stored is not None and stored.revisions == model.revisions:
            return False
        if await store.replace_model(model, stored.stored_us if stored else None):
            log.info("stored model metadata of %s@%s", name, revision)
            return True
    raise ConflictError(f"the models document of {name} kept changing")
