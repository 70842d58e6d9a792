"""Loaded models kept for the next jobs, least recently used evicted, memory handed back."""

from __future__ import annotations

import gc
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from sentence_transformers import SentenceTransformer

from services.evaluator.efficiency import MeteredEncoder
from services.evaluator.metadata import model_meta
from shared.events import Dtype
from shared.paths import confined

log = logging.getLogger(__name__)

TORCH_DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}


@dataclass
class LoadedModel:
    key: tuple[str, str]
    encoder: MeteredEncoder
    load_time_s: float


def free_memory() -> None:
    """Return freed tensors' memory: collect cycles, and empty torch's CUDA cache."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class ModelCache:
    """Up to `size` models, keyed by (model, revision); the least recently used goes first."""

    def __init__(
        self,
        models_dir: Path | None,
        device: str,
        dtype: Dtype = "fp32",
        size: int = 1,
        model_class: type[SentenceTransformer] = SentenceTransformer,
    ) -> None:
        self.models_dir = models_dir
        self.device = device
        self.dtype = dtype
        self.size = size
        self.model_class = model_class
        self.loaded: OrderedDict[tuple[str, str], LoadedModel] = OrderedDict()

    def get(self, model: str, revision: str, token: str | None = None) -> LoadedModel:
        key = (model, revision)
        if key in self.loaded:
            self.loaded.move_to_end(key)
            return self.loaded[key]
        while len(self.loaded) >= self.size:
            self.evict()
        started = time.perf_counter()
        encoder = MeteredEncoder(self._load(model, revision, token), model_meta(model, revision))
        self.loaded[key] = LoadedModel(key, encoder, time.perf_counter() - started)
        return self.loaded[key]

    def evict(self) -> None:
        """Drop the least recently used model and return its memory."""
        key = self.loaded.popitem(last=False)[0]
        free_memory()
        log.info("evicted model %s@%s", *key)

    def _load(self, model: str, revision: str, token: str | None) -> Any:
        folder = confined(self.models_dir, model) if self.models_dir else None
        if folder is not None and folder.is_dir():
            loaded = self.model_class(str(folder), device=self.device)
        else:
            loaded = self.model_class(model, revision=revision, device=self.device, token=token)
        if self.dtype != "fp32":
            loaded.to(dtype=TORCH_DTYPES[self.dtype])
        return loaded
