"""The shared public-results checkout, read two ways: by mteb's own code and into ResultRows.

Used by the table equality tests and benchmarks/bench_table.py to feed both sides the same
files. `mteb_frame` is the path of mteb 2.26's leaderboard: `ResultCache` load, then
`_to_results_df(benchmark.tasks)` (score validation per task, `join_revisions`), then its
default model filter (the registry's models).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import mteb
import polars as pl
from mteb.cache import ResultCache
from mteb.models.model_implementations import MODEL_REGISTRY

from shared.summary.rows import ResultRow, result_row_from_task_result

# `LEADERBOARD_TEST_RESULTS` points elsewhere (a missing path: the tests that need it skip)
RESULTS_CHECKOUT = Path(
    os.environ.get(
        "LEADERBOARD_TEST_RESULTS",
        Path(__file__).resolve().parents[3] / "shared" / "mteb-results",
    )
)


def load_mteb_results(
    benchmark: mteb.Benchmark, checkout: Path = RESULTS_CHECKOUT
) -> mteb.BenchmarkResults:
    """mteb's load of `checkout`, as its leaderboard rebuild does (registry models only)."""
    cache = ResultCache(checkout)
    return cache.load_results(
        models=list(MODEL_REGISTRY),
        tasks=benchmark,
        only_main_score=True,
        require_model_meta=False,
        include_remote=False,
        load_experiments="match_name",
    )


def mteb_frame(results: mteb.BenchmarkResults, benchmark: mteb.Benchmark) -> pl.DataFrame:
    """The long frame mteb's leaderboard hands to `Benchmark._create_summary_table`."""
    frame = results._to_results_df(benchmark.tasks)
    return frame.filter(pl.col("model_name").is_in(list(MODEL_REGISTRY)))


def result_rows(task_names: set[str], checkout: Path = RESULTS_CHECKOUT) -> Iterator[ResultRow]:
    """ResultRows of the checkout's task files (experiments skipped), model and revision read
    from each folder's `model_meta.json` as mteb does, else from the folder names."""
    for revision_dir in sorted(checkout.glob("results/*/*")):
        meta_path = revision_dir / "model_meta.json"
        model = revision_dir.parent.name.replace("__", "/")
        revision: str | None = revision_dir.name
        if meta_path.exists():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            model, revision = meta["name"], meta.get("revision")
        for path in sorted(revision_dir.glob("*.json")):
            if path.stem in task_names:
                data = json.loads(path.read_text(encoding="utf-8"))
                yield result_row_from_task_result(data, model, revision or "no_revision_available")
