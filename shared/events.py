"""Versioned event payloads carried on the bus; the single source for validation and docs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

MODEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"
"""`org/name` as the Hugging Face Hub allows it (no `--`, `..`, leading or trailing dots)."""

_MODEL_ID_FORBIDDEN = re.compile(r"--|\.\.|\.$|\./|/\.")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive one (as some stores return) is taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


def is_valid_model_id(model: str) -> bool:
    """Whether `model` is a syntactically valid Hub model id `org/name`."""
    return bool(re.match(MODEL_ID_PATTERN, model)) and not _MODEL_ID_FORBIDDEN.search(model)


CALLBACK_URL_MAX_LENGTH = 2048


def callback_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL with a host and no credentials nor fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("the callback URL must be http:// or https://")
    if not parts.hostname:
        raise ValueError("the callback URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the callback URL must not hold credentials")
    if parts.fragment or any(character.isspace() or ord(character) < 32 for character in url):
        raise ValueError("the callback URL has a fragment or whitespace")
    return url


CallbackUrl = Annotated[
    str, Field(max_length=CALLBACK_URL_MAX_LENGTH), AfterValidator(callback_url)
]


class Event(BaseModel):
    """Base of every bus payload: strict fields and a schema version."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1


class Priority(StrEnum):
    """Job priority; each has its own job subject, high is fetched first, low last
    (re-evaluations of stale results)."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class SubmissionRequest(Event):
    """What a submitter asks for: a model and either tasks or a benchmark."""

    model: str = Field(
        description="Hub model id `org/name`.", examples=["sentence-transformers/all-MiniLM-L6-v2"]
    )
    revision: str | None = Field(default=None, description="Branch, tag or commit; default main.")
    tasks: list[str] | None = Field(
        default=None, description="MTEB task names.", examples=[["BIOSSES"]]
    )
    benchmark: str | None = Field(default=None, description="MTEB benchmark name.")
    hf_token: SecretStr | None = Field(
        default=None,
        description="A Hub token that can read a private model; used to validate it and, sealed, "
        "by the evaluators. Never stored, logged, published or returned.",
    )
    callback_url: CallbackUrl | None = Field(
        default=None,
        description="An http(s) URL that is sent the outcome (a signed POST, retried) when the "
        "submission completes, fails or is cancelled; see the `submission.finished` webhook.",
        examples=["https://ci.example.org/hooks/leaderboard"],
    )

    @model_validator(mode="after")
    def _tasks_or_benchmark(self) -> SubmissionRequest:
        if not self.tasks and not self.benchmark:
            raise ValueError("give `tasks` or `benchmark`")
        if self.tasks and self.benchmark:
            raise ValueError("give `tasks` or `benchmark`, not both")
        return self


class SubmissionAccepted(Event):
    """A submission passed validation; its jobs follow on the jobs subjects."""

    submission_id: str
    model: str
    revision: str = Field(description="The pinned revision (commit sha) that is evaluated.")
    tasks: list[str]
    benchmark: str | None = None
    priority: Priority = Priority.NORMAL
    accepted_at: UtcDatetime = Field(default_factory=utcnow)


class SubmissionRejected(Event):
    """A submission (from HTTP or the intake subject) was refused, with a typed code."""

    submission_id: str
    code: str = Field(description="The refusal code, as in the HTTP error body.")
    message: str
    field: str | None = None
    model: str | None = None
    rejected_at: UtcDatetime = Field(default_factory=utcnow)


class SubmissionCancelled(Event):
    """A submission was cancelled: its pending jobs are dropped, a running task is its last."""

    submission_id: str
    cancelled_at: UtcDatetime = Field(default_factory=utcnow)


class SubmissionStatusChanged(Event):
    """A submission moved to another status (DESIGN §3); one event per transition."""

    submission_id: str
    status: str = Field(description="The new status, as in the submission document.")
    reason: str | None = None
    at: UtcDatetime = Field(description="When the transition happened (the history entry).")


class Job(Event):
    """One work item: evaluate one model revision on one task."""

    submission_id: str
    model: str
    revision: str
    task: str
    priority: Priority = Priority.NORMAL
    sealed_token: str | None = Field(
        default=None,
        description="The submitter's Hub token for a private model, encrypted for the evaluators "
        "(`shared.secrets`); never the token itself.",
    )


class TaskState(StrEnum):
    """Where one task of a submission stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class FailureKind(StrEnum):
    """Why a task did not produce a result."""

    MODEL_LOAD = "model_load"
    DATA_UNAVAILABLE = "data_unavailable"
    DATA_LOAD = "data_load"
    OUT_OF_MEMORY = "out_of_memory"
    TASK_ERROR = "task_error"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    EXHAUSTED = "exhausted"


class StatusEvent(Event):
    """Progress of one task of a submission, reported by an evaluator."""

    submission_id: str
    task: str
    state: TaskState
    reason: str | None = Field(default=None, description="Short failure reason.")
    failure: FailureKind | None = Field(
        default=None, description="The failure class of a failed or cancelled task."
    )
    trace_id: str | None = Field(
        default=None,
        description="Names the traceback in the evaluator's log (`trace <id>`), when one exists.",
    )
    evaluator_id: str
    attempt: int = 1
    at: UtcDatetime = Field(default_factory=utcnow)


Dtype = Literal["fp32", "fp16", "bf16"]
"""Model weight precisions an evaluator can load."""


class Hardware(BaseModel):
    """The machine an evaluation ran on."""

    model_config = ConfigDict(extra="forbid")

    cpu_model: str
    cpu_count: int = Field(description="CPUs this process may run on.")
    torch_threads: int
    gpu_name: str | None = None
    gpu_memory_bytes: int | None = None


class Efficiency(BaseModel):
    """Cost of one evaluation, measured the same way for every model."""

    model_config = ConfigDict(extra="forbid")

    texts_encoded: int
    tokens_encoded: int = Field(description="Non-padding tokens the model's tokenizer produced.")
    encode_time_s: float = Field(description="Wall time inside the model's encode calls.")
    texts_per_s: float
    tokens_per_s: float
    peak_rss_bytes: int = Field(description="Peak resident memory of the evaluator during the run.")
    peak_gpu_memory_bytes: int | None = Field(
        default=None, description="Peak memory allocated by torch on the GPU (CUDA only)."
    )
    parameters: int
    embedding_dim: int | None
    max_tokens: int | None = Field(
        default=None, description="The model's maximum input length in tokens."
    )


class Envelope(BaseModel):
    """How a result was produced: enough to reproduce it."""

    model_config = ConfigDict(extra="forbid")

    model: str
    revision: str
    task: str
    task_type: str
    main_metric: str = Field(description="The task's main metric, e.g. cosine_spearman.")
    dataset_revision: str
    eval_splits: list[str]
    hf_subsets: list[str]
    versions: dict[str, str] = Field(
        description="mteb, sentence-transformers, transformers, torch, python."
    )
    device: str
    evaluator_id: str
    attempt: int
    evaluation_time_s: float
    model_load_time_s: float
    dtype: Dtype = Field(default="fp32", description="Precision of the model weights.")
    batch_size: int | None = Field(
        default=None, description="Encode batch size used (halved after an out-of-memory retry)."
    )
    hardware: Hardware | None = Field(
        default=None, description="The machine; absent on results made before it was recorded."
    )
    efficiency: Efficiency | None = Field(
        default=None, description="Measured cost; absent on results made before it was recorded."
    )


class ResultEvent(Event):
    """One finished task: mteb's TaskResult, unchanged, inside a reproducibility envelope."""

    submission_id: str
    model: str
    revision: str
    task: str
    main_score: float = Field(
        description="The task score: mean main score over its splits and subsets."
    )
    task_result: dict[str, Any] = Field(description="mteb's TaskResult JSON, as mteb writes it.")
    envelope: Envelope
    evaluated_at: UtcDatetime = Field(default_factory=utcnow)


class LeaderboardUpdated(Event):
    """A materialized leaderboard document was replaced."""

    leaderboard_id: str
    version: int
    generated_at: UtcDatetime


SUBJECT_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def subject_token(name: str) -> str:
    """A name as one NATS subject token (dots, spaces and wildcards replaced)."""
    return SUBJECT_TOKEN.sub("_", name)


class Subjects:
    """Every subject of the event contract (DESIGN §2)."""

    INTAKE = "lb.intake.submissions"

    @staticmethod
    def accepted(submission_id: str) -> str:
        return f"lb.submissions.{submission_id}.accepted"

    @staticmethod
    def rejected(submission_id: str) -> str:
        return f"lb.submissions.{submission_id}.rejected"

    @staticmethod
    def cancelled(submission_id: str) -> str:
        return f"lb.submissions.{submission_id}.cancelled"

    @staticmethod
    def submission_status(submission_id: str) -> str:
        return f"lb.submissions.{submission_id}.status"

    @staticmethod
    def job(priority: Priority, submission_id: str, task: str) -> str:
        return f"lb.jobs.{priority.value}.{submission_id}.{subject_token(task)}"

    @staticmethod
    def status(submission_id: str) -> str:
        return f"lb.status.{submission_id}"

    @staticmethod
    def result(submission_id: str, task: str) -> str:
        return f"lb.results.{submission_id}.{subject_token(task)}"

    @staticmethod
    def leaderboard_updated(leaderboard_id: str) -> str:
        return f"lb.leaderboard.{subject_token(leaderboard_id)}.updated"

    @staticmethod
    def dead_letter(stream: str) -> str:
        return f"lb.dlq.{stream}"
