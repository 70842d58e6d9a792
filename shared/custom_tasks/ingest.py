"""A user's task data → the task's canonical, validated, content-addressed datasets folder.

The data comes as files by role (`corpus`, `queries`, `qrels`, `top_ranked`, `pairs`, `train`,
`test`; a role may name its split, `qrels:dev`, a bare role meaning the first evaluation split),
or as a Hugging Face datasets folder laid out as mteb's own tasks of the type. Every row is read
and checked before anything is written; the folder written reads in mteb's own `load_data`.
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from shared.custom_tasks.canonical import readme, write_jsonl
from shared.custom_tasks.checks import Findings, canonical_rows, validate
from shared.custom_tasks.data_errors import Caps, TaskDataError
from shared.custom_tasks.formats import Source
from shared.custom_tasks.hf_folder import folder_sources
from shared.custom_tasks.layouts import Kind, Part, parts
from shared.custom_tasks.spec import (
    DEFAULT_MAIN_SCORE,
    TASK_NAME,
    TaskMetadataFields,
    TaskSpec,
    TaskType,
)
from shared.task_data import manifest

__all__ = ["Caps", "TaskDataError", "prepare_task", "roles"]

DEFAULT_CAPS = Caps()

SPLIT_NAME = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
"""A split name as `datasets` allows it."""


def roles(task_type: TaskType) -> list[str]:
    """The roles a task of the type takes its files under (without splits)."""
    return list(dict.fromkeys(part.role for part in parts(task_type, ["test"])))


def prepare_task(
    name: str,
    task_type: TaskType,
    metadata: TaskMetadataFields,
    *,
    files: dict[str, Path] | None = None,
    file_names: dict[str, str] | None = None,
    folder: Path | None = None,
    into: Path,
    caps: Caps = DEFAULT_CAPS,
) -> tuple[TaskSpec, Path]:
    """Validate everything first; then write the canonical folder under `into`.

    Returns the task's spec (files = the folder's manifest, revision = its digest, main score
    defaulted from the type) and the folder, `into/<revision>`. Raises TaskDataError; on error
    `into` holds nothing of this task, and nothing is ever written outside `into`.
    """
    _check_metadata(name, task_type, metadata)
    layout = parts(task_type, list(metadata.eval_splits))
    if files is not None and folder is None:
        sources = _file_sources(task_type, layout, files, file_names or {}, metadata.eval_splits)
    elif folder is not None and files is None:
        sources = folder_sources(folder, layout)
    else:
        raise TaskDataError("invalid_input", "give either files by role or a datasets folder")
    findings = validate(layout, sources, caps, metadata.score_range)
    written, files_digests = _write(task_type, layout, sources, findings, caps, into)
    spec = TaskSpec(
        **metadata.model_dump(exclude={"main_score"}),
        name=name,
        type=task_type,
        main_score=metadata.main_score or DEFAULT_MAIN_SCORE[task_type],
        files=files_digests,
        revision=TaskSpec.manifest_revision(files_digests),
    )
    return spec, written


def _check_metadata(name: str, task_type: TaskType, metadata: TaskMetadataFields) -> None:
    def refuse(message: str, field: str) -> TaskDataError:
        return TaskDataError("invalid_metadata", message, field=field)

    if not re.match(TASK_NAME, name):
        raise refuse("a task name is letters, digits, '_' and '-', a letter first", "name")
    if task_type is TaskType.STS and metadata.score_range is None:
        raise refuse("an STS task needs its score_range (lowest, highest)", "score_range")
    if task_type is not TaskType.STS and metadata.score_range is not None:
        raise refuse("only STS tasks have a score_range", "score_range")
    splits = metadata.eval_splits
    for split in splits:
        if not SPLIT_NAME.match(split):
            raise refuse(f"split name {split!r}: letters, digits and '_' only", "eval_splits")
    if len(set(splits)) != len(splits):
        raise refuse("a split is named twice", "eval_splits")
    if task_type is TaskType.CLASSIFICATION and "train" in splits:
        raise refuse("the train split of a Classification task is not evaluated", "eval_splits")


def _file_sources(
    task_type: TaskType,
    layout: list[Part],
    files: dict[str, Path],
    file_names: dict[str, str],
    eval_splits: list[str],
) -> dict[Part, list[Source]]:
    """The part each file supplies, by its role; every part must get one file."""
    by_label = {part.label: part for part in layout}
    split_roles = {part.role for part in layout if part.split is not None}
    sources: dict[Part, list[Source]] = {}
    for role, path in files.items():
        name = file_names.get(role, path.name)
        label = f"{role}:{eval_splits[0]}" if role in split_roles else role
        part = by_label.get(label)
        if part is None:
            taken = ", ".join(part.label for part in layout)
            raise TaskDataError(
                "unexpected_file",
                f"a {task_type.value} task takes no {role!r} file (it takes {taken})",
                file=name,
                field=role,
            )
        if part in sources:
            raise TaskDataError(
                "unexpected_file", f"two files given for {part.label}", file=name, field=role
            )
        if not path.is_file():
            raise TaskDataError("missing_file", "the file does not exist", file=name, field=role)
        sources[part] = [Source.of(path, name)]
    for part in layout:
        if part not in sources:
            raise TaskDataError("missing_file", f"no file given for {part.label}", field=part.label)
    return sources


def _write(
    task_type: TaskType,
    layout: list[Part],
    sources: dict[Part, list[Source]],
    findings: Findings,
    caps: Caps,
    into: Path,
) -> tuple[Path, dict[str, str]]:
    """Write the canonical folder as `into/<revision>`, or nothing at all on error.

    Returns the folder and its manifest.
    """
    into.mkdir(parents=True, exist_ok=True)
    staging = into / f".{uuid.uuid4().hex}.partial"
    try:
        staging.mkdir()
        for part in layout:
            rows = (
                _written(part, row, findings)
                for _, _, row in canonical_rows(part, sources[part], caps.max_text_chars)
            )
            write_jsonl(staging / part.path, rows)
        (staging / "README.md").write_text(readme(task_type, layout), encoding="utf-8")
        files = manifest(staging)
        final = into / TaskSpec.manifest_revision(files)
        if final.exists():
            shutil.rmtree(staging)
        else:
            staging.rename(final)
        return final, files
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _written(part: Part, row: dict[str, object], findings: Findings) -> dict[str, object]:
    if findings.labels_as_text:
        for column in part.columns:
            if column.kind is Kind.LABEL:
                row[column.name] = str(row[column.name])
    return row
