"""The stored results and model metadata, mirrored in memory for fast benchmark recomputes.

The store stays the truth: each `sync` reads what was stored since shortly before the previous
sync (a margin for writers whose commits or clocks lag), so results written by another process
(an import) are picked up too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence

import mteb
from mteb.models import ModelMeta

from shared.documents import ModelDoc, ResultDoc, now_us
from shared.staleness import stale_reason
from shared.store import Store
from shared.summary.models import everyone, model_meta
from shared.summary.rows import ResultRow
from shared.summary.table import BenchmarkTable, TaskPart, pool_of, summary_table, task_part
from shared.summary.tasks import TaskCells, benchmark_tasks, partitions_by_subset

SYNC_MARGIN_US = 5_000_000
"""Each sync reads what was stamped from this long (µs) before the previous sync began on: a
write stamped before that sync but committed after it (an import's bulk write, another
machine's clock) is not missed."""


def result_row(result: ResultDoc) -> ResultRow:
    return ResultRow(
        model=result.model,
        revision=result.revision,
        task=result.task,
        mteb_version=result.mteb_version,
        scores=result.score_map(),
        evaluated_here=result.source == "evaluator",
        stale=stale_reason(result.task, result.mteb_version, result.dataset_revision) is not None,
    )


class ResultMirror:
    """ResultRows by task and ModelMetas by name, as stored."""

    def __init__(self) -> None:
        self.by_task: dict[str, dict[str, ResultRow]] = {}
        self.listings: dict[str, dict[str, ResultDoc]] = {}
        self.model_docs: dict[str, ModelDoc] = {}
        self._tasks_of_model: dict[str, set[str]] = {}
        self._unsorted: set[str] = set()
        self._metas: dict[str, ModelMeta] = {}
        self._synced_us: int | None = None
        self.versions: dict[str, int] = {}
        """Per task, a number that changes whenever its results or their models' metadata do."""
        self._stamps: dict[str, int] = {}
        """`stored_us` of each mirrored result, as read (0 for one `add`ed as it was written)."""

    async def sync(self, store: Store) -> set[str]:
        """Read what changed in the store; the tasks whose results or models' metadata changed."""
        since = self._synced_us - SYNC_MARGIN_US if self._synced_us else None
        self._synced_us = now_us()
        return await self._read(store, since, source=None)

    async def catch_up(self, store: Store, began_us: int) -> set[str]:
        """Mirror the live results and model metadata stored since `began_us`, after an import
        into an empty store `add`ed its own results instead of reading them back; from then
        on, synced as of now. (Another import running at the same time recomputes its own.)"""
        self._synced_us = now_us()
        return await self._read(store, began_us - SYNC_MARGIN_US, source="evaluator")

    async def _read(self, store: Store, since: int | None, source: str | None) -> set[str]:
        """Mirror the models and results (of `source`) stored since `since`. Of the results,
        only the stamps are read first, so that those mirrored already (re-read within the
        margin) are not fetched again."""
        if since is None:
            models, results = await asyncio.gather(
                store.models_stored_since(None), store.results_stored_since(None, source)
            )
        else:
            models, stamps = await asyncio.gather(
                store.models_stored_since(since), store.result_stamps_since(since, source)
            )
            unseen = [id_ for id_, us in stamps.items() if self._stamps.get(id_) != us]
            results = await store.results_listed(unseen) if unseen else []
        changed = self._read_models(models)
        for result in results:
            if self.add(result):
                changed.add(result.task)
        return changed

    def _read_models(self, models: list[ModelDoc]) -> set[str]:
        changed: set[str] = set()
        for model in models:
            if self.model_docs.get(model.id) != model:
                self.model_docs[model.id] = model
                self._metas.pop(model.id, None)
                changed |= self._tasks_of_model.get(model.id, set())
        for task in changed:
            self.versions[task] = self.versions.get(task, 0) + 1
        return changed

    def add(self, result: ResultDoc) -> bool:
        """Mirror one stored result; whether it changed anything."""
        self.listings.setdefault(result.task, {})[result.id] = result
        self._stamps[result.id] = result.stored_us
        return self.put(result.id, result_row(result))

    def results_of_task(self, task: str) -> list[ResultDoc]:
        """The mirrored results of `task`, without their TaskResult, as the store lists them."""
        return list(self.listings.get(task, {}).values())

    def put(self, result_id: str, row: ResultRow) -> bool:
        """Mirror `row` as the result `result_id`; whether it changed anything."""
        rows = self.by_task.setdefault(row.task, {})
        if rows.get(result_id) == row:
            return False
        if rows and result_id not in rows and result_id < next(reversed(rows)):
            self._unsorted.add(row.task)
        rows[result_id] = row
        self._tasks_of_model.setdefault(row.model, set()).add(row.task)
        self.versions[row.task] = self.versions.get(row.task, 0) + 1
        return True

    def drop_task(self, task: str) -> bool:
        """Forget every result of `task` (a deleted custom task); whether there were any."""
        listed = self.listings.pop(task, {})
        rows = self.by_task.pop(task, {})
        for result_id in listed.keys() | rows.keys():
            self._stamps.pop(result_id, None)
        for tasks in self._tasks_of_model.values():
            tasks.discard(task)
        self._unsorted.discard(task)
        self.versions[task] = self.versions.get(task, 0) + 1
        return bool(listed or rows)

    def restale(self, task: str) -> bool:
        """Mark `task`'s results stale or current again (its current dataset revision changed:
        a custom task's new data); whether any changed."""
        changed = False
        for result_id, result in self.listings.get(task, {}).items():
            changed |= self.put(result_id, result_row(result))
        return changed

    def tasks_of_models(self, names: Iterable[str]) -> set[str]:
        """The tasks that the models `names` have results on."""
        return {task for name in names for task in self._tasks_of_model.get(name, ())}

    def rows(self, tasks: Iterable[str]) -> Iterator[ResultRow]:
        """The rows of `tasks`, each task's in `_id` order (mteb keeps the first of equal rows)."""
        for task in tasks:
            if task in self._unsorted:
                self.by_task[task] = dict(sorted(self.by_task[task].items()))
                self._unsorted.discard(task)
            yield from self.by_task.get(task, {}).values()

    def meta(self, name: str) -> ModelMeta:
        """The ModelMeta of model `name` (`models.model_meta`), looked up once."""
        known = self._metas.get(name)
        if known is None:
            stored = self.model_docs.get(name)
            revisions = stored.revisions if stored else []
            known = self._metas[name] = model_meta(name, [entry.meta_json for entry in revisions])
        return known


class TaskParts:
    """The task parts (`table.task_part`) of a mirror's results, each computed once per change
    of its task's results or their models' metadata (`ResultMirror.versions`): a new result
    recomputes its task's part only, and benchmarks reading a task alike share its part."""

    def __init__(self, mirror: ResultMirror) -> None:
        self.mirror = mirror
        self._parts: dict[tuple[TaskCells, bool, bool], tuple[int, TaskPart]] = {}

    def table(
        self,
        benchmark: mteb.Benchmark,
        tasks: Sequence[str] | None = None,
        bootstrap_resamples: int = 1000,
        seed: int = 0,
    ) -> BenchmarkTable:
        """`summarize` of the mirrored results, from the parts kept since the last change; a
        custom benchmark's pool is every model (`table.pool_of`).

        Raises ValueError for names that are not tasks of the benchmark.
        """
        by_subset = partitions_by_subset(benchmark)
        pool_is_everyone = pool_of(benchmark) is everyone
        parts = [
            self.part(task, by_subset, pool_is_everyone)
            for task in benchmark_tasks(benchmark, tasks)
        ]
        return summary_table(
            benchmark.name, parts, self.mirror.meta, by_subset, bootstrap_resamples, seed
        )

    def part(self, task: TaskCells, by_subset: bool, pool_is_everyone: bool = False) -> TaskPart:
        """The part of `task` (for mteb's pool, or every model), recomputed when its results or
        their models changed."""
        version = self.mirror.versions.get(task.name, 0)
        key = (task, by_subset, pool_is_everyone)
        known = self._parts.get(key)
        if known is not None and known[0] == version:
            return known[1]
        rows = self.mirror.rows([task.name])
        if pool_is_everyone:
            part = task_part(task, rows, self.mirror.meta, by_subset, everyone)
        else:
            part = task_part(task, rows, self.mirror.meta, by_subset)
        self._parts[key] = (version, part)
        return part

    def forget(self, task: str) -> None:
        """Drop the kept parts of `task` (deleted)."""
        for key in [key for key in self._parts if key[0].name == task]:
            del self._parts[key]
