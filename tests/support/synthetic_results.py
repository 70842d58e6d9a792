"""A results checkout made here, in the public results repository's layout: mteb's own
`TaskResult.to_disk` and `ModelMeta.to_dict` output for MTEB(eng, v2) tasks and registry models,
scores pseudo-random but fixed by their names, with the repository's awkward cases."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import mteb
from mteb.models.model_implementations import MODEL_REGISTRY
from mteb.results import TaskResult

ENG_V2 = "MTEB(eng, v2)"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
QWEN15 = "Alibaba-NLP/gte-Qwen1.5-7B-instruct"
QWEN2 = "Alibaba-NLP/gte-Qwen2-1.5B-instruct"
BGE = "BAAI/bge-base-en-v1.5"
F2LLM = "codefuse-ai/F2LLM-v2-80M"
OUTSIDE = "voyageai/voyage-3"  # a name mteb's registry no longer has: imported, in no table
OLD_VERSION = "1.2.0"  # the format before mteb 1.11, which mteb converts on reading
MTEB_VERSIONS = ("1.14.12", "1.36.1", "2.1.4")  # none of them the installed one
REGISTRY_REVISION = ""  # a folder named by the registry's revision of the model


@dataclass(frozen=True)
class Folder:
    """One revision folder: its name, the benchmark tasks it holds (by position), the revision
    its `model_meta.json` names (None: no meta file) and how its files are written."""

    name: str
    tasks: slice
    meta_revision: str | None = REGISTRY_REVISION
    old_format: bool = False
    experiments: bool = False


EVERY = slice(None)
OLDER_SHA = hashlib.sha1(b"an older revision").hexdigest()
LAYOUTS: dict[str, tuple[Folder, ...]] = {
    MINILM: (Folder(REGISTRY_REVISION, EVERY),),
    # a sha, `no_revision_available` (old files, no meta) and an `external` of its meta only
    QWEN15: (
        Folder(REGISTRY_REVISION, slice(0, None, 2)),
        Folder("no_revision_available", slice(1, None, 2), None, old_format=True),
        Folder("external", slice(0), "external"),
    ),
    QWEN2: (
        Folder(REGISTRY_REVISION, slice(0, -6)),
        Folder("external", slice(-6, None), "external"),
    ),
    # BIOSSES (position 4) in both folders, which mteb joins per task
    BGE: (Folder(REGISTRY_REVISION, slice(4, None)), Folder("external", slice(0, 5), "external")),
    F2LLM: (
        Folder(REGISTRY_REVISION, EVERY),
        Folder(OLDER_SHA, slice(0, 10), OLDER_SHA, experiments=True),
    ),
}
MODELS = tuple(LAYOUTS)
# more registry models for the table tests: complete ones close together, and some partial
POOL = (
    "intfloat/e5-small",
    "BAAI/bge-small-en-v1.5",
    "thenlper/gte-small",
    "thenlper/gte-base",
    "intfloat/e5-base-v2",
    "sentence-transformers/all-mpnet-base-v2",
    "BAAI/bge-large-en-v1.5",
    "nomic-ai/nomic-embed-text-v1.5",
    "mixedbread-ai/mxbai-embed-large-v1",
    "Snowflake/snowflake-arctic-embed-s",
)
PARTIAL = slice(0, 30)


@cache
def benchmark_tasks() -> tuple[mteb.AbsTask, ...]:
    """MTEB(eng, v2)'s tasks as the registry defines them (every split and subset)."""
    names = [task.metadata.name for task in mteb.get_benchmark(ENG_V2).tasks]
    return tuple(mteb.get_task(name) for name in names)


def task_result(task: mteb.AbsTask, model: str, revision: str) -> TaskResult:
    """mteb's TaskResult of `task` for every split and subset, scores drawn from the names, by
    one of `MTEB_VERSIONS`."""
    strength = random.Random(model).uniform(0.4, 0.7)
    version = random.Random(f"{model}|{revision}").choice(MTEB_VERSIONS)
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    for split in task.metadata.eval_splits:
        scores[split] = {}
        for subset in task.hf_subsets:
            draw = random.Random(f"{model}|{revision}|{task.metadata.name}|{split}|{subset}")
            value = min(1.0, strength + draw.uniform(-0.15, 0.15))
            scores[split][subset] = {
                "main_score": value,
                task.metadata.main_score: value,
                "mteb_version": version,
            }
    seconds = random.Random(f"{model}|{task.metadata.name}").uniform(1, 100)
    return TaskResult.from_task_results(task, scores, evaluation_time=seconds)


def old_format(result: TaskResult, main_score: str) -> dict[str, Any]:
    """The result as mteb before 1.11 wrote it: scores by split (then subset, if not just the
    default one), similarity metrics nested under their old names."""

    def metrics(value: float) -> dict[str, Any]:
        for prefix, old in (("cosine_", "cos_sim"), ("max_", "max")):
            if main_score.startswith(prefix):
                return {old: {main_score.removeprefix(prefix): value}}
        return {main_score: value}

    data: dict[str, Any] = {
        "dataset_revision": result.dataset_revision,
        "mteb_dataset_name": result.task_name,
        "mteb_version": OLD_VERSION,
    }
    for split, entries in result.scores.items():
        by_subset = {entry["hf_subset"]: metrics(entry["main_score"]) for entry in entries}
        data[split] = by_subset.pop("default") if list(by_subset) == ["default"] else by_subset
        data[split]["evaluation_time"] = result.evaluation_time
    return data


def model_meta(model: str, revision: str) -> dict[str, Any]:
    """mteb's `ModelMeta.to_dict()` of the registry's model (MiniLM's, renamed, for a model
    the registry lacks), naming `revision`."""
    meta = MODEL_REGISTRY.get(model) or MODEL_REGISTRY[MINILM]
    return meta.model_copy(update={"name": model, "revision": revision}).to_dict()


def write_meta(folder: Path, meta: dict[str, Any]) -> None:
    """`model_meta.json` as mteb's `ResultCache.save_to_cache` writes it."""
    with (folder / "model_meta.json").open("w", encoding="utf-8") as file:
        json.dump(meta, file, default=str, indent=4)


def write_folder(folder: Path, model: str, revision: str, tasks: tuple[mteb.AbsTask, ...]) -> None:
    """`tasks`' result files of `model` at `revision` in mteb's current format."""
    for task in tasks:
        task_result(task, model, revision).to_disk(folder / f"{task.metadata.name}.json")


def write_model(checkout: Path, model: str, layout: tuple[Folder, ...]) -> None:
    """One model's folders under `checkout/results`."""
    registry_revision = MODEL_REGISTRY[model].revision if model in MODEL_REGISTRY else "1"
    for spec in layout:
        name = spec.name or registry_revision or "no_revision_available"
        folder = checkout / "results" / model.replace("/", "__") / name
        tasks = benchmark_tasks()[spec.tasks]
        folder.mkdir(parents=True)
        if spec.meta_revision is not None:
            write_meta(folder, model_meta(model, spec.meta_revision or name))
        if spec.old_format:
            for task in tasks:
                data = old_format(task_result(task, model, name), task.metadata.main_score)
                (folder / f"{task.metadata.name}.json").write_text(json.dumps(data, indent=2))
        else:
            write_folder(folder, model, name, tasks)
        if spec.experiments:  # as in the public repository: an experiment's meta alone
            run = folder / "experiments" / "model_kwargs_{}"
            run.mkdir(parents=True)
            write_meta(run, model_meta(model, name) | {"experiment_kwargs": {"model_kwargs": {}}})


def synthetic_checkout(target: Path, models: tuple[str, ...] = MODELS) -> Path:
    """A checkout at `target` of `models`' folders: those of `LAYOUTS` as laid out there, the
    others one folder at the registry's revision (`POOL`'s odd ones on `PARTIAL` tasks only)."""
    for model in models:
        tasks = PARTIAL if model in POOL[1::2] else EVERY
        write_model(target, model, LAYOUTS.get(model, (Folder(REGISTRY_REVISION, tasks),)))
    return target


def summary_checkout(target: Path) -> Path:
    """The checkout the table tests read: `MODELS`, `POOL` and `OUTSIDE`."""
    return synthetic_checkout(target, (*MODELS, *POOL, OUTSIDE))
