"""The code stays ruff-clean, formatted and type-checked."""

from __future__ import annotations

import ast
import json
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


def imports_of(wing: Path) -> dict[str, list[str]]:
    """`imported_modules` of every file of `wing`, parsed in a process of its own: in the test
    process, CPython 3.11.7's parser can fail while another thread compiles (a web server
    thread's Jinja templates): "AST constructor recursion depth mismatch"."""
    done = subprocess.run(
        [sys.executable, __file__, str(wing)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


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
        f"{path}: {module}"
        for path, modules in imports_of(ROOT / wing).items()
        for module in modules
        if module.startswith(forbidden)
    }
    assert offending == set()


if __name__ == "__main__":  # imports_of: the imports of each file under the folder argv[1]
    folder = Path(sys.argv[1])
    imports = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path)) for path in folder.rglob("*.py")
    }
    print(json.dumps(imports))
