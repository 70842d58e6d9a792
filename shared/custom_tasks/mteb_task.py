"""A custom task as an mteb task object of its type, reading its datasets folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mteb.abstasks import (
    AbsTask,
    AbsTaskClassification,
    AbsTaskClustering,
    AbsTaskPairClassification,
    AbsTaskRetrieval,
    AbsTaskSTS,
)
from mteb.abstasks.task_metadata import TaskMetadata

from shared.custom_tasks.spec import TaskSpec, TaskType

TASK_CLASSES: dict[TaskType, type[AbsTask]] = {
    TaskType.RETRIEVAL: AbsTaskRetrieval,
    TaskType.RERANKING: AbsTaskRetrieval,
    TaskType.STS: AbsTaskSTS,
    TaskType.PAIR_CLASSIFICATION: AbsTaskPairClassification,
    TaskType.CLASSIFICATION: AbsTaskClassification,
    TaskType.CLUSTERING: AbsTaskClustering,
}

NO_DATA = "custom-tasks/{name}"
"""The dataset path of a task built for its metadata only (aggregator, web): never read."""


def task_metadata(spec: TaskSpec, folder: Path | None) -> TaskMetadata:
    """mteb's metadata of `spec`, its dataset at `folder` and at the task's own revision."""
    return TaskMetadata(
        name=spec.name,
        description=spec.description or f"Custom {spec.type} task {spec.name}.",
        dataset={
            "path": str(folder) if folder is not None else NO_DATA.format(name=spec.name),
            "revision": spec.revision,
        },
        type=spec.type.value,
        category="t2t",
        modalities=["text"],
        eval_splits=list(spec.eval_splits),
        eval_langs=list(spec.languages),
        main_score=spec.main_score,
        domains=list(spec.domains),  # type: ignore[arg-type]  # checked by TaskMetadata
        license=spec.license,  # type: ignore[arg-type]
        is_public=False,
    )


def build_task(spec: TaskSpec, folder: Path | None = None) -> AbsTask:
    """An mteb task object for `spec`, reading its data from `folder` (None: metadata only).

    The class is made per task, as mteb's own tasks are classes with class-level metadata.
    """
    attributes: dict[str, Any] = {"metadata": task_metadata(spec, folder)}
    if spec.type is TaskType.STS:
        low, high = spec.score_range or (0.0, 5.0)
        attributes |= {"min_score": low, "max_score": high}
    base = TASK_CLASSES[spec.type]
    task_class = type(f"Custom{spec.type.value}Task", (base,), attributes)
    return task_class()  # type: ignore[no-any-return]
