"""Custom tasks and benchmarks for tests: specs of made-up data files, their documents, and
registry results copied under custom task names (the same scores on "other" data)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from shared.custom_tasks import catalogue
from shared.custom_tasks.spec import DEFAULT_MAIN_SCORE, TaskSpec, TaskType
from shared.documents import CustomBenchmarkDoc, CustomTaskDoc
from shared.events import Visibility
from shared.store import Store
from shared.summary.rows import ResultRow


def task_spec(name: str, task_type: TaskType, data: str = "v1", **fields: object) -> TaskSpec:
    """A spec of `name` whose one data file holds `data` (another `data`: another revision)."""
    files = {"data.jsonl": hashlib.sha256(f"{name}:{data}".encode()).hexdigest()}
    return TaskSpec.model_validate(
        {
            "name": name,
            "type": task_type,
            "main_score": DEFAULT_MAIN_SCORE[task_type],
            "files": files,
            "revision": TaskSpec.manifest_revision(files),
        }
        | fields
    )


def task_doc(
    spec: TaskSpec, visibility: Visibility = Visibility.PUBLIC, owner: str = "alice"
) -> CustomTaskDoc:
    return CustomTaskDoc(_id=spec.name, spec=spec, owner=owner, visibility=visibility)


def benchmark_doc(
    name: str, tasks: list[str], visibility: Visibility = Visibility.PUBLIC
) -> CustomBenchmarkDoc:
    return CustomBenchmarkDoc(
        _id=name, tasks=tasks, owner="alice", visibility=visibility, description=f"{name}."
    )


async def store_catalogue(
    store: Store, tasks: Iterable[CustomTaskDoc], benchmarks: Iterable[CustomBenchmarkDoc] = ()
) -> None:
    """Write (or replace) custom tasks and benchmarks as the API stores them."""
    for task in tasks:
        await store.custom_tasks_collection.replace_one(
            {"_id": task.id}, task.to_mongo(), upsert=True
        )
    for benchmark in benchmarks:
        await store.custom_benchmarks_collection.replace_one(
            {"_id": benchmark.id}, benchmark.to_mongo(), upsert=True
        )


@contextmanager
def installed(
    tasks: Iterable[CustomTaskDoc] = (), benchmarks: Iterable[CustomBenchmarkDoc] = ()
) -> Iterator[catalogue.Catalogue]:
    """This process's catalogue holding `tasks` and `benchmarks`, emptied afterwards."""
    try:
        yield catalogue.install(list(tasks), list(benchmarks))
    finally:
        catalogue.install([], [])


def renamed(rows: Iterable[ResultRow], names: dict[str, str]) -> list[ResultRow]:
    """`rows` with the tasks of `names` renamed (to custom tasks'), the others as they are."""
    return [row.model_copy(update={"task": names.get(row.task, row.task)}) for row in rows]
