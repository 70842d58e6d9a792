"""Failure classes of a job: a short reason, whether a retry may help, a traceback reference."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import huggingface_hub
import torch
from datasets.exceptions import DatasetNotFoundError

from shared.events import FailureKind

log = logging.getLogger(__name__)

NETWORK_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
"""Errors of a flaky network (requests' and httpx's connection errors derive from OSError and
are checked by name below); a retry may succeed."""

REASON_LENGTH = 300


def new_trace_id() -> str:
    """A short id that names one logged traceback."""
    return uuid.uuid4().hex[:12]


@dataclass(eq=False)
class JobFailure(Exception):
    """A classified failure: `kind`, a short `reason`, and whether a later attempt may succeed."""

    kind: FailureKind
    reason: str
    transient: bool = False
    trace_id: str | None = field(default=None)

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.reason}"


def short(error: BaseException) -> str:
    """`Type: message`, first line only, cut to a status-sized length."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text[:REASON_LENGTH]


def is_out_of_memory(error: BaseException) -> bool:
    """Out of memory on the GPU (torch) or the CPU (Python's MemoryError)."""
    return isinstance(error, torch.OutOfMemoryError | MemoryError)


def is_network(error: BaseException) -> bool:
    """Whether `error` or one of its causes is a network failure (not offline mode)."""
    seen: BaseException | None = error
    while seen is not None:
        if "OfflineModeIsEnabled" in str(seen):
            return False
        names = {kind.__name__ for kind in type(seen).__mro__}
        if isinstance(seen, NETWORK_ERRORS) or names & {"TransportError", "RequestException"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def offline() -> bool:
    """Whether the Hub may not be reached (HF_HUB_OFFLINE or HF_DATASETS_OFFLINE)."""
    return bool(huggingface_hub.constants.HF_HUB_OFFLINE or datasets.config.HF_DATASETS_OFFLINE)


def model_load_failure(error: BaseException) -> JobFailure:
    """Loading the model failed; retried when the network was at fault."""
    return JobFailure(FailureKind.MODEL_LOAD, short(error), transient=is_network(error))


def data_load_failure(task: str, mirror: Path | None, error: BaseException) -> JobFailure:
    """Loading the task's data failed: unavailable (nowhere to get it), flaky, or broken.

    `mirror` is the local folder that was read, None when the data came from the Hub.
    """
    hub_lacks_it = isinstance(error, DatasetNotFoundError) or (
        offline() and isinstance(error, ConnectionError)
    )
    if mirror is None and hub_lacks_it:
        reason = f"{task}: no local copy, and the Hub has none or is offline ({short(error)})"
        return JobFailure(FailureKind.DATA_UNAVAILABLE, reason[:REASON_LENGTH])
    return JobFailure(FailureKind.DATA_LOAD, short(error), transient=is_network(error))


def classify(error: BaseException) -> JobFailure:
    """A failure from `error` raised while the task ran (after model and data loaded)."""
    if isinstance(error, JobFailure):
        return error
    if is_out_of_memory(error):
        return JobFailure(FailureKind.OUT_OF_MEMORY, short(error))
    return JobFailure(FailureKind.TASK_ERROR, short(error), transient=is_network(error))


def logged(failure: JobFailure, error: BaseException, context: str) -> JobFailure:
    """Log `error`'s traceback under a new trace id and return `failure` carrying that id."""
    failure.trace_id = new_trace_id()
    log.error("%s failed: %s [trace %s]", context, failure, failure.trace_id, exc_info=error)
    return failure
