"""The code stays ruff-clean, formatted and type-checked."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ],
    ids=["ruff", "format", "mypy"],
)
def test_tool_passes(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def imported_modules(path: Path) -> set[str]:
    """The modules a Python file imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    ("wing", "forbidden"),
    [
        ("services/web", ("services.aggregator", "services.submission", "services.evaluator")),
        ("shared", ("services",)),
    ],
)
def test_a_wing_reads_the_library_not_another_service(
    wing: str, forbidden: tuple[str, ...]
) -> None:
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / wing).rglob("*.py")
        for module in imported_modules(path)
        if module.startswith(forbidden)
    }
    assert offending == set()
