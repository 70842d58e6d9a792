"""The canonical form of a task's data: JSONL files and a README whose header names them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.custom_tasks.layouts import Part
from shared.custom_tasks.spec import TaskType

ENCODER = json.JSONEncoder(ensure_ascii=False)
"""Text as it is (UTF-8), not as escapes; one encoder for every row."""


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """One JSON object a line, in the order given, keys in the order of the row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write(ENCODER.encode(row))
            out.write("\n")


def readme(task_type: TaskType, parts: list[Part]) -> str:
    """The folder's README.md: the `configs:` header `datasets` reads, then one line of prose.

    It says nothing of the task's name or metadata, so the same data has the same revision.
    """
    lines = ["---", "configs:"]
    configs: dict[str, list[Part]] = {}
    for part in parts:
        configs.setdefault(part.config, []).append(part)
    for config, members in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for part in members:
            lines += [f"  - split: {part.hf_split}", f"    path: {part.path}"]
    lines += [
        "---",
        "",
        f"Data of a custom {task_type.value} task, laid out as mteb reads its own"
        f" {task_type.value} tasks.",
        "",
    ]
    return "\n".join(lines)
