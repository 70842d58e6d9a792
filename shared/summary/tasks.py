"""Benchmarks and tasks from mteb's registry, and the (split, subset) cells a benchmark reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import mteb
from mteb.abstasks.abstask import AbsTask
from mteb.benchmarks.benchmark import BenchmarkAggregation, RtebBenchmark

from shared.custom_tasks import catalogue


class UnknownBenchmarkError(KeyError):
    """A benchmark name that neither mteb's registry nor the custom catalogue knows."""


class UnknownTaskError(KeyError):
    """A task name that neither mteb's registry nor the custom catalogue knows."""


def benchmark_named(name: str) -> mteb.Benchmark:
    """The benchmark `name`: the registry's, else a custom one (`shared.custom_tasks`)."""
    try:
        return _registry_benchmark(name)
    except UnknownBenchmarkError:
        benchmark = custom_benchmark(name)
        if benchmark is None:
            raise
        return benchmark


@lru_cache(maxsize=1024)
def _registry_benchmark(name: str) -> mteb.Benchmark:
    try:
        return mteb.get_benchmark(name)
    except (KeyError, ValueError):
        raise UnknownBenchmarkError(name) from None


def custom_benchmark(name: str) -> mteb.Benchmark | None:
    """The custom benchmark `name` of the catalogue as an mteb Benchmark (None: there is none).

    Its tasks are those of the catalogue: one deleted since the benchmark was made is left out.
    """
    custom = catalogue.CURRENT.benchmarks.get(name)
    if custom is None:
        return None
    tasks = []
    for task in dict.fromkeys(custom.tasks):
        try:
            tasks.append(task_named(task))
        except UnknownTaskError:
            continue
    return mteb.Benchmark(name=custom.id, tasks=tasks, description=custom.description or None)


def is_custom_benchmark(name: str) -> bool:
    """Whether `name` is a custom benchmark (of the catalogue, not of mteb's registry): one that
    ranks every model with results, mteb's registry pool being no pool of it."""
    if name not in catalogue.CURRENT.benchmarks:
        return False
    try:
        _registry_benchmark(name)
    except UnknownBenchmarkError:
        return True
    return False


def task_named(name: str) -> AbsTask:
    """The task `name`: the registry's, else a custom one (metadata only)."""
    try:
        return _registry_task(name)
    except UnknownTaskError:
        custom = catalogue.CURRENT.task(name)
        if custom is None:
            raise
        return custom


@lru_cache(maxsize=4096)
def _registry_task(name: str) -> AbsTask:
    try:
        return mteb.get_task(name)
    except KeyError:
        raise UnknownTaskError(name) from None


@lru_cache(maxsize=1)
def benchmarks_by_task() -> dict[str, tuple[mteb.Benchmark, ...]]:
    """Task name → the registry's benchmarks that contain it."""
    index: dict[str, list[mteb.Benchmark]] = {}
    for benchmark in mteb.get_benchmarks():
        for task in dict.fromkeys(task.metadata.name for task in benchmark.tasks):
            index.setdefault(task, []).append(benchmark)
    return {task: tuple(benchmarks) for task, benchmarks in index.items()}


def benchmarks_containing(tasks: Iterable[str]) -> list[mteb.Benchmark]:
    """The benchmarks that contain any of `tasks`, each once, by name: the registry's and the
    custom ones of the catalogue as it is now."""
    wanted = set(tasks)
    found = {b.name: b for task in wanted for b in benchmarks_by_task().get(task, ())}
    for name, custom in catalogue.CURRENT.benchmarks.items():
        if name not in found and wanted.intersection(custom.tasks):
            benchmark = custom_benchmark(name) if is_custom_benchmark(name) else None
            if benchmark is not None:
                found[name] = benchmark
    return [found[name] for name in sorted(found)]


@dataclass(frozen=True)
class TaskCells:
    """The (split, subset) cells a benchmark reads of one task."""

    name: str
    task_type: str
    splits: frozenset[str]
    subsets: frozenset[str]

    @classmethod
    def of(cls, task: AbsTask) -> TaskCells:
        """The task object's own (possibly language-filtered) eval splits and hf_subsets.

        An aggregate task is read from its "default" subset only, as mteb's
        `TaskResult.validate_and_filter_scores` does.
        """
        subsets = {"default"} if task.is_aggregate else set(task.hf_subsets)
        return cls(
            name=task.metadata.name,
            task_type=task.metadata.type,
            splits=frozenset(task.eval_splits),
            subsets=frozenset(subsets),
        )


def benchmark_tasks(benchmark: mteb.Benchmark, tasks: Sequence[str] | None) -> list[TaskCells]:
    """The benchmark's tasks (or its `tasks` subset) that its summary table ranks.

    RTEB benchmarks rank their public tasks only (mteb's `RtebBenchmark` override).
    Raises ValueError for names that are not tasks of the benchmark.
    """
    cells = [TaskCells.of(task) for task in benchmark.tasks]
    if isinstance(benchmark, RtebBenchmark):
        public = {task.metadata.name for task in benchmark.tasks if task.metadata.is_public}
        cells = [task for task in cells if task.name in public]
    if tasks is None:
        return cells
    wanted = set(tasks)
    unknown = sorted(wanted - {task.metadata.name for task in benchmark.tasks})
    if unknown:
        raise ValueError(f"not tasks of benchmark {benchmark.name!r}: {', '.join(unknown)}")
    if not wanted:
        raise ValueError("a custom task subset needs at least one task")
    return [task for task in cells if task.name in wanted]


def partitions_by_subset(benchmark: mteb.Benchmark) -> bool:
    """Whether `benchmark` ranks (task, subset) pairs rather than tasks (HUME's weighting)."""
    return BenchmarkAggregation.MEAN_SUBSET in benchmark.aggregations
