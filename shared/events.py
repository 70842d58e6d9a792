"""Versioned event payloads carried on the bus; the single source for validation and docs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from shared.custom_tasks.spec import CustomTaskName, TaskSpec

MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
"""`org/name` as the Hugging Face Hub allows it (no `--`, `..`, leading or trailing dots)."""

_MODEL_ID_FORBIDDEN = re.compile(r"--|\.\.|\.\Z|\./|/\.")

REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}")
"""A branch, tag or commit sha as git allows it, limited to plain characters and 255 of them."""

_REVISION_FORBIDDEN = re.compile(r"\.\.|//|/\.|\.lock(/|\Z)|[/.]\Z")

ID_TOKEN = r"^[A-Za-z0-9_-]{1,64}$"
"""An id that is one NATS subject token: no wildcards, dots or separators."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive one (as some stores return) is taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


def is_valid_model_id(model: str) -> bool:
    """Whether `model`, whole, is a syntactically valid Hub model id `org/name`."""
    return MODEL_ID.fullmatch(model) is not None and not _MODEL_ID_FORBIDDEN.search(model)


def is_valid_revision(revision: str) -> bool:
    """Whether `revision`, whole, is a git ref name or commit sha that is safe in a path."""
    return REVISION.fullmatch(revision) is not None and not _REVISION_FORBIDDEN.search(revision)


def is_id_token(value: str) -> bool:
    """Whether `value` is an id usable as one subject token (see `ID_TOKEN`)."""
    return re.fullmatch(ID_TOKEN[1:-1], value) is not None


def _model_id(model: str) -> str:
    if not is_valid_model_id(model):
        raise ValueError("not a model id of the form org/name")
    return model


def _revision(revision: str) -> str:
    if not is_valid_revision(revision):
        raise ValueError("not a branch, tag or commit sha")
    return revision


ModelId = Annotated[str, Field(max_length=193), AfterValidator(_model_id)]
"""A Hub model id `org/name`, checked whole."""
Revision = Annotated[str, Field(max_length=255), AfterValidator(_revision)]
"""A git ref or commit sha, checked whole (it becomes part of paths)."""
SubmissionId = Annotated[str, Field(pattern=ID_TOKEN, description="A submission id (a token).")]
TaskName = Annotated[str, Field(min_length=1, max_length=200)]
MAX_TASKS = 2000
"""The most task names one request may list (mteb's registry holds fewer)."""


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


class Visibility(StrEnum):
    """Who may see a custom task, benchmark or submission: its owner and admins, or anyone."""

    PRIVATE = "private"
    PUBLIC = "public"


class Priority(StrEnum):
    """Job priority; each has its own job subject, high is fetched first, low last
    (re-evaluations of stale results)."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class SubmissionRequest(Event):
    """What a submitter asks for: a model and either tasks or a benchmark."""

    model: str = Field(
        max_length=193,
        description="Hub model id `org/name`.",
        examples=["sentence-transformers/all-MiniLM-L6-v2"],
    )
    revision: Revision | None = Field(
        default=None, description="Branch, tag or commit; default main."
    )
    tasks: list[TaskName] | None = Field(
        default=None, max_length=MAX_TASKS, description="MTEB task names.", examples=[["BIOSSES"]]
    )
    benchmark: str | None = Field(default=None, max_length=200, description="MTEB benchmark name.")
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

    submission_id: SubmissionId
    model: ModelId
    revision: Revision = Field(description="The pinned revision (commit sha) that is evaluated.")
    tasks: list[str]
    benchmark: str | None = None
    priority: Priority = Priority.NORMAL
    accepted_at: UtcDatetime = Field(default_factory=utcnow)


class SubmissionRejected(Event):
    """A submission (from HTTP or the intake subject) was refused, with a typed code."""

    submission_id: SubmissionId
    code: str = Field(description="The refusal code, as in the HTTP error body.")
    message: str
    field: str | None = None
    model: str | None = None
    rejected_at: UtcDatetime = Field(default_factory=utcnow)


class SubmissionCancelled(Event):
    """A submission was cancelled: its pending jobs are dropped, a running task is its last."""

    submission_id: SubmissionId
    cancelled_at: UtcDatetime = Field(default_factory=utcnow)


class SubmissionStatusChanged(Event):
    """A submission moved to another status (DESIGN §3); one event per transition."""

    submission_id: SubmissionId
    status: str = Field(description="The new status, as in the submission document.")
    reason: str | None = None
    at: UtcDatetime = Field(description="When the transition happened (the history entry).")


class Job(Event):
    """One work item: evaluate one model revision on one task."""

    submission_id: SubmissionId
    model: ModelId
    revision: Revision
    task: TaskName
    priority: Priority = Priority.NORMAL
    sealed_token: str | None = Field(
        default=None,
        description="The submitter's Hub token for a private model, encrypted for the evaluators "
        "(`shared.secrets`); never the token itself.",
    )
    custom_task: TaskSpec | None = Field(
        default=None,
        description="The task's definition when it is a custom task: the evaluator builds the "
        "mteb task from it and reads its files from the task data object store.",
    )
    private: bool = Field(
        default=False,
        description="The submission holds a private task: its events go to `lb.private.` subjects.",
    )

    @model_validator(mode="after")
    def _custom_task_is_the_task(self) -> Job:
        if self.custom_task is not None and self.custom_task.name != self.task:
            raise ValueError("custom_task.name must be the job's task")
        return self


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

    submission_id: SubmissionId
    task: TaskName
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
    encoded: int | None = Field(
        default=None,
        ge=0,
        description="Of a running task: texts encoded so far (sent with the job's heartbeats).",
    )
    total: int | None = Field(
        default=None,
        ge=0,
        description="Of a running task: texts its evaluation splits hold, from mteb's "
        "descriptive statistics (an estimate: classification also encodes training samples).",
    )
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

    model: ModelId
    revision: Revision
    task: TaskName
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

    submission_id: SubmissionId
    model: ModelId
    revision: Revision
    task: TaskName
    main_score: float = Field(
        description="The task score: mean main score over its splits and subsets."
    )
    task_result: dict[str, Any] = Field(description="mteb's TaskResult JSON, as mteb writes it.")
    envelope: Envelope
    evaluated_at: UtcDatetime = Field(default_factory=utcnow)


class TaskCreated(Event):
    """A custom task was made, or given a new revision (new data)."""

    task: TaskSpec
    owner: str
    visibility: Visibility
    at: UtcDatetime = Field(default_factory=utcnow)


class TaskPublished(Event):
    """A custom task was made public by its owner (or an admin)."""

    task: CustomTaskName
    revision: str
    at: UtcDatetime = Field(default_factory=utcnow)


class TaskDeleted(Event):
    """A custom task was deleted with its data and results."""

    task: CustomTaskName
    results_deleted: int = Field(ge=0, description="How many stored results went with it.")
    at: UtcDatetime = Field(default_factory=utcnow)


class LeaderboardUpdated(Event):
    """A materialized leaderboard document was replaced."""

    leaderboard_id: str
    version: int
    generated_at: UtcDatetime


SUBJECT_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def subject_token(name: str) -> str:
    """A name as one NATS subject token (dots, spaces and wildcards replaced)."""
    return SUBJECT_TOKEN.sub("_", name)


def id_token(submission_id: str) -> str:
    """`submission_id` when it is one subject token; ValueError otherwise (never a wildcard)."""
    if not is_id_token(submission_id):
        raise ValueError("a submission id is letters, digits, `_` and `-` only")
    return submission_id


PRIVATE_PREFIX = "lb.private."
"""Subjects of private tasks and of submissions holding one (a stream outside cannot read)."""


def _private(subject: str, private: bool) -> str:
    """`lb.X…` as `lb.private.X…` when `private`."""
    return f"{PRIVATE_PREFIX}{subject.removeprefix('lb.')}" if private else subject


class Subjects:
    """Every subject of the event contract; submission ids must be tokens. `private`: the
    subject's twin under `lb.private.` (a private task's, or a submission holding one)."""

    INTAKE = "lb.intake.submissions"

    @staticmethod
    def accepted(submission_id: str, private: bool = False) -> str:
        return _private(f"lb.submissions.{id_token(submission_id)}.accepted", private)

    @staticmethod
    def rejected(submission_id: str, private: bool = False) -> str:
        return _private(f"lb.submissions.{id_token(submission_id)}.rejected", private)

    @staticmethod
    def cancelled(submission_id: str, private: bool = False) -> str:
        return _private(f"lb.submissions.{id_token(submission_id)}.cancelled", private)

    @staticmethod
    def submission_status(submission_id: str, private: bool = False) -> str:
        return _private(f"lb.submissions.{id_token(submission_id)}.status", private)

    @staticmethod
    def job(priority: Priority, submission_id: str, task: str) -> str:
        return f"lb.jobs.{priority.value}.{id_token(submission_id)}.{subject_token(task)}"

    @staticmethod
    def status(submission_id: str, private: bool = False) -> str:
        return _private(f"lb.status.{id_token(submission_id)}", private)

    @staticmethod
    def result(submission_id: str, task: str, private: bool = False) -> str:
        return _private(f"lb.results.{id_token(submission_id)}.{subject_token(task)}", private)

    @staticmethod
    def leaderboard_updated(leaderboard_id: str, private: bool = False) -> str:
        return _private(f"lb.leaderboard.{subject_token(leaderboard_id)}.updated", private)

    @staticmethod
    def task_event(
        task: str, action: Literal["created", "published", "deleted"], private: bool
    ) -> str:
        """A custom task's event; a private task's go under `lb.private.`, never read outside."""
        return _private(f"lb.tasks.{id_token(task)}.{action}", private)

    @staticmethod
    def dead_letter(stream: str) -> str:
        return f"lb.dlq.{stream}"
