"""mteb-exact benchmark summary tables (owned by the aggregation work, issue 5).

Interface agreed between the pieces of issue 5; the implementation fills it in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import mteb
from mteb.models import ModelMeta
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
    rank_borda: int | None
    zero_shot: int
    n_parameters_b: float | None
    n_active_parameters_b: float | None
    embed_dim: int | None
    max_tokens: int | None
    mean_task: float | None
    mean_task_type: float | None
    type_means: dict[str, float | None]
    task_scores: dict[str, float | None]
    mean_task_ci: tuple[float, float] | None = None
    rank_ci: tuple[int, int] | None = None
    tie_group: int | None = None


class BenchmarkTable(BaseModel):
    """A benchmark's (or custom task subset's) summary table."""

    benchmark: str
    tasks: list[str]
    task_types: list[str]
    rows: list[BenchmarkRow]


def build_table(
    benchmark: mteb.Benchmark,
    results: Iterable[ResultRow],
    models: Mapping[str, ModelMeta],
    tasks: Sequence[str] | None = None,
    bootstrap_resamples: int = 1000,
    seed: int = 0,
) -> BenchmarkTable:
    """The summary table of `benchmark` (or of its `tasks` subset), as mteb's table code makes it."""
    raise NotImplementedError
