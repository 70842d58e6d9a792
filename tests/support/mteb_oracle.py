"""mteb 2.26's own summary table code run on ResultRows: the reference the tables must equal."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import mteb
import polars as pl
from mteb.benchmarks.benchmark import BenchmarkAggregation, RtebBenchmark
from mteb.results import ModelResult, TaskResult

from shared.summary.rows import ResultRow

ALL_COLUMNS = (
    BenchmarkAggregation.MEAN_TASK,
    BenchmarkAggregation.MEAN_TASK_TYPE,
    BenchmarkAggregation.TASK_TYPES,
)


def mteb_results(rows: Iterable[ResultRow]) -> mteb.BenchmarkResults:
    """mteb's result objects holding the rows' scores, one ModelResult per (model, revision)."""
    by_model: dict[tuple[str, str], list[TaskResult]] = defaultdict(list)
    for row in rows:
        scores = {
            split: [{"main_score": v, "hf_subset": s, "languages": []} for s, v in subs.items()]
            for split, subs in row.scores.items()
        }
        by_model[(row.model, row.revision)].append(
            TaskResult.model_construct(
                dataset_revision="x",
                task_name=row.task,
                mteb_version=row.mteb_version,
                scores=scores,
                evaluation_time=None,
                kg_co2_emissions=None,
            )
        )
    return mteb.BenchmarkResults.model_construct(
        model_results=[
            ModelResult.model_construct(
                model_name=model,
                model_revision=revision,
                task_results=results,
                experiment_name=None,
                model_meta=None,
            )
            for (model, revision), results in by_model.items()
        ]
    )


def mteb_summary(
    benchmark: mteb.Benchmark, frame: pl.DataFrame, tasks: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """mteb's summary rows by model for a frame of `mteb_frame`'s kind, with every candidate
    column kept (Mean (Task), Mean (TaskType), the type means) and Rank (Borda) as its rank,
    restricted to `tasks` as a benchmark of just those tasks would be."""
    if tasks is not None:
        frame = frame.filter(pl.col("task_name").is_in(list(tasks)))
    if isinstance(benchmark, RtebBenchmark):
        frame = frame.filter(pl.col("is_public"))
    extra = [a for a in benchmark.aggregations if a is BenchmarkAggregation.MEAN_SUBSET]
    summary = mteb.benchmarks._create_table._create_summary_table(
        frame, aggregations=(*ALL_COLUMNS, *extra)
    )
    if summary.is_empty:
        return {}
    return {row["Model"]: row for row in summary.df.iter_rows(named=True)}
