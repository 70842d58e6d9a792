"""Import of a checkout of the public MTEB results repository into the store.

Files are read and converted in worker processes (`checkout`, validating as mteb's
`TaskResult.from_disk` does) while the main process writes;
only results whose content changed are written (bulk writes, the next batch sent while the
store writes the last, new results inserted without a lookup), so a second import of the same
files writes nothing and recomputes nothing (and validates nothing again: a file whose bytes
hash as the stored one's is taken as unchanged). `experiments/` folders (runs with non-default
model settings) are skipped and reported: mteb's leaderboard shows them as rows of their own,
and our results are keyed by model revision only. Of two files with the same result key (same
model, revision, task and mteb minor version) the first in path order is kept, as mteb keeps
the first of equal rows. A result evaluated here is kept over a file of its key (reported as
skipped) unless the import is told to `replace` it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.aggregator.leaderboards.tasks import refresh_task_leaderboard
from services.aggregator.results.checkout import (
    FolderRead,
    PreparedResult,
    Skipped,
    checkout_commit,
    file_names,
    read_folders,
    results_folder,
    revision_folders,
)
from shared.documents import ModelDoc, ModelRevision, ResultDoc, now_us
from shared.store import RESULT_LISTING, ConflictError, Store
from shared.summary.mirror import ResultMirror

WRITE_BATCH = 500
"""Results per bulk write at most, unless fewer are at hand when the store is ready for more."""
WRITES_IN_FLIGHT = 2
"""Bulk writes sent and not yet answered at most: the store has the next one at hand."""
FOLDERS_PER_TASK = 8
MODEL_WRITE_ATTEMPTS = 5
KEPT_EVALUATED = (
    "a result evaluated here has the same model, revision, task and mteb version and is kept "
    "(--replace overwrites it)"
)


@dataclass
class ImportReport:
    """What an import read, stored and skipped."""

    files: int = 0
    stored: int = 0
    unchanged: int = 0
    models_stored: int = 0
    replaced_evaluated: int = 0
    """Results evaluated here that imported files replaced (only when told to)."""
    skipped: list[Skipped] = field(default_factory=list)
    benchmarks: list[str] = field(default_factory=list)
    store_seconds: float = 0.0
    """Reading, converting and storing the results and model documents."""
    seconds: float = 0.0
    """The whole import, leaderboards included."""


@dataclass
class Progress:
    """Where a running import stands, for a progress line."""

    folders_done: int
    folders: int
    stored: int
    skipped: int


class Importer:
    """Reads a results checkout into the store, then recomputes the affected benchmarks once.

    With `replace`, imported files also replace results evaluated here under the same key.
    """

    def __init__(
        self,
        store: Store,
        updater: BenchmarkUpdater | None,
        progress: Callable[[Progress], None] | None = None,
        workers: int | None = None,
        replace: bool = False,
    ) -> None:
        self.store = store
        self.updater = updater
        self.progress = progress or (lambda _: None)
        self.workers = workers or os.cpu_count() or 1
        self.replace = replace

    async def run(self, path: Path) -> ImportReport:
        started, began_us = time.perf_counter(), now_us()
        report = ImportReport()
        root = results_folder(path)
        folders = revision_folders(root)
        known = await self.store.imported_files(file_names(root, folders))
        revisions: dict[str, dict[str, str | None]] = {}
        # Into an empty store, the updater mirrors what is written instead of reading it back.
        adopting = (
            self.updater is not None
            and not self.updater.primed
            and not await self.store.holds_results()
        )
        mirror = self.updater.mirror if adopting and self.updater is not None else None
        stored_ids = {r for _, r in known.values()}
        writes = _Writes(self.store, report, stored_ids, self.replace, mirror)
        try:
            await self._read(root, folders, known, report, revisions, writes)
            written_tasks = await writes.finish()
        finally:
            await writes.cancel()
        self.progress(Progress(len(folders), len(folders), report.stored, len(report.skipped)))
        changed_models = await self._write_models(revisions, report)
        report.store_seconds = time.perf_counter() - started
        if self.updater is not None and (written_tasks or changed_models):
            if adopting:
                await self.updater.catch_up(began_us)
            else:
                await self.updater.prime()
            tasks = written_tasks | self.updater.mirror.tasks_of_models(changed_models)
            # The task leaderboards are written while the benchmark tables are computed.
            refreshed, _ = await asyncio.gather(
                self.updater.refresh(tasks, sync=False),
                self._task_leaderboards(self.updater, written_tasks),
            )
            report.benchmarks = [stored.name for stored in refreshed]
        report.seconds = time.perf_counter() - started
        return report

    async def _task_leaderboards(self, updater: BenchmarkUpdater, tasks: set[str]) -> None:
        """Replace the leaderboards of `tasks` from the updater's mirror (synced by `prime` or
        `catch_up`: every stored result)."""
        for task in sorted(tasks):
            results = updater.mirror.results_of_task(task)
            await refresh_task_leaderboard(self.store, updater.bus, task, results)

    async def _read(
        self,
        root: Path,
        folders: list[Path],
        known: KnownFiles,
        report: ImportReport,
        revisions: dict[str, dict[str, str | None]],
        writes: _Writes,
    ) -> None:
        """Read and convert `folders` in worker processes; their results taken in path order and
        written in batches while the workers go on."""
        by_folder = _by_folder(known)
        commit = checkout_commit(root)
        kept: dict[str, str] = {}
        pending: list[PreparedResult] = []
        chunks = [
            folders[start : start + FOLDERS_PER_TASK]
            for start in range(0, len(folders), FOLDERS_PER_TASK)
        ]
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            reads = [
                loop.run_in_executor(
                    pool, read_folders, root, chunk, _known_in(by_folder, chunk), commit
                )
                for chunk in chunks
            ]
            try:
                for done, chunk_read in enumerate(reads, start=1):
                    for read in await chunk_read:
                        pending += self._take(read, report, kept, revisions)
                    if len(pending) >= WRITE_BATCH or (pending and writes.can_start):
                        await writes.start(pending)
                        pending = []
                    folders_done = min(done * FOLDERS_PER_TASK, len(folders))
                    self.progress(
                        Progress(folders_done, len(folders), report.stored, len(report.skipped))
                    )
            except BaseException:
                pool.shutdown(cancel_futures=True)  # a failed write: read no further
                raise
        await writes.start(pending)

    @staticmethod
    def _take(
        read: FolderRead,
        report: ImportReport,
        kept: dict[str, str],
        revisions: dict[str, dict[str, str | None]],
    ) -> list[PreparedResult]:
        """Account for one folder; its results not already taken from an earlier file."""
        report.files += read.files
        report.skipped += read.skipped
        report.unchanged += len(read.unchanged)
        if read.model is None or read.revision is None:
            return []
        revisions.setdefault(read.model, {})[read.revision] = read.meta_json
        for result_id, source in read.unchanged:
            kept.setdefault(result_id, source)
        taken = []
        for doc in read.results:
            if doc.id in kept:
                report.skipped.append(Skipped(doc.source, f"same result as {kept[doc.id]}"))
                continue
            kept[doc.id] = doc.source
            taken.append(doc)
        return taken

    async def _write_models(
        self, revisions: dict[str, dict[str, str | None]], report: ImportReport
    ) -> set[str]:
        """Merge the imported revisions (and their model_meta.json) into the model documents,
        each written over the one it was merged with (a live result's write in between makes
        it merge again); the names of the models that changed."""
        changed: set[str] = set()
        pending = sorted(revisions)
        for _ in range(MODEL_WRITE_ATTEMPTS):
            stored = await self.store.get_models(pending)
            writes = []
            for name in pending:
                current = stored.get(name)
                model = _merged(name, current, revisions[name])
                if current is None or current.revisions != model.revisions:
                    writes.append((model, current.stored_us if current else None))
            lost = await self.store.replace_models(writes)
            changed |= {model.id for model, _ in writes} - lost
            if not lost:
                report.models_stored = len(changed)
                return changed
            pending = sorted(lost)
        raise ConflictError(f"the models documents of {', '.join(pending)} kept changing")


def _merged(name: str, current: ModelDoc | None, metas: dict[str, str | None]) -> ModelDoc:
    """`current` with the imported revisions `metas` (a revision's model_meta.json replaces the
    stored one; a revision without one keeps what is stored)."""
    merged = {entry.revision: entry.meta_json for entry in current.revisions} if current else {}
    for revision, meta_json in metas.items():
        if meta_json is not None or revision not in merged:
            merged[revision] = meta_json
    return ModelDoc(
        _id=name,
        revisions=[ModelRevision(revision=r, meta_json=m) for r, m in sorted(merged.items())],
    )


KnownFiles = dict[str, tuple[str, str]]


def _by_folder(known: KnownFiles) -> dict[str, KnownFiles]:
    """Stored files grouped by their revision folder (`<model>/<revision>`)."""
    grouped: dict[str, KnownFiles] = {}
    for name, entry in known.items():
        grouped.setdefault(name.rsplit("/", 1)[0], {})[name] = entry
    return grouped


def _known_in(known: dict[str, KnownFiles], folders: list[Path]) -> KnownFiles:
    """The stored files of `folders` (what one worker needs)."""
    return {
        name: entry
        for folder in folders
        for name, entry in known.get(f"{folder.parent.name}/{folder.name}", {}).items()
    }


class _Writes:
    """Result batches written while the next ones are read and converted: at most
    `WRITES_IN_FLIGHT` at once, so the store always has the next batch at hand.

    A result whose id no stored file names is inserted without a lookup (on an empty store,
    every one); only those found stored already have their digests compared and, when they
    differ, are replaced: a result evaluated here only when `replace`, else it is kept and the
    file reported as skipped.
    """

    def __init__(
        self,
        store: Store,
        report: ImportReport,
        stored_ids: set[str],
        replace: bool,
        mirror: ResultMirror | None = None,
    ) -> None:
        self.store = store
        self.report = report
        self.stored_ids = stored_ids
        self.replace = replace
        self.mirror = mirror
        """Where written results are mirrored, when given."""
        self.tasks: set[str] = set()
        self.running: set[asyncio.Task[None]] = set()

    @property
    def can_start(self) -> bool:
        """Whether a write would start at once (the store would otherwise soon wait for one)."""
        return len(self.running) < WRITES_IN_FLIGHT

    async def start(self, results: list[PreparedResult]) -> None:
        """Begin writing `results`, once fewer than `WRITES_IN_FLIGHT` writes are running."""
        if not results:
            return
        while len(self.running) >= WRITES_IN_FLIGHT:
            await self._wait(asyncio.FIRST_COMPLETED)
        self.running.add(asyncio.create_task(self._write(results)))

    async def finish(self) -> set[str]:
        """Wait for every write; the tasks whose results were written."""
        while self.running:
            await self._wait(asyncio.ALL_COMPLETED)
        return self.tasks

    async def cancel(self) -> None:
        """Stop the writes still running (after a failure)."""
        for write in self.running:
            write.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)
        self.running.clear()

    async def _wait(self, when: str) -> None:
        done, self.running = await asyncio.wait(self.running, return_when=when)
        for write in done:
            write.result()

    async def _write(self, results: list[PreparedResult]) -> None:
        new = [doc for doc in results if doc.id not in self.stored_ids]
        found = await self.store.insert_result_documents([doc.document for doc in new])
        stored = [doc for doc in results if doc.id in self.stored_ids or doc.id in found]
        before = await self.store.result_provenance([doc.id for doc in stored]) if stored else {}
        changed = [
            doc for doc in stored if doc.id not in before or before[doc.id].digest != doc.digest
        ]
        kept_ids = await self.store.write_result_documents(
            [doc.document for doc in changed], over_evaluated=self.replace
        )
        kept = [doc for doc in changed if doc.id in kept_ids]
        replaced = [doc for doc in changed if doc.id not in kept_ids]
        written = [doc for doc in new if doc.id not in found] + replaced
        if self.mirror is not None:
            for doc in written:
                self.mirror.add(listing(doc.document))
        self.report.stored += len(written)
        self.report.unchanged += len(results) - len(written) - len(kept)
        self.report.skipped += [Skipped(doc.source, KEPT_EVALUATED) for doc in kept]
        self.report.replaced_evaluated += sum(
            doc.id in before and before[doc.id].source == "evaluator" for doc in replaced
        )
        self.tasks |= {doc.task for doc in written}


def listing(document: dict[str, Any]) -> ResultDoc:
    """The result of a stored document as the store lists it: without its TaskResult."""
    return ResultDoc.model_validate(
        {key: value for key, value in document.items() if key not in RESULT_LISTING}
    )
