"""Benchmark tables, side by side: mteb 2.26's own path vs `summarize`, on the public results.

Run from the repository root: `python -m benchmarks.bench_table [--repeats N]`.

mteb's path is its leaderboard's: `ResultCache.load_results` of the checkout (registry models),
the benchmark frame (`_to_results_df`), `Benchmark._create_summary_table`. Ours is `summarize`
on ResultRows already in memory (loading them is the store's part, see bench_import.py): the
whole MTEB(eng, v2) table and a 10-task subset, with 1,000 bootstrap resamples, computed from
scratch and, as the aggregator and the web compute them, from task parts kept between tables
(`mirror.TaskParts`; for the full table, after one new result of a model outside the pool);
then the scale run: the same table on a synthetic pool ten times larger (each model's results
copied nine times under other names, scores jittered, all in the official pool).
The process runs with the services' memory settings (`shared.memory`: rare young collections,
the loaded rows frozen out of cyclic collections). Each step runs once first (it fills the
Zero-shot training-data walk's cache), then `repeats` times for the median wall time; the scale
run times both tables in turns. Prints a Markdown table; nothing here is a test.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import mteb
import numpy as np
from mteb.models import ModelMeta

from shared.memory import collect_cycles_rarely, freeze_loaded_objects, keep_freed_memory
from shared.summary.mirror import ResultMirror, TaskParts
from shared.summary.models import in_official_pool, model_meta
from shared.summary.rows import ResultRow
from shared.summary.table import summarize
from tests.support.results_repo import load_mteb_results, mteb_frame, result_rows

BENCHMARK = "MTEB(eng, v2)"
RESAMPLES = 1000


def median_ms(run: Callable[[], Any], repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def scaled(rows: list[ResultRow], copies: int) -> list[ResultRow]:
    """`rows` and `copies` − 1 jittered copies of each under the names `<model>#<k>`."""
    rng = np.random.default_rng(0)
    grown = list(rows)
    for k in range(1, copies):
        for row in rows:
            scores = {
                split: {subset: value * (1 + rng.normal(0, 0.01)) for subset, value in by.items()}
                for split, by in row.scores.items()
            }
            grown.append(row.model_copy(update={"model": f"{row.model}#{k}", "scores": scores}))
    return grown


def base_name(name: str) -> str:
    return name.split("#")[0]


def base_meta(name: str) -> ModelMeta:
    return model_meta(base_name(name))


def base_pool(name: str) -> bool:
    return in_official_pool(base_name(name))


def interleaved(
    small: Callable[[], Any], large: Callable[[], Any], repeats: int
) -> tuple[float, float, float]:
    """Median ms of `small` and of `large`, run in turns so that both see the same machine,
    and the median ratio of their times."""
    small(), large()
    pairs = []
    for _ in range(repeats):
        began = time.perf_counter()
        small()
        middle = time.perf_counter()
        large()
        pairs.append((middle - began, time.perf_counter() - middle))
    return (
        statistics.median(a for a, _ in pairs) * 1000,
        statistics.median(b for _, b in pairs) * 1000,
        statistics.median(b / a for a, b in pairs),
    )


def changed_one(
    mirror: ResultMirror, parts: TaskParts, benchmark: mteb.Benchmark, tasks: list[str] | None
) -> Any:
    """A live update's table: one new BIOSSES result mirrored, the table from the kept parts."""
    score = float(np.random.default_rng().random())
    new = ResultRow(
        model="bench/new-model",
        revision="r1",
        task="BIOSSES",
        mteb_version="2.26.24",
        scores={"test": {"default": score}},
        evaluated_here=True,
    )
    mirror.put("bench/new-model|BIOSSES", new)
    return parts.table(benchmark, tasks, RESAMPLES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    repeats = parser.parse_args().repeats
    keep_freed_memory()  # the services' memory settings (`shared.memory`)
    collect_cycles_rarely()
    benchmark = mteb.get_benchmark(BENCHMARK)
    began = time.perf_counter()
    frame = mteb_frame(load_mteb_results(benchmark), benchmark)
    mteb_load_s = time.perf_counter() - began
    rows = list(result_rows({task.metadata.name for task in benchmark.tasks}))
    subset = [task.metadata.name for task in benchmark.tasks][:10]
    big = scaled(rows, 10)
    freeze_loaded_objects()  # as the aggregator and the web do with what they load
    mirror = ResultMirror()
    for number, row in enumerate(rows):
        mirror.put(str(number), row)
    parts = TaskParts(mirror)
    table = summarize(benchmark, rows, model_meta, bootstrap_resamples=0)
    big_table = summarize(benchmark, big, base_meta, bootstrap_resamples=0, is_official=base_pool)
    scale = interleaved(
        lambda: summarize(benchmark, rows, base_meta, None, RESAMPLES, is_official=base_pool),
        lambda: summarize(benchmark, big, base_meta, None, RESAMPLES, is_official=base_pool),
        max(repeats // 2, 3),
    )
    figures = [
        ("mteb: load the checkout (ResultCache + frame)", mteb_load_s * 1000),
        (
            "mteb: summary table from its frame",
            median_ms(lambda: benchmark._create_summary_table(frame), repeats),
        ),
        (
            f"ours: full table, {len(table.rows)} rows, {RESAMPLES} resamples",
            median_ms(lambda: summarize(benchmark, rows, model_meta, None, RESAMPLES), repeats),
        ),
        (
            f"ours: 10-task subset, {RESAMPLES} resamples",
            median_ms(lambda: summarize(benchmark, rows, model_meta, subset, RESAMPLES), repeats),
        ),
        (
            f"ours: full table, {RESAMPLES} resamples, from kept task parts, one task changed",
            median_ms(lambda: changed_one(mirror, parts, benchmark, None), repeats),
        ),
        (
            f"ours: 10-task subset, {RESAMPLES} resamples, from kept task parts",
            median_ms(lambda: parts.table(benchmark, subset, RESAMPLES), repeats),
        ),
        (
            f"ours: full table ×10 pool, {len(big_table.rows)} rows, {RESAMPLES} resamples",
            scale[1],
        ),
        ("ours: ×10 pool ÷ 317-row table, timed in turns (median of ratios)", scale[2]),
    ]
    print(
        f"{BENCHMARK}, {len(rows)} results; {platform.processor() or platform.machine()}, "
        f"median of {repeats}\n"
    )
    print("| step | ms (or ratio) |\n|---|---:|")
    for label, figure in figures:
        print(f"| {label} | {figure:.1f} |" if figure < 100 else f"| {label} | {figure:.0f} |")


if __name__ == "__main__":
    main()
