"""Which tasks and models a benchmark view ranks, as mteb 2.26's leaderboard selects them.

Tasks: mteb's `_cache_update_task_list` (task type, domain, language, modality; a task without
domains, languages or modalities is not filtered on them), then the chosen tasks. Languages
also narrow each task to the (split, subset) cells of those languages, as mteb's
`update_tables` filters the score rows by language (here from the task's metadata: a subset's
language scripts). Models: mteb's `_filter_models` (availability, instructions, frameworks,
size, model type, zero-shot on the chosen tasks), except that a model of unknown size stays
unless the query hides unknown sizes (mteb drops them under any size filter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache

import mteb
from mteb.abstasks import AbsTask
from mteb.models import ModelMeta

from services.web.query import (
    SENTENCE_TRANSFORMERS,
    Availability,
    BenchmarkQuery,
    Choices,
    Instructions,
    ZeroShot,
)
from shared.custom_tasks import catalogue
from shared.summary.models import parameters_b, training_datasets
from shared.summary.tasks import TaskCells, benchmark_named, task_named


def _sorted(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(values))


def choices_of(name: str) -> Choices:
    """Benchmark `name`'s tasks, task types, domains, modalities and languages (ISO 639-3);
    a custom benchmark's (which may change) read each time."""
    if name in catalogue.CURRENT.benchmarks:
        return _choices(benchmark_named(name).tasks)
    return _registry_choices(name)


@lru_cache(maxsize=256)
def _registry_choices(name: str) -> Choices:
    return _choices(mteb.get_benchmark(name).tasks)


def _choices(tasks: Sequence[AbsTask]) -> Choices:
    return Choices(
        tasks=tuple(sorted(dict.fromkeys(task.metadata.name for task in tasks))),
        types=_sorted({task.metadata.type for task in tasks}),
        domains=_sorted({domain for task in tasks for domain in task.metadata.domains or ()}),
        modalities=_sorted({m for task in tasks for m in task.metadata.modalities or ()}),
        languages=_sorted({language for task in tasks for language in task.languages}),
    )


def _task_kept(task: AbsTask, query: BenchmarkQuery) -> bool:
    """mteb's `_cache_update_task_list` test of one task (an empty choice: no filter)."""
    meta = task.metadata
    if query.types and meta.type not in query.types:
        return False
    if query.domains and meta.domains and not set(meta.domains) & set(query.domains):
        return False
    if query.languages and task.languages and not set(task.languages) & set(query.languages):
        return False
    return not (
        query.modalities and meta.modalities and not set(meta.modalities) & set(query.modalities)
    )


def selected_tasks(benchmark: mteb.Benchmark, query: BenchmarkQuery) -> list[str] | None:
    """The tasks the query ranks, in the benchmark's order; None for all of them."""
    if not query.customised:
        return None
    chosen = set(query.tasks)
    names = [
        task.metadata.name
        for task in benchmark.tasks
        if (not chosen or task.metadata.name in chosen) and _task_kept(task, query)
    ]
    return list(dict.fromkeys(names))


def language_filter(benchmark: mteb.Benchmark, query: BenchmarkQuery) -> frozenset[str] | None:
    """The languages the cells are narrowed to; None when the query covers all of them."""
    if not query.languages or set(query.languages) >= set(choices_of(benchmark.name).languages):
        return None
    return frozenset(query.languages)


def subset_languages(task_name: str) -> dict[str, frozenset[str]]:
    """Each subset's languages (ISO 639-3) by the task's metadata; `default` the task's own."""
    return _subset_languages(task_name, task_revision(task_name))


def task_revision(task_name: str) -> str | None:
    """A custom task's revision (what its metadata is kept by); None for a registry task."""
    custom = catalogue.CURRENT.tasks.get(task_name)
    return custom.spec.revision if custom is not None else None


@lru_cache(maxsize=4096)
def _subset_languages(task_name: str, revision: str | None) -> dict[str, frozenset[str]]:
    task = task_named(task_name)
    scripts = task.metadata.hf_subsets_to_langscripts
    languages = {
        subset: frozenset(code.split("-")[0] for code in codes) for subset, codes in scripts.items()
    }
    languages.setdefault("default", frozenset(task.languages))
    return languages


def narrowed_cells(cells: TaskCells, languages: frozenset[str] | None) -> TaskCells:
    """`cells` less the subsets of none of `languages`."""
    if languages is None:
        return cells
    of_subset = subset_languages(cells.name)
    kept = {subset for subset in cells.subsets if of_subset.get(subset, frozenset()) & languages}
    return replace(cells, subsets=frozenset(kept))


def model_filter(
    query: BenchmarkQuery, tasks: list[str], meta_of: Callable[[str], ModelMeta]
) -> Callable[[str], bool]:
    """Whether a model (by name) stays in the pool under the query's model filters."""
    task_set = frozenset(tasks)
    known: dict[str, bool] = {}

    def keeps(name: str) -> bool:
        if name not in known:
            known[name] = _model_kept(meta_of(name), query, task_set)
        return known[name]

    return keeps


def _model_kept(meta: ModelMeta, query: BenchmarkQuery, tasks: frozenset[str]) -> bool:
    open_only = query.availability is Availability.OPEN
    if query.availability is not None and meta.open_weights != open_only:
        return False
    tuned_only = query.instructions is Instructions.TUNED
    if query.instructions is not None and meta.use_instructions != tuned_only:
        return False
    if query.sentence_transformers and SENTENCE_TRANSFORMERS not in (meta.framework or ()):
        return False
    if query.model_types and not set(query.model_types) & set(meta.model_type or ()):
        return False
    if not _size_kept(meta.n_parameters, query):
        return False
    if query.zero_shot is ZeroShot.ALL:
        return True
    trained_on = training_datasets(meta)
    if trained_on is None:
        return False  # unknown: removed by both remove_unknown and only_zero_shot
    return query.zero_shot is ZeroShot.REMOVE_UNKNOWN or not (trained_on & tasks)


def _size_kept(n_parameters: float | None, query: BenchmarkQuery) -> bool:
    if n_parameters is None:
        return not query.hide_unknown_size
    if query.max_size_m is not None and n_parameters > query.max_size_m * 1e6:
        return False
    size_b = parameters_b(n_parameters)
    assert size_b is not None
    if query.min_params_b is not None and size_b < query.min_params_b:
        return False
    return query.max_params_b is None or size_b <= query.max_params_b
