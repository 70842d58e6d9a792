"""One job's evaluation: the cached model, the task, stock `mteb.evaluate`, measured.

A registry task comes from mteb's registry (its data from the datasets mirror or the Hub); a
custom task (`Job.custom_task`) is built from its spec, reading the folder the worker fetched
from the task data object store, and records the spec's revision as its dataset revision.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mteb
from mteb.abstasks import AbsTask

from services.evaluator import efficiency
from services.evaluator.cache import LoadedModel, ModelCache, free_memory
from services.evaluator.failures import (
    JobFailure,
    classify,
    data_load_failure,
    is_out_of_memory,
    logged,
    model_load_failure,
)
from services.evaluator.hardware import describe
from services.evaluator.metadata import load_task, mirror_folder, package_versions
from services.evaluator.progress import expected_texts
from shared.custom_tasks.mteb_task import build_task
from shared.events import Envelope, FailureKind, Job
from shared.summary.rows import result_row_from_task_result, task_main_score

log = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """What one job produced."""

    main_score: float
    task_result: dict[str, Any]
    envelope: Envelope


def guard_data_loading(task: AbsTask, mirror: Path | None) -> None:
    """Make a failure inside mteb's data loading surface as a classified data failure."""
    load_data = task.load_data

    def load_data_or_fail(*args: Any, **kwargs: Any) -> Any:
        try:
            return load_data(*args, **kwargs)
        except Exception as error:
            raise data_load_failure(task.metadata.name, mirror, error) from error

    task.load_data = load_data_or_fail  # type: ignore[method-assign]


class Runner:
    """Runs jobs; not thread-safe, one job at a time. Every failure is a `JobFailure`."""

    def __init__(
        self,
        models: ModelCache,
        datasets_dir: Path | None,
        batch_size: int,
        evaluator_id: str,
        timeout_s: float = 6 * 3600.0,
    ) -> None:
        self.models = models
        self.datasets_dir = datasets_dir
        self.batch_size = batch_size
        self.evaluator_id = evaluator_id
        self.timeout_s = timeout_s
        self.versions = package_versions()
        self.encoding: LoadedModel | None = None
        self.expected: int | None = None

    def progress(self) -> tuple[int, int | None] | None:
        """Texts encoded so far in the running job and the expected total; None between jobs
        (read from the event loop while the job runs in a thread: two plain reads)."""
        loaded = self.encoding
        return None if loaded is None else (loaded.encoder.meter.texts, self.expected)

    def run(
        self, job: Job, attempt: int, token: str | None = None, folder: Path | None = None
    ) -> Evaluation:
        """Evaluate `job`; `folder` holds a custom task's data (the worker fetched it)."""
        try:
            return self._run(job, attempt, token, folder)
        except Exception as error:
            raise logged(classify(error), error, f"job {job.submission_id}/{job.task}") from error

    def _run(self, job: Job, attempt: int, token: str | None, folder: Path | None) -> Evaluation:
        try:
            loaded = self.models.get(job.model, job.revision, token)
        except Exception as error:
            raise model_load_failure(error) from error
        result, elapsed, task, batch_size = self._evaluate_or_halve(loaded, job, folder)
        task_result = json.loads(result.model_dump_json())
        splits = list(task.metadata.eval_splits)
        subsets = list(task.hf_subsets)
        row = result_row_from_task_result(result, job.model, job.revision)
        score = task_main_score(row.scores, task)
        if score is None:
            raise RuntimeError(f"{job.task} produced no score for {splits} × {subsets}")
        device = self.models.device
        envelope = Envelope(
            model=job.model,
            revision=job.revision,
            task=job.task,
            task_type=task.metadata.type,
            main_metric=task.metadata.main_score,
            dataset_revision=task.metadata.dataset["revision"],
            eval_splits=splits,
            hf_subsets=subsets,
            versions=self.versions,
            device=device,
            evaluator_id=self.evaluator_id,
            attempt=attempt,
            evaluation_time_s=elapsed,
            model_load_time_s=loaded.load_time_s,
            dtype=self.models.dtype,
            batch_size=batch_size,
            hardware=describe(device),
            efficiency=efficiency.efficiency(loaded.encoder, device),
        )
        return Evaluation(score, task_result, envelope)

    def _task(self, job: Job, folder: Path | None) -> tuple[AbsTask, Path | None]:
        """A fresh task object of `job` and the local folder its data is read from (None: the
        Hub): the custom task built from its spec and `folder`, else the registry's task."""
        if job.custom_task is None:
            return load_task(job.task, self.datasets_dir), mirror_folder(
                job.task, self.datasets_dir
            )
        if folder is None:
            reason = f"{job.task}: the custom task's data was not fetched"
            raise JobFailure(FailureKind.DATA_UNAVAILABLE, reason)
        return build_task(job.custom_task, folder), folder

    def _evaluate_or_halve(
        self, loaded: LoadedModel, job: Job, folder: Path | None
    ) -> tuple[Any, float, AbsTask, int]:
        """`_evaluate`, retried once with half the batch size when it runs out of memory."""
        name = job.task
        try:
            return (*self._evaluate(loaded, job, folder, self.batch_size), self.batch_size)
        except Exception as error:
            if not is_out_of_memory(error) or self.batch_size == 1:
                raise
        # outside the except block, so that the failed run's frames and tensors can be freed
        free_memory()
        batch_size = self.batch_size // 2
        log.warning("%s ran out of memory; retrying with batch size %d", name, batch_size)
        try:
            return (*self._evaluate(loaded, job, folder, batch_size), batch_size)
        except Exception as again:
            if not is_out_of_memory(again):
                raise
            reason = f"out of memory at batch sizes {self.batch_size} and {batch_size}"
            raise JobFailure(FailureKind.OUT_OF_MEMORY, reason) from again

    def _evaluate(
        self, loaded: LoadedModel, job: Job, folder: Path | None, batch_size: int
    ) -> tuple[Any, float, AbsTask]:
        """mteb's TaskResult of one run of the job's task, the run's wall time, the task."""
        task, source = self._task(job, folder)
        guard_data_loading(task, source)
        loaded.encoder.meter.start(self.timeout_s)
        efficiency.reset_peaks(self.models.device)
        self.expected = expected_texts(task)
        self.encoding = loaded
        started = time.perf_counter()
        try:
            result = mteb.evaluate(
                loaded.encoder,
                task,
                cache=None,
                overwrite_strategy="always",
                show_progress_bar=False,
                encode_kwargs={"batch_size": batch_size},
            )
        finally:
            self.encoding = None
        return result.task_results[0], time.perf_counter() - started, task
