"""What defines a custom task: its type, metadata and content-addressed data files."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

TASK_NAME = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
"""A custom task's name: one NATS subject token, starting with a letter."""
SHA256 = r"^[0-9a-f]{64}$"

CustomTaskName = Annotated[
    str, Field(pattern=TASK_NAME, description="Letters, digits, `_` and `-`; a letter first.")
]
Sha256 = Annotated[str, Field(pattern=SHA256, description="A SHA-256 digest, lower-case hex.")]


class TaskType(StrEnum):
    """mteb's text task types a custom task may have."""

    RETRIEVAL = "Retrieval"
    RERANKING = "Reranking"
    STS = "STS"
    PAIR_CLASSIFICATION = "PairClassification"
    CLASSIFICATION = "Classification"
    CLUSTERING = "Clustering"


DEFAULT_MAIN_SCORE: dict[TaskType, str] = {
    TaskType.RETRIEVAL: "ndcg_at_10",
    TaskType.RERANKING: "map_at_1000",
    TaskType.STS: "cosine_spearman",
    TaskType.PAIR_CLASSIFICATION: "max_ap",
    TaskType.CLASSIFICATION: "accuracy",
    TaskType.CLUSTERING: "v_measure",
}
"""The main score of each type unless the task chooses one (mteb's most common choice)."""


class TaskMetadataFields(BaseModel):
    """What the creator of a task says about it (everything but the data)."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=4000)
    languages: list[str] = Field(
        default_factory=lambda: ["eng-Latn"],
        min_length=1,
        max_length=50,
        description="ISO 639-3 code and ISO 15924 script, e.g. `eng-Latn`.",
    )
    domains: list[str] = Field(default_factory=list, max_length=20)
    main_score: str | None = Field(
        default=None, max_length=100, description="Default: mteb's usual one for the type."
    )
    eval_splits: list[str] = Field(default_factory=lambda: ["test"], min_length=1, max_length=10)
    license: str = Field(default="not specified", max_length=100)
    score_range: tuple[float, float] | None = Field(
        default=None, description="STS only: the lowest and highest similarity score."
    )

    @model_validator(mode="after")
    def _range_in_order(self) -> TaskMetadataFields:
        if self.score_range is not None and not self.score_range[0] < self.score_range[1]:
            raise ValueError("score_range must be (lowest, highest) with lowest < highest")
        return self


class TaskSpec(TaskMetadataFields):
    """A custom task as evaluators build it: name, type, metadata and its data files.

    `files` maps each file of the task's datasets folder (its path inside the folder) to the
    SHA-256 of its bytes; the files are kept under those digests. `revision` is the digest of
    that manifest and is the dataset revision every result of the task records.
    """

    name: CustomTaskName
    type: TaskType
    main_score: str  # type: ignore[assignment]  # always set once the task is made
    files: dict[str, Sha256] = Field(min_length=1, max_length=100)
    revision: Sha256

    @staticmethod
    def manifest_revision(files: dict[str, str]) -> str:
        """The revision of a set of files: the SHA-256 of their sorted (path, digest) pairs."""
        manifest = json.dumps(sorted(files.items()), separators=(",", ":"))
        return hashlib.sha256(manifest.encode()).hexdigest()

    @model_validator(mode="after")
    def _revision_matches_files(self) -> TaskSpec:
        if self.revision != self.manifest_revision(self.files):
            raise ValueError("revision is not the digest of the files' manifest")
        return self
