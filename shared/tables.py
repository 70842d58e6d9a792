"""The rows and tables of benchmark summaries (raw, unrounded values), shared by the aggregator,
the stored documents and the web."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResultRow(BaseModel):
    """One stored result reduced to what rankings need."""

    model_config = ConfigDict(frozen=True)

    model: str
    revision: str
    task: str
    mteb_version: str | None
    scores: dict[str, dict[str, float]]
    """split -> hf_subset -> main_score, from the TaskResult."""


class BenchmarkRow(BaseModel):
    """One model's row of a benchmark's summary table (raw, unrounded values)."""

    model: str
    revision: str
    """The revision that supplied most of the row's tasks (mteb joins revisions per task)."""
    rank_borda: int | None
    zero_shot: int
    """mteb's Zero-shot percentage; -1 when the model's training data is unknown."""
    n_parameters_b: float | None
    n_active_parameters_b: float | None
    embed_dim: int | None
    max_tokens: int | None
    mean_task: float | None
    mean_task_type: float | None
    type_means: dict[str, float | None]
    task_scores: dict[str, float | None]
    mean_task_ci: tuple[float, float] | None = None
    """95 % bootstrap interval of Mean (Task); None when a task score is missing."""
    rank_ci: tuple[int, int] | None = None
    """95 % bootstrap interval of Rank (Borda)."""
    tie_group: int | None = None
    """Models sharing a tie group are not separable by rank (see `uncertainty.tie_groups`)."""


class BenchmarkTable(BaseModel):
    """A benchmark's (or custom task subset's) summary table."""

    benchmark: str
    tasks: list[str]
    task_types: list[str]
    rows: list[BenchmarkRow]
    bootstrap_resamples: int = 0
    seed: int | None = None
