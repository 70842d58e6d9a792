"""What a model's own files say of it: its card, and its sizes in its configuration files.

Read the same way from a mirrored model's folder and from the Hub's files at a pinned commit.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import ModelCard, ModelCardData
from mteb.models import ModelMeta

JsonReader = Callable[[str], Any]
"""A repository file's JSON by its path in the repository; None when absent or not JSON."""


@dataclass(frozen=True)
class CardFacts:
    """What a model card's metadata declares."""

    license: str | None
    languages: list[str]
    base_model: list[str]


@dataclass(frozen=True)
class ModelDetails:
    """The model's sizes as its configuration declares them, and when it was released."""

    embed_dim: int | None = None
    max_tokens: int | None = None
    embedding_parameters: int | None = None
    release_date: str | None = None


def as_list(value: object) -> list[str]:
    """A card field that may be a string, a list of strings or absent, as a list."""
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def card_facts(card: ModelCardData | None) -> CardFacts:
    """The license, languages and base models of a card's metadata (none without a card)."""
    if card is None:
        return CardFacts(license=None, languages=[], base_model=[])
    return CardFacts(
        license=card.license if isinstance(card.license, str) else None,
        languages=as_list(card.language),
        base_model=as_list(card.base_model),
    )


def folder_card(folder: Path) -> ModelCardData | None:
    """The metadata of a model folder's card (the YAML front matter of its README.md); None
    without a readable one."""
    readme = folder / "README.md"
    if not readme.is_file():
        return None
    try:
        return ModelCard.load(readme, ignore_metadata_errors=True).data
    except (yaml.YAMLError, ValueError):
        return None


def json_of(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def folder_reader(folder: Path) -> JsonReader:
    """Reads the JSON files of a model folder."""

    def read(name: str) -> Any:
        path = folder / name
        return json_of(path.read_bytes()) if path.is_file() else None

    return read


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def pooled_dim(config: dict[str, Any]) -> int | None:
    """A Pooling module's output: the token dimension once per pooling mode it concatenates."""
    dim = as_int(config.get("word_embedding_dimension"))
    modes = sum(1 for key, on in config.items() if key.startswith("pooling_mode_") and on is True)
    return dim * max(modes, 1) if dim is not None else None


def config_details(model: str, read: JsonReader) -> ModelDetails:
    """Embedding dimension, max tokens and embedding parameters as a model's files declare them.

    As sentence-transformers builds the model from `modules.json`: the Transformer module's
    `max_seq_length` (`sentence_bert_config.json`) and `config.json`, then the output dimension
    of the last Pooling or Dense module. Without these, what mteb's `ModelMeta.from_hub` reads:
    `hidden_size` and `max_position_embeddings` of `config.json`; embedding parameters are
    mteb's estimate from `config.json` (vocabulary × hidden size).
    """
    modules = read("modules.json")
    found = [as_dict(module) for module in modules] if isinstance(modules, list) else []
    transformer = next(
        (str(m.get("path", "")) for m in found if str(m.get("type")).endswith(".Transformer")), ""
    )
    config = as_dict(read(posixpath.join(transformer, "config.json")))
    sbert = as_dict(read(posixpath.join(transformer, "sentence_bert_config.json")))
    embed_dim = as_int(config.get("hidden_size")) or as_int(config.get("hidden_dim"))
    for module in found:
        kind = str(module.get("type")).rsplit(".", 1)[-1]
        module_config = as_dict(read(posixpath.join(str(module.get("path", "")), "config.json")))
        if kind == "Pooling":
            embed_dim = pooled_dim(module_config) or embed_dim
        elif kind == "Dense":
            embed_dim = as_int(module_config.get("out_features")) or embed_dim
    return ModelDetails(
        embed_dim=embed_dim,
        max_tokens=as_int(sbert.get("max_seq_length"))
        or as_int(config.get("max_position_embeddings")),
        embedding_parameters=ModelMeta._estimate_embedding_parameters_from_hub(model, config=config)
        if config
        else None,
    )
