"""Benchmark tables, side by side: mteb 2.26's own path vs `build_table`, on the public results.

Run from the repository root: `python -m benchmarks.bench_table [--repeats N]`.

mteb's path is its leaderboard's: `ResultCache.load_results` of the checkout, the benchmark
frame (`_to_results_df`, the registry-model filter), `Benchmark._create_summary_table`; and for
a custom subset, the frame restricted to those tasks and the summary of a benchmark of them.
Ours is `build_table` on ResultRows already in memory (loading them is the store's part), for
the whole benchmark and for a 10-task subset, with and without the 1,000-resample bootstrap;
and the subset as the web computes it: from the aggregator's per-task columns (`columns`),
kept between requests ("warm") or computed anew ("cold").
Each step runs once first (a process's first table build also fills the caches of the Zero-shot
training-data walk, mteb's and ours; the resident-set growth of the process is sampled every
millisecond during that run only, as memory once taken is kept), then `repeats` times for the
medians of wall and process CPU time (all threads), then once under tracemalloc (Python objects
and numpy arrays; polars' own buffers are invisible to it).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mteb
import polars as pl
from mteb.models.model_implementations import MODEL_REGISTRY

from services.aggregator.columns import ColumnCache
from shared.summary.mirror import ResultMirror
from services.aggregator.table import build_table, summary_table
from services.evaluator.hardware import cpu_model
from shared.memory import collect_cycles_rarely, freeze_loaded_objects, keep_freed_memory
from tests.mteb_oracle import mteb_summary
from tests.results_repo import RESULTS_CHECKOUT, load_mteb_results, mteb_frame, result_rows

BENCHMARK = "MTEB(eng, v2)"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE


class RssPeak:
    """The peak resident-set growth while the block runs, sampled by a thread every ms."""

    def __enter__(self) -> RssPeak:
        self.start = rss_bytes()
        self.peak = self.start
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.001)

    def __exit__(self, *_: object) -> None:
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.start


@dataclass
class Figure:
    label: str
    seconds: list[float]
    cpu_seconds: list[float]
    rss_growth: int
    traced_peak: int
    cold: float

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(label: str, run: Callable[[], Any], repeats: int) -> tuple[Figure, Any]:
    """A first (cold) run with its peak RSS growth, the median wall and CPU time of `repeats`
    further runs, and one more run's tracemalloc peak."""
    with RssPeak() as rss:
        start = time.perf_counter()
        run()
        cold = time.perf_counter() - start
    seconds, cpu_seconds, result = [], [], None
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = run()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    tracemalloc.start()
    run()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    figure = Figure(label, seconds, cpu_seconds, rss.growth, traced, cold)
    print(f"  {label}: {figure.median * 1000:.1f} ms", flush=True)
    return figure, result


def machine() -> str:
    cpu = cpu_model()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, load average {load} at start; "
        f"Python {platform.python_version()}, mteb {version('mteb')}, numpy {version('numpy')}, "
        f"polars {version('polars')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="repeats of our builds")
    parser.add_argument("--mteb-repeats", type=int, default=3, help="repeats of mteb's steps")
    args = parser.parse_args()
    keep_freed_memory()  # as the services do; for mteb's code too
    collect_cycles_rarely()
    print(f"Machine: {machine()}\nResults: {RESULTS_CHECKOUT}", flush=True)
    benchmark = mteb.get_benchmark(BENCHMARK)
    subset = [task.metadata.name for task in benchmark.tasks[::4]][:10]
    subset_benchmark = mteb.Benchmark(
        name="subset", tasks=[t for t in benchmark.tasks if t.metadata.name in subset]
    )
    n = args.mteb_repeats
    print("mteb 2.26:", flush=True)
    load, results = measure("load", lambda: load_mteb_results(benchmark), n)
    frame_fig, frame = measure("frame", lambda: mteb_frame(results, benchmark), n)
    summary, table = measure("summary table", lambda: benchmark._create_summary_table(frame), n)
    custom, _ = measure(
        "10-task subset",
        lambda: mteb_summary(
            subset_benchmark, frame.filter(pl.col("task_name").is_in(subset)), subset
        ),
        n,
    )
    rows = list(result_rows({task.metadata.name for task in benchmark.tasks}))
    print(f"ours ({len(rows)} ResultRows in memory):", flush=True)
    r = args.repeats

    def ours(label: str, **options: Any) -> Figure:
        figure, built = measure(
            label, lambda: build_table(benchmark, rows, MODEL_REGISTRY, **options), r
        )
        assert len(built.rows) > 0
        return figure

    figures = [
        ours("build_table, full", bootstrap_resamples=0),
        ours("build_table, full + bootstrap", bootstrap_resamples=1000),
        ours("build_table, 10 tasks", tasks=subset, bootstrap_resamples=0),
        ours("build_table, 10 tasks + bootstrap", tasks=subset, bootstrap_resamples=1000),
    ]
    mirror = ResultMirror()
    for number, row in enumerate(row for row in rows if row.model in MODEL_REGISTRY):
        mirror.put(f"{number:08d}", row)
    freeze_loaded_objects()  # as the web does after its first sync
    warm = ColumnCache(mirror)

    def from_columns(cache: ColumnCache, resamples: int) -> Any:
        matrix = cache.matrix(benchmark, subset)
        return summary_table(benchmark.name, matrix, mirror.models(matrix.models), resamples, 0)

    for resamples in (0, 1000):
        expected = build_table(benchmark, rows, MODEL_REGISTRY, subset, resamples)
        assert from_columns(warm, resamples) == expected
        suffix = " + bootstrap" if resamples else ""

        def cold_build(n: int = resamples) -> Any:
            return from_columns(ColumnCache(mirror), n)

        def warm_build(n: int = resamples) -> Any:
            return from_columns(warm, n)

        figures.append(measure(f"10 tasks from columns, cold{suffix}", cold_build, r)[0])
        figures.append(measure(f"10 tasks from columns, warm{suffix}", warm_build, r)[0])
    print(f"\n{table.df.height} models ranked by both; subset: {', '.join(subset)}\n")
    print("| step | median | CPU time | first call | its peak RSS growth | tracemalloc peak |")
    print("|---|---:|---:|---:|---:|---:|")
    for figure in (load, frame_fig, summary, custom, *figures):
        cold = f"{figure.cold * 1000:.0f} ms"
        print(
            f"| {figure.label} | {figure.median * 1000:.1f} ms | "
            f"{statistics.median(figure.cpu_seconds) * 1000:.1f} ms | {cold} | "
            f"{figure.rss_growth / 2**20:.1f} MiB | {figure.traced_peak / 2**20:.1f} MiB |"
        )
    mteb_end_to_end = load.median + frame_fig.median + summary.median
    full, full_boot = figures[0].median, figures[1].median
    print(
        f"\nmteb load + frame + table: {mteb_end_to_end:.2f} s; ours full: {full * 1000:.0f} ms "
        f"({mteb_end_to_end / full:.0f}×), with bootstrap {full_boot * 1000:.0f} ms "
        f"({mteb_end_to_end / full_boot:.0f}×); mteb frame + table alone "
        f"{(frame_fig.median + summary.median) / full:.0f}× ours"
    )


if __name__ == "__main__":
    main()
