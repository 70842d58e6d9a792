"""A Hugging Face datasets folder as input: its README's `configs:` header, files kept inside it."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from shared.custom_tasks.data_errors import TaskDataError
from shared.custom_tasks.formats import FORMATS, Source
from shared.custom_tasks.layouts import RETRIEVAL_CONFIGS, Part

SINGLE_SPLIT_ROLES = ("corpus", "queries", "top_ranked")
"""Roles whose config mteb's retrieval loader reads from its only split, whatever its name."""

DataFiles = dict[str, list[str]]
"""split → the file paths (or glob patterns) the folder names for it."""


def folder_sources(folder: Path, parts: list[Part]) -> dict[Part, list[Source]]:
    """The files of `folder` that supply each part, by the configs its README declares."""
    if not folder.is_dir():
        raise TaskDataError("missing_file", "the datasets folder is not a folder", file=str(folder))
    folder = folder.resolve()
    configs = read_configs(folder)
    return {part: _part_sources(folder, configs, part) for part in parts}


def read_configs(folder: Path) -> dict[str, DataFiles]:
    """config name → its data files, from the YAML header of the folder's README.md."""
    readme = _inside(folder, "README.md")
    if not readme.is_file():
        raise TaskDataError(
            "missing_file",
            "a datasets folder needs a README.md whose YAML header lists its `configs:`",
            file="README.md",
        )
    text = readme.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        raise TaskDataError("invalid_folder", "README.md has no YAML header", file="README.md")
    header = text[3:].split("\n---", 1)[0]
    try:
        metadata = yaml.safe_load(header) or {}
    except yaml.YAMLError as error:
        raise TaskDataError(
            "invalid_folder", f"README.md's YAML header is not valid: {error}", file="README.md"
        ) from None
    configs = metadata.get("configs") if isinstance(metadata, dict) else None
    if not isinstance(configs, list) or not configs:
        raise TaskDataError(
            "invalid_folder", "README.md's YAML header lists no `configs:`", file="README.md"
        )
    return {
        str(config.get("config_name", "default")): _data_files(config.get("data_files"))
        for config in configs
        if isinstance(config, dict)
    }


def _data_files(declared: Any) -> DataFiles:
    """A config's `data_files` in any of the forms `datasets` accepts, as split → paths."""
    if isinstance(declared, str):
        return {"train": [declared]}
    if isinstance(declared, dict):
        return {str(split): _paths(paths) for split, paths in declared.items()}
    if isinstance(declared, list):
        if all(isinstance(item, str) for item in declared):
            return {"train": list(declared)}
        files: DataFiles = {}
        for item in declared:
            if not isinstance(item, dict) or "path" not in item:
                raise TaskDataError(
                    "invalid_folder", f"cannot read data_files entry {item!r}", file="README.md"
                )
            files.setdefault(str(item.get("split", "train")), []).extend(_paths(item["path"]))
        return files
    raise TaskDataError("invalid_folder", "a config has no data_files", file="README.md")


def _paths(declared: Any) -> list[str]:
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list) and all(isinstance(path, str) for path in declared):
        return list(declared)
    raise TaskDataError(
        "invalid_folder", f"cannot read data file path {declared!r}", file="README.md"
    )


def _part_sources(folder: Path, configs: dict[str, DataFiles], part: Part) -> list[Source]:
    names = RETRIEVAL_CONFIGS.get(part.role, (part.config,))
    config = next((name for name in reversed(names) if name in configs), None)
    if config is None:
        raise TaskDataError(
            "missing_file",
            f"the folder's README declares no config {names[0]!r} for {part.label}",
            file="README.md",
            field=part.label,
        )
    splits = configs[config]
    if part.hf_split in splits:
        patterns = splits[part.hf_split]
    elif part.role in SINGLE_SPLIT_ROLES and len(splits) == 1:
        patterns = next(iter(splits.values()))
    else:
        raise TaskDataError(
            "missing_file",
            f"config {config!r} has no split {part.hf_split!r} (it has {', '.join(splits)})",
            file="README.md",
            field=part.label,
        )
    found = [path for pattern in patterns for path in _matches(folder, pattern)]
    if not found:
        raise TaskDataError("missing_file", "no file matches", file=patterns[0], field=part.label)
    return [Source.of(path, path.relative_to(folder).as_posix(), tuple(FORMATS)) for path in found]


def _matches(folder: Path, pattern: str) -> list[Path]:
    _inside(folder, pattern)
    if not any(char in pattern for char in "*?["):
        path = folder / pattern
        if not path.is_file():
            raise TaskDataError("missing_file", "the file is not in the folder", file=pattern)
        return [_inside(folder, pattern)]
    return [
        _inside(folder, path.relative_to(folder).as_posix())
        for path in sorted(folder.glob(pattern))
        if path.is_file()
    ]


def _inside(folder: Path, relative: str) -> Path:
    """`folder / relative`, refusing paths that could lead out of the folder."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or "\\" in relative:
        raise TaskDataError("unsafe_path", "the path leads out of the folder", file=relative)
    path = folder
    for part in pure.parts:
        path = path / part
        if path.is_symlink():
            raise TaskDataError(
                "unsafe_path", "the folder may not hold symbolic links", file=relative
            )
    if not path.resolve().is_relative_to(folder.resolve()):
        raise TaskDataError("unsafe_path", "the path leads out of the folder", file=relative)
    return path
