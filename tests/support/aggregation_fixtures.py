"""An importer over a synthetic results checkout, and live results of the same keys, for the
issue-5 tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from services.aggregator.handlers import Aggregator
from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.aggregator.results.checkout import folder_identity
from services.aggregator.results.importer import Importer, ImportReport
from shared.bus import RESULTS, Bus
from shared.documents import SubmissionDoc, TaskProgress
from shared.events import ResultEvent, Subjects
from shared.store import Store
from tests.support.helpers import make_envelope
from tests.support.synthetic_results import MINILM


async def run_import(
    store: Store,
    checkout: Path,
    bus: Bus | None = None,
    resamples: int = 100,
    replace: bool = False,
) -> ImportReport:
    """Import `checkout` into `store` as `leaderboard import-results` (`--replace`) does."""
    await store.ensure_aggregation_indexes()
    updater = BenchmarkUpdater(store, bus, bootstrap_resamples=resamples)
    return await Importer(store, updater, workers=2, replace=replace).run(checkout)


LIVE_TASKS = ("BIOSSES", "STSBenchmark")


async def evaluate_here(
    store: Store,
    bus: Bus,
    checkout: Path,
    score: float,
    mteb_version: str | None = None,
    **envelope: Any,
) -> str:
    """A submission of MiniLM at the checkout's revision whose `LIVE_TASKS` results the
    aggregator stores as it stores a live evaluation's; its id. Each result is the checkout's
    file with every main score set to `score` (and `mteb_version`, when given); `envelope`
    sets fields of their envelopes (efficiency, hardware)."""
    [folder] = (checkout / "results" / MINILM.replace("/", "__")).iterdir()
    model, revision, _ = folder_identity(folder)
    submission_id = uuid.uuid4().hex
    progress = [TaskProgress(task=task) for task in LIVE_TASKS]
    await store.insert_submission(
        SubmissionDoc(_id=submission_id, model=model, revision=revision, tasks=progress)
    )
    aggregator = Aggregator(bus, store, BenchmarkUpdater(store, None, bootstrap_resamples=0))
    for task in LIVE_TASKS:
        task_result = json.loads((folder / f"{task}.json").read_text())
        for scores in task_result["scores"]["test"]:
            scores["main_score"] = score
        if mteb_version is not None:
            task_result["mteb_version"] = mteb_version
        event = ResultEvent(
            submission_id=submission_id,
            model=model,
            revision=revision,
            task=task,
            main_score=score,
            task_result=task_result,
            envelope=make_envelope(model=model, revision=revision, task=task, **envelope),
        )
        subject = Subjects.result(submission_id, task)
        await bus.publish(subject, event, f"result:{submission_id}:{task}")
        pull = await bus.pull(RESULTS, f"test-{uuid.uuid4().hex[:8]}", subject)
        [msg] = await pull.fetch(1, timeout=10)
        await aggregator.on_result(msg)
    return submission_id
