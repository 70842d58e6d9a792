"""Documents kept in MongoDB (DESIGN §6), read back through these models."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Envelope, Priority, TaskState, UtcDatetime, utcnow


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
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class StatusChange(BaseModel):
    """One transition of a submission, with its time."""

    status: SubmissionStatus
    at: UtcDatetime = Field(default_factory=utcnow)


class SubmissionDoc(Document):
    """A submission and its per-task progress; `version` guards concurrent updates."""

    model: str
    revision: str
    requested_revision: str | None = None
    benchmark: str | None = None
    priority: Priority = Priority.NORMAL
    status: SubmissionStatus = SubmissionStatus.ACCEPTED
    reason: str | None = None
    tasks: list[TaskProgress]
    history: list[StatusChange] = Field(default_factory=list)
    created_at: UtcDatetime = Field(default_factory=utcnow)
    updated_at: UtcDatetime = Field(default_factory=utcnow)
    version: int = 0

    def task(self, name: str) -> TaskProgress | None:
        return next((progress for progress in self.tasks if progress.task == name), None)

    def set_status(self, status: SubmissionStatus, reason: str | None = None) -> None:
        """Move to `status`, recording the change; a terminal status is never left."""
        if self.status == status or self.status.terminal:
            return
        self.status = status
        self.reason = reason
        self.history.append(StatusChange(status=status))


def result_id(model: str, revision: str, task: str, mteb_version: str) -> str:
    """`<model>@<sha>|<task>|<mteb major.minor>`: one stored result per key."""
    major_minor = ".".join(mteb_version.split(".")[:2])
    return f"{model}@{revision}|{task}|{major_minor}"


class ResultDoc(Document):
    """One model revision's result on one task."""

    model: str
    revision: str
    task: str
    main_score: float
    submission_id: str
    task_result: dict[str, Any] = Field(
        default_factory=dict, description="mteb's TaskResult JSON; left out of listings."
    )
    envelope: Envelope
    evaluated_at: UtcDatetime


class LeaderboardRow(BaseModel):
    """One ranked row of a leaderboard."""

    rank: int
    model: str
    revision: str
    main_score: float
    evaluated_at: UtcDatetime
    submission_id: str


class LeaderboardDoc(Document):
    """A materialized leaderboard, replaced whole on every change."""

    kind: str = Field(description="`task` for a single task's ranking.")
    name: str
    rows: list[LeaderboardRow] = Field(default_factory=list)
    generated_at: UtcDatetime = Field(default_factory=utcnow)
    version: int = 1


def task_leaderboard_id(task: str) -> str:
    return f"task:{task}"
