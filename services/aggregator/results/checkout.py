"""Reading a checkout of the public MTEB results repository: `results/<model>/<revision>/`.

Identities and files are read as mteb's `ResultCache` reads them; each file becomes a stored
result through the live results' conversion (`intake.result_doc`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.aggregator.results.intake import InvalidResultError, result_doc
from shared.documents import ResultDoc
from shared.summary.rows import read_task_result

MODEL_META = "model_meta.json"
EXPERIMENTS = "experiments"
GIT_TIMEOUT_S = 10.0
COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
"""A full SHA-1 or SHA-256 git object name."""


class ImportSourceError(ValueError):
    """The import path is not a results repository checkout."""


@dataclass
class Skipped:
    """A file or folder that was not imported, and why."""

    path: str
    reason: str


@dataclass
class PreparedResult:
    """A converted result, its document already made (in the worker process) for the store."""

    id: str
    task: str
    digest: str
    document: dict[str, Any]
    source: str

    @classmethod
    def of(cls, result: ResultDoc, source: str) -> PreparedResult:
        return cls(result.id, result.task, result.digest, result.to_mongo(), source)


@dataclass
class FolderRead:
    """What one `<model>/<revision>/` folder holds, converted for the store."""

    model: str | None = None
    revision: str | None = None
    meta_json: str | None = None
    files: int = 0
    results: list[PreparedResult] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    """(result id, path) of files whose bytes are those already stored: not read again."""
    skipped: list[Skipped] = field(default_factory=list)


def results_folder(path: Path) -> Path:
    """The `results/` folder of a checkout (or `path` itself when it is that folder)."""
    folder = path / "results" if (path / "results").is_dir() else path
    if not folder.is_dir():
        raise ImportSourceError(f"{path} is not a folder")
    return folder


def checkout_commit(results: Path) -> str | None:
    """The commit HEAD names in the git checkout holding `results` (the `results/` folder's
    parent, else `results` itself); None when it is not a git checkout or HEAD is unreadable.

    A plain `.git` folder is read without git; another layout (a worktree's or submodule's `.git`
    file) is asked of `git rev-parse`. Local changes to the files are not seen.
    """
    checkout = results.parent if results.name == "results" else results
    git = checkout / ".git"
    if git.is_dir() and (commit := _head_commit(git)) is not None:
        return commit
    return _rev_parse_head(checkout) if git.exists() else None


def _head_commit(git: Path) -> str | None:
    """HEAD of the `.git` folder `git`, read from its files (loose ref, else packed-refs)."""
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head if COMMIT.fullmatch(head) else None
        ref = head.removeprefix("ref: ")
        if (git / ref).is_file():
            loose = (git / ref).read_text(encoding="utf-8").strip()
            return loose if COMMIT.fullmatch(loose) else None
        packed = (git / "packed-refs").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in packed.splitlines():
        commit, _, name = line.partition(" ")
        if name == ref and COMMIT.fullmatch(commit):
            return commit
    return None


def _rev_parse_head(checkout: Path) -> str | None:
    """`git rev-parse HEAD` in `checkout`; None when git fails or is not installed."""
    try:
        done = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and COMMIT.fullmatch(commit) else None


def revision_folders(results: Path) -> list[Path]:
    """Every `<model>/<revision>/` folder, in name order."""
    return sorted(
        revision
        for model in results.iterdir()
        if model.is_dir()
        for revision in model.iterdir()
        if revision.is_dir()
    )


def folder_identity(folder: Path) -> tuple[str, str, str | None]:
    """(model, revision, model_meta.json) as mteb reads them: `model_meta.json`, else the path.

    Raises ValueError for an unreadable `model_meta.json`.
    """
    meta_path = folder / MODEL_META
    if not meta_path.exists():
        return folder.parent.name.replace("__", "/"), folder.name, None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise ValueError("it names no model")
    revision = str(meta.get("revision") or folder.name)
    return meta["name"], revision, json.dumps(meta, sort_keys=True)


def read_folder(
    root: Path, folder: Path, known: Mapping[str, tuple[str, str]], commit: str | None
) -> FolderRead:
    """One revision folder's results; malformed files are reported in `skipped`, never raised.

    `known` holds the files already stored (path inside `root` → SHA-256 and result id): those
    whose bytes are unchanged are not validated again. `commit` is the checkout's git commit,
    kept with each result.
    """
    read = FolderRead()
    if (folder / EXPERIMENTS).is_dir():
        reason = "experiment runs (non-default model settings) are not imported"
        read.skipped.append(Skipped(str(folder / EXPERIMENTS), reason))
    try:
        read.model, read.revision, read.meta_json = folder_identity(folder)
    except (ValueError, OSError) as error:
        read.skipped.append(Skipped(str(folder), f"unreadable model_meta.json: {error}"))
        return read
    for path in sorted(p for p in folder.glob("*.json") if p.name != MODEL_META):
        read.files += 1
        name = path.relative_to(root).as_posix()
        try:
            content = path.read_bytes()
            sha = hashlib.sha256(content).hexdigest()
            stored_sha, stored_id = known.get(name, ("", ""))
            if sha == stored_sha:
                read.unchanged.append((stored_id, str(path)))
                continue
            task_result, text = read_task_result(content.decode("utf-8"))
            doc = result_doc(
                task_result,
                read.model,
                read.revision,
                source="import",
                source_json=text,
                source_file=name,
                source_sha=sha,
                source_commit=commit,
            )
            read.results.append(PreparedResult.of(doc, str(path)))
        except Exception as error:  # a malformed file is reported, never fatal
            read.skipped.append(Skipped(str(path), _reason(error)))
    return read


def read_folders(
    root: Path, folders: list[Path], known: Mapping[str, tuple[str, str]], commit: str | None
) -> list[FolderRead]:
    """`read_folder` of each folder (one unit of work for a worker process)."""
    return [read_folder(root, folder, known, commit) for folder in folders]


def file_names(root: Path, folders: list[Path]) -> list[str]:
    """The result files' paths inside `root`, as `read_folder` names them (`folders` being
    `revision_folders(root)`)."""
    return [
        f"{folder.parent.name}/{folder.name}/{name}"
        for folder in folders
        for name in os.listdir(folder)
        if name.endswith(".json") and name != MODEL_META
    ]


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "file"
        return f"not an mteb TaskResult: {where}: {first['msg']} ({error.error_count()} errors)"
    if isinstance(error, InvalidResultError):
        return str(error)
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON: {error}"
    return f"unreadable: {type(error).__name__}: {error}"
