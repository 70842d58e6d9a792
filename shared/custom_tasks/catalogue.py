"""The custom tasks and benchmarks this process knows, read from the store, and lookups that
see them beside mteb's registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mteb.abstasks import AbsTask

from shared.custom_tasks.mteb_task import build_task
from shared.events import Visibility

if TYPE_CHECKING:  # the documents import the summary library, which imports this module
    from shared.documents import CustomBenchmarkDoc, CustomTaskDoc
    from shared.store import Store


@dataclass
class Catalogue:
    """Custom tasks and benchmarks by name; task objects built once per revision."""

    tasks: dict[str, CustomTaskDoc] = field(default_factory=dict)
    benchmarks: dict[str, CustomBenchmarkDoc] = field(default_factory=dict)
    _built: dict[tuple[str, str], AbsTask] = field(default_factory=dict)

    def task(self, name: str) -> AbsTask | None:
        """The mteb task object (metadata only, no data) of custom task `name`, if there is one."""
        document = self.tasks.get(name)
        if document is None:
            return None
        key = (name, document.spec.revision)
        if key not in self._built:
            self._built[key] = build_task(document.spec)
        return self._built[key]

    def visible_to(self, owner: str | None, admin: bool = False) -> Catalogue:
        """The part of the catalogue a viewer sees: public entries, and their own (all: admin)."""

        def shown(entry: CustomTaskDoc | CustomBenchmarkDoc) -> bool:
            return admin or entry.visibility is Visibility.PUBLIC or entry.owner == owner

        return Catalogue(
            {name: doc for name, doc in self.tasks.items() if shown(doc)},
            {name: doc for name, doc in self.benchmarks.items() if shown(doc)},
            self._built,
        )


CURRENT = Catalogue()
"""The catalogue the lookups in `shared.summary.tasks` consult; replaced by `install`."""


def install(tasks: list[CustomTaskDoc], benchmarks: list[CustomBenchmarkDoc]) -> Catalogue:
    """Make `tasks` and `benchmarks` this process's catalogue."""
    global CURRENT
    CURRENT = Catalogue(
        {task.id: task for task in tasks},
        {benchmark.id: benchmark for benchmark in benchmarks},
        CURRENT._built,
    )
    return CURRENT


async def refresh(store: Store) -> Catalogue:
    """Read every custom task and benchmark from the store and install them."""
    return install(await store.custom_tasks(), await store.custom_benchmarks())
