"""One job's evaluation: load the model (cached) and the task, run stock `mteb.evaluate`."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mteb
from mteb.abstasks import AbsTask
from mteb.models import ModelMeta, SentenceTransformerEncoderWrapper

from shared.events import Envelope, Job
from shared.scoring import task_score

VERSIONED_PACKAGES = ("mteb", "sentence-transformers", "transformers", "torch")


def package_versions() -> dict[str, str]:
    """Versions of the libraries that shape a result, and Python's."""
    return {name: version(name) for name in VERSIONED_PACKAGES} | {
        "python": platform.python_version()
    }


def model_meta(model: str, revision: str) -> ModelMeta:
    """mteb's registry entry for `model` at `revision`, or an empty one carrying the name."""
    try:
        meta = mteb.get_model_meta(model)
    except KeyError:
        return ModelMeta.create_empty(overwrites={"name": model, "revision": revision})
    return meta.model_copy(update={"revision": revision})


def load_task(name: str, datasets_dir: Path | None) -> AbsTask:
    """The registry's task, reading its data from `datasets_dir/<name>/` when that exists."""
    task = mteb.get_task(name)
    folder = datasets_dir / name if datasets_dir else None
    if folder is not None and folder.is_dir():
        # metadata is shared by every instance of the task class: replace, never mutate
        task.metadata = task.metadata.model_copy(
            update={"dataset": {**task.metadata.dataset, "path": str(folder)}}, deep=True
        )
    return task


@dataclass
class LoadedModel:
    key: tuple[str, str]
    encoder: SentenceTransformerEncoderWrapper
    load_time_s: float


class ModelCache:
    """Keeps the last model loaded, so consecutive jobs of one submission reuse it."""

    def __init__(self, models_dir: Path | None, device: str) -> None:
        self.models_dir = models_dir
        self.device = device
        self.loaded: LoadedModel | None = None

    def get(self, model: str, revision: str) -> LoadedModel:
        if self.loaded is None or self.loaded.key != (model, revision):
            self.loaded = None  # release the previous model before loading the next
            started = time.perf_counter()
            encoder = SentenceTransformerEncoderWrapper(self._sentence_transformer(model, revision))
            encoder.mteb_model_meta = model_meta(model, revision)
            self.loaded = LoadedModel((model, revision), encoder, time.perf_counter() - started)
        return self.loaded

    def _sentence_transformer(self, model: str, revision: str) -> Any:
        from sentence_transformers import SentenceTransformer

        folder = self.models_dir / model if self.models_dir else None
        if folder is not None and folder.is_dir():
            return SentenceTransformer(str(folder), device=self.device)
        return SentenceTransformer(model, revision=revision, device=self.device)


@dataclass
class Evaluation:
    """What one job produced."""

    main_score: float
    task_result: dict[str, Any]
    envelope: Envelope


class Runner:
    """Runs jobs; not thread-safe, one job at a time."""

    def __init__(
        self,
        models: ModelCache,
        datasets_dir: Path | None,
        batch_size: int,
        evaluator_id: str,
    ) -> None:
        self.models = models
        self.datasets_dir = datasets_dir
        self.batch_size = batch_size
        self.evaluator_id = evaluator_id
        self.versions = package_versions()

    def run(self, job: Job, attempt: int) -> Evaluation:
        loaded = self.models.get(job.model, job.revision)
        task = load_task(job.task, self.datasets_dir)
        started = time.perf_counter()
        result = mteb.evaluate(
            loaded.encoder,
            task,
            cache=None,
            overwrite_strategy="always",
            show_progress_bar=False,
            encode_kwargs={"batch_size": self.batch_size},
        )
        elapsed = time.perf_counter() - started
        task_result = json.loads(result.task_results[0].model_dump_json())
        splits = list(task.metadata.eval_splits)
        subsets = list(task.hf_subsets)
        score = task_score(task_result["scores"], splits, subsets)
        if score is None:
            raise RuntimeError(f"{job.task} produced no score for {splits} × {subsets}")
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
            device=self.models.device,
            evaluator_id=self.evaluator_id,
            attempt=attempt,
            evaluation_time_s=elapsed,
            model_load_time_s=loaded.load_time_s,
        )
        return Evaluation(score, task_result, envelope)
