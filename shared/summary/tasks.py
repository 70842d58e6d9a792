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
    """A benchmark name that mteb's registry does not know."""


class UnknownTaskError(KeyError):
    """A task name that mteb's registry does not know."""


def benchmark_named(name: str) -> mteb.Benchmark:
    """The benchmark `name`: the registry's, else a custom one (`shared.custom_tasks`)."""
    try:
        return mteb.get_benchmark(name)
    except (KeyError, ValueError):
        pass
    custom = catalogue.CURRENT.benchmarks.get(name)
    if custom is None:
        raise UnknownBenchmarkError(name)
    tasks = [task_named(task) for task in custom.tasks]
    return mteb.Benchmark(name=custom.id, tasks=tasks, description=custom.description or None)


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
    """The benchmarks that contain any of `tasks`, each once, by name."""
    found = {b.name: b for task in tasks for b in benchmarks_by_task().get(task, ())}
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
