"""Documents kept in MongoDB (DESIGN §6), read back through these models."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from shared.custom_tasks.spec import TaskSpec
from shared.events import (
    Envelope,
    FailureKind,
    Priority,
    TaskState,
    UtcDatetime,
    Visibility,
    utcnow,
)
from shared.summary.table import BenchmarkTable


class Document(BaseModel):
    """A stored document; `id` is Mongo's string `_id`."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str = Field(alias="_id")

    def to_mongo(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="python")


class SubmissionStatus(StrEnum):
    """The submission lifecycle of DESIGN §3."""

    ACCEPTED = "accepted"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in {self.COMPLETED, self.FAILED, self.CANCELLED}


class TaskProgress(BaseModel):
    """Where one task of a submission stands."""

    task: str
    state: TaskState = TaskState.QUEUED
    reason: str | None = None
    main_score: float | None = None
    evaluator_id: str | None = None
    attempt: int | None = Field(default=None, description="The delivery of the job now running.")
    encoded: int | None = Field(default=None, description="Texts encoded so far, while running.")
    total: int | None = Field(default=None, description="Texts to encode in all (an estimate).")
    updated_at: UtcDatetime = Field(default_factory=utcnow)
    started_at: UtcDatetime | None = Field(
        default=None, description="When its latest run started (the queue shows elapsed time)."
    )
    failure: FailureKind | None = Field(default=None, description="The class of a failure.")


class StatusChange(BaseModel):
    """One transition of a submission, with its time."""

    status: SubmissionStatus
    at: UtcDatetime = Field(default_factory=utcnow)


class ModelFacts(BaseModel):
    """What validation learned about the model, kept for the model page."""

    parameters: int | None = Field(default=None, description="From the safetensors header.")
    embed_dim: int | None = Field(
        default=None, description="Embedding dimension, from the sentence-transformers modules."
    )
    max_tokens: int | None = Field(
        default=None, description="`max_seq_length` of the Transformer module (or the context)."
    )
    embedding_parameters: int | None = Field(
        default=None, description="Vocabulary × hidden size of `config.json`, as mteb estimates."
    )
    release_date: str | None = Field(
        default=None, description="Day of the Hub repository's first commit (YYYY-MM-DD)."
    )
    license: str | None = None
    languages: list[str] = Field(default_factory=list)
    base_model: list[str] = Field(default_factory=list)
    private: bool = False
    source: str = Field(default="hub", description="`hub` or `mirror` (the offline model mirror).")


class SubmissionDoc(Document):
    """A submission and its per-task progress; `version` guards concurrent updates."""

    model: str
    revision: str
    requested_revision: str | None = None
    submitted_by: str | None = Field(default=None, description="Name of the submitting API key.")
    facts: ModelFacts = Field(default_factory=ModelFacts)
    benchmark: str | None = None
    priority: Priority = Priority.NORMAL
    visibility: Visibility = Field(
        default=Visibility.PUBLIC,
        description="`private` when it holds a private custom task: shown to its key and admins "
        "only, its events on `lb.private.` subjects.",
    )
    status: SubmissionStatus = SubmissionStatus.ACCEPTED
    reason: str | None = None
    tasks: list[TaskProgress]
    history: list[StatusChange] = Field(default_factory=list)
    created_at: UtcDatetime = Field(default_factory=utcnow)
    updated_at: UtcDatetime = Field(default_factory=utcnow)
    version: int = 0

    def task(self, name: str) -> TaskProgress | None:
        return next((progress for progress in self.tasks if progress.task == name), None)

    @property
    def private(self) -> bool:
        return self.visibility is Visibility.PRIVATE

    def set_status(self, status: SubmissionStatus, reason: str | None = None) -> None:
        """Move to `status`, recording the change; a terminal status is never left."""
        if self.status == status or self.status.terminal:
            return
        self.status = status
        self.reason = reason
        self.history.append(StatusChange(status=status))


class ApiKeyDoc(Document):
    """An API key, stored by the SHA-256 of the key (the `_id`); the key itself is never kept."""

    name: str
    admin: bool = False
    revoked: bool = False
    created_at: UtcDatetime = Field(default_factory=utcnow)


class HubSource(BaseModel):
    """Where a custom task's data came from on the Hugging Face Hub."""

    hub_dataset: str = Field(description="The Hub dataset id.")
    hub_revision: str = Field(description="The branch, tag or commit asked for.")
    hub_commit: str = Field(description="The commit the Hub resolved it to.")


class CustomTaskDoc(Document):
    """A custom task (`_id` is its name): its current spec, owner and visibility."""

    spec: TaskSpec
    owner: str = Field(description="Name of the API key that made the task.")
    visibility: Visibility = Visibility.PRIVATE
    earlier_revisions: list[str] = Field(
        default_factory=list, description="Revisions the task had before, oldest first."
    )
    source: HubSource | None = Field(
        default=None, description="The Hub dataset the current revision was read from."
    )
    created_at: UtcDatetime = Field(default_factory=utcnow)
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class CustomBenchmarkDoc(Document):
    """A named set of tasks (custom and registry) ranked like a registry benchmark; `_id` is its
    name."""

    description: str = ""
    tasks: list[str]
    owner: str = Field(description="Name of the API key that made the benchmark.")
    visibility: Visibility = Visibility.PRIVATE
    created_at: UtcDatetime = Field(default_factory=utcnow)


class KeyUsageDoc(Document):
    """Submissions one key made on one UTC day; `_id` is `<key hash>|<YYYY-MM-DD>`."""

    count: int = 0


class TaskClaimDoc(Document):
    """Which submission evaluates `(model, sha, task)`; `_id` is `task_claim_id(...)`."""

    submission_id: str
    claimed_at: UtcDatetime = Field(default_factory=utcnow)


def task_claim_id(model: str, revision: str, task: str) -> str:
    """`<model>@<sha>|<task>`: one live evaluation per key, whatever the mteb version."""
    return f"{model}@{revision}|{task}"


STORED_US = (
    "When the store wrote it, in µs since the epoch (an int: range queries on dates are slow in "
    "the embedded store); 0 before."
)


def now_us() -> int:
    """Now, in microseconds since the epoch."""
    return time.time_ns() // 1000


def result_id(model: str, revision: str, task: str, mteb_version: str) -> str:
    """`<model>@<sha>|<task>|<mteb major.minor>`: one stored result per key."""
    major_minor = ".".join(mteb_version.split(".")[:2])
    return f"{model}@{revision}|{task}|{major_minor}"


class ResultDoc(Document):
    """One model revision's result on one task, from an evaluator or an imported results repo."""

    model: str
    revision: str
    task: str
    main_score: float | None = Field(
        description="Mean main score over the task's own splits and subsets; None if incomplete."
    )
    submission_id: str | None = Field(default=None, description="None for imported results.")
    task_result: dict[str, Any] = Field(
        default_factory=dict, description="mteb's TaskResult JSON; left out of listings."
    )
    envelope: Envelope | None = Field(default=None, description="None for imported results.")
    evaluated_at: UtcDatetime
    mteb_version: str | None = None
    dataset_revision: str | None = Field(
        default=None, description="The dataset revision the TaskResult was computed on."
    )
    scores_json: str = Field(
        default="{}",
        description="JSON split → hf_subset → main score, every numeric one (NaN left out, as "
        "missing); one string, as the embedded store writes nested documents slowly.",
    )
    task_result_z: str = Field(
        default="",
        description="mteb's TaskResult JSON (NaN kept), zlib-compressed and base64-encoded; left "
        "out of listings.",
    )
    source: Literal["evaluator", "import"] = "evaluator"
    source_file: str | None = Field(
        default=None, description="An imported file's path inside the results folder."
    )
    source_sha: str | None = Field(default=None, description="SHA-256 of that file's bytes.")
    source_commit: str | None = Field(
        default=None,
        description="The git commit the results checkout was at when the file was read; None "
        "when the checkout was not a git repository (or its HEAD unreadable).",
    )
    digest: str = Field(default="", description="Hash of the content; equal digest, no rewrite.")
    stored_us: int = Field(default=0, description=STORED_US)

    def score_map(self) -> dict[str, dict[str, float]]:
        """split → hf_subset → main score."""
        scores: dict[str, dict[str, float]] = json.loads(self.scores_json)
        return scores


class ModelRevision(BaseModel):
    """One revision of a model and its mteb ModelMeta JSON (`model_meta.json`), if known."""

    revision: str
    meta_json: str | None = None


class ModelDoc(Document):
    """A model (`_id` = its name) and the revisions results were stored for."""

    revisions: list[ModelRevision] = Field(default_factory=list)
    stored_us: int = Field(default=0, description=STORED_US)

    def revision(self, name: str) -> ModelRevision | None:
        return next((entry for entry in self.revisions if entry.revision == name), None)


class LeaderboardRow(BaseModel):
    """One ranked row of a leaderboard, with where its result came from."""

    rank: int
    model: str
    revision: str
    main_score: float
    evaluated_at: UtcDatetime
    submission_id: str | None = None
    source: Literal["evaluator", "import"] = Field(
        description="`evaluator`: evaluated by this installation (`submission_id`); `import`: "
        "read from a results repository checkout (`source_file` at `source_commit`)."
    )
    source_file: str | None = None
    source_commit: str | None = None
    stale_reason: str | None = Field(
        default=None,
        description="Set when the result is stale (an older mteb, another dataset revision than "
        "the installed task's): why; `leaderboard reevaluate --stale` queues it again.",
    )

    @model_validator(mode="before")
    @classmethod
    def _source_of_older_rows(cls, data: Any) -> Any:
        """Rows stored before `source` existed: only results evaluated here had a submission."""
        if isinstance(data, dict) and "source" not in data:
            return data | {"source": "evaluator" if data.get("submission_id") else "import"}
        return data


class LeaderboardDoc(Document):
    """A materialized leaderboard, replaced whole on every change."""

    kind: str = Field(description="`task` for a single task's ranking.")
    name: str
    rows: list[LeaderboardRow] = Field(default_factory=list)
    generated_at: UtcDatetime = Field(default_factory=utcnow)
    version: int = 1


def task_leaderboard_id(task: str) -> str:
    return f"task:{task}"


def benchmark_leaderboard_id(benchmark: str) -> str:
    return f"benchmark:{benchmark}"


class BenchmarkLeaderboardDoc(Document):
    """A benchmark's materialized summary table, replaced whole (one write) on every change.

    The table is stored as one JSON string: the embedded store writes nested documents slowly.
    It is read into row objects on first use of `table`, so a reader of the header fields only
    pays no parse.
    """

    kind: Literal["benchmark"] = "benchmark"
    name: str
    table_json: str = Field(alias="table")
    """The table's JSON (`BenchmarkTable.model_dump_json`)."""
    generated_at: UtcDatetime = Field(default_factory=utcnow)
    version: int = 1

    @field_validator("table_json", mode="before")
    @classmethod
    def _table_as_json(cls, value: Any) -> Any:
        if isinstance(value, dict):  # a table given as a mapping
            value = BenchmarkTable.model_validate(value)
        if isinstance(value, BenchmarkTable):
            return value.model_dump_json()
        return value

    @cached_property
    def table(self) -> BenchmarkTable:
        """The table, validated (ValidationError for a malformed stored one). A table stored by
        an earlier version with its rows as lists (`row_fields`) is read too."""
        data = json.loads(self.table_json)
        if isinstance(data, dict) and "row_fields" in data:
            data["rows"] = [_row_of_lists(data, values) for values in data["rows"]]
        return BenchmarkTable.model_validate(data)


def _row_of_lists(table: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    """A row stored as a list: the values of `row_fields`, then type means and task scores."""
    *scalars, type_means, task_scores = values
    row = dict(zip(table["row_fields"], scalars, strict=True))
    row["type_means"] = dict(zip(table["task_types"], type_means, strict=True))
    row["task_scores"] = dict(zip(table["tasks"], task_scores, strict=True))
    return row


class SnapshotRow(BaseModel):
    """One model's standing in a dated snapshot."""

    model: str
    revision: str
    rank_borda: int | None
    rank_ci: tuple[int, int] | None = None
    mean_task: float | None
    mean_task_ci: tuple[float, float] | None = None
    mean_task_type: float | None


SNAPSHOT_ROWS: TypeAdapter[list[SnapshotRow]] = TypeAdapter(list[SnapshotRow])


class SnapshotDoc(Document):
    """A benchmark's standings on one UTC day (`_id` = `<benchmark>|<day>`); the last one wins.

    The rows are stored as one JSON string, as the table of a leaderboard is.
    """

    benchmark: str
    day: str
    version: int
    generated_at: UtcDatetime
    rows: list[SnapshotRow]

    @field_validator("rows", mode="before")
    @classmethod
    def _stored_rows(cls, value: Any) -> Any:
        return SNAPSHOT_ROWS.validate_json(value) if isinstance(value, str) else value

    def to_mongo(self) -> dict[str, Any]:
        return super().to_mongo() | {"rows": SNAPSHOT_ROWS.dump_json(self.rows).decode()}


def snapshot_id(benchmark: str, day: str) -> str:
    return f"{benchmark}|{day}"
