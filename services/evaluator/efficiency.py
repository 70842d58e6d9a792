"""Efficiency figures, measured the same way for every model, at almost no cost.

Texts and tokens are counted from the batches the model's own tokenizer produced (the
attention mask's ones; no second tokenization), encode time is the wall time inside mteb's
calls to the encoder, peak RSS is the kernel's high-water mark of the process (reset before a
run through /proc/self/clear_refs), and peak GPU memory is torch's allocator peak.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import torch
from mteb.models import ModelMeta, SentenceTransformerEncoderWrapper

from services.evaluator.failures import JobFailure
from shared.events import Efficiency, FailureKind

PROC_STATUS = Path("/proc/self/status")
PROC_CLEAR_REFS = Path("/proc/self/clear_refs")
RESET_PEAK_RSS = "5"  # proc(5): "5" resets the peak resident set size (VmHWM)


class EncodeMeter:
    """Counts what one run encodes and stops it, between batches, past its deadline."""

    def __init__(self) -> None:
        self.texts = 0
        self.tokens = 0
        self.encode_time_s = 0.0
        self.deadline: float | None = None

    def start(self, timeout_s: float) -> None:
        self.texts = self.tokens = 0
        self.encode_time_s = 0.0
        self.deadline = time.monotonic() + timeout_s

    def count(self, inputs: Any, features: Any) -> None:
        """Add one tokenized batch: its texts, and its tokens less the padding."""
        self.texts += len(inputs)
        get = getattr(features, "get", None)  # a dict, or transformers' BatchEncoding
        if get is None:
            return
        mask, ids = get("attention_mask"), get("input_ids")
        if mask is not None:
            self.tokens += int(mask.sum())
        elif ids is not None:
            self.tokens += int(ids.numel())

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobFailure(FailureKind.TIMEOUT, "the task ran past job_timeout_s")


def counting(tokenize: Callable[..., Any], meter: EncodeMeter) -> Callable[..., Any]:
    """`tokenize` (the model's preprocess step) that also feeds `meter`."""

    def tokenize_and_count(inputs: Any, *args: Any, **kwargs: Any) -> Any:
        meter.check_deadline()
        features = tokenize(inputs, *args, **kwargs)
        meter.count(inputs, features)
        return features

    return tokenize_and_count


class MeteredEncoder(SentenceTransformerEncoderWrapper):
    """mteb's own sentence-transformers wrapper, timing its encode calls and counting tokens."""

    def __init__(self, model: Any, meta: ModelMeta) -> None:
        super().__init__(model)
        self.mteb_model_meta = meta
        self.meter = EncodeMeter()
        # sentence-transformers ≥ 5.2 tokenizes through `preprocess`, older ones `tokenize`
        step = "preprocess" if hasattr(model, "preprocess") else "tokenize"
        setattr(model, step, counting(getattr(model, step), self.meter))

    def encode(self, inputs: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().encode(inputs, **kwargs)
        finally:
            self.meter.encode_time_s += time.perf_counter() - started

    def parameter_count(self) -> int:
        return sum(parameter.numel() for parameter in self.model.parameters())

    def embedding_dim(self) -> int | None:
        # sentence-transformers ≥ 5.2 renamed get_sentence_embedding_dimension
        newer = getattr(self.model, "get_embedding_dimension", None)
        found = newer() if newer else self.model.get_sentence_embedding_dimension()
        return int(found) if found is not None else None

    def max_tokens(self) -> int | None:
        """The longest input the model reads, in tokens (longer texts are truncated)."""
        found = getattr(self.model, "max_seq_length", None)
        return int(found) if found is not None else None


def is_cuda(device: str) -> bool:
    return device.startswith("cuda")


def reset_peaks(device: str) -> None:
    """Start new peak-memory marks for the process (and the GPU)."""
    with suppress(OSError):  # not Linux, or not allowed: the lifetime peak is reported
        PROC_CLEAR_REFS.write_text(RESET_PEAK_RSS)
    if is_cuda(device):
        torch.cuda.reset_peak_memory_stats(torch.device(device))


def peak_rss_bytes() -> int:
    """The process's peak resident memory since the last reset."""
    with suppress(OSError):
        for line in PROC_STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_gpu_bytes(device: str) -> int | None:
    return int(torch.cuda.max_memory_allocated(torch.device(device))) if is_cuda(device) else None


def efficiency(encoder: MeteredEncoder, device: str) -> Efficiency:
    """The figures of the run `encoder` just finished."""
    meter = encoder.meter
    seconds = meter.encode_time_s
    return Efficiency(
        texts_encoded=meter.texts,
        tokens_encoded=meter.tokens,
        encode_time_s=seconds,
        texts_per_s=meter.texts / seconds if seconds > 0 else 0.0,
        tokens_per_s=meter.tokens / seconds if seconds > 0 else 0.0,
        peak_rss_bytes=peak_rss_bytes(),
        peak_gpu_memory_bytes=peak_gpu_bytes(device),
        parameters=encoder.parameter_count(),
        embedding_dim=encoder.embedding_dim(),
        max_tokens=encoder.max_tokens(),
    )
