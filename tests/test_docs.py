"""The docs in docs/ are generated from the code and mention everything they must."""

from __future__ import annotations

import inspect
import json
import typing
from pathlib import Path
from typing import Any

import pytest

from services.docs import SETTINGS_END, SETTINGS_START, write_docs
from services.submission.refusals import HTTP_STATUS, RefusalCode
from shared.events import Priority, Subjects
from shared.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
GENERATED = ("asyncapi.json", "openapi.json", "configuration.md")
PLACEHOLDER = "PLACEHOLDER"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    written = write_docs(folder)
    assert sorted(path.name for path in written) == sorted(GENERATED)
    return folder


@pytest.mark.parametrize("name", GENERATED)
def test_generated_docs_are_committed(generated: Path, name: str) -> None:
    fresh = (generated / name).read_text(encoding="utf-8")
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert fresh == committed, f"docs/{name} is out of date: run `python -m services.docs`"


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            ref for k, v in node.items() if k != "$ref" for ref in refs(v)
        ]
    if isinstance(node, list):
        return [ref for item in node for ref in refs(item)]
    return []


@pytest.mark.parametrize("name", ["asyncapi.json", "openapi.json"])
def test_every_reference_resolves(generated: Path, name: str) -> None:
    document = json.loads((generated / name).read_text(encoding="utf-8"))
    for ref in refs(document):
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]


def subject_prefixes() -> dict[str, str]:
    """Each subject of `Subjects` up to its first variable part."""
    prefixes = {"INTAKE": Subjects.INTAKE}
    for name, method in inspect.getmembers(Subjects, inspect.isfunction):
        hints = typing.get_type_hints(method)
        args = [
            Priority.NORMAL
            if hints.get(param) is Priority
            else False  # `private`: the public subject (its twin is `lb.private.` + it)
            if hints.get(param) is bool
            else PLACEHOLDER
            for param in inspect.signature(method).parameters
        ]
        subject = method(*args)
        tokens = subject.split(".")
        variable = {PLACEHOLDER, *(priority.value for priority in Priority)}
        fixed = next(i for i, token in enumerate(tokens) if token in variable)
        prefixes[name] = ".".join(tokens[:fixed]) + "."
    return prefixes


def test_hand_written_docs_cover_the_code() -> None:
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    rows = [line.split("|") for line in api.splitlines() if line.startswith("| `")]
    statuses = {cells[1].strip(): cells[2].strip() for cells in rows if len(cells) > 3}
    for code in RefusalCode:
        assert statuses.get(f"`{code.value}`") == str(HTTP_STATUS[code]), (
            f"docs/api.md lacks a table row `{code.value}` | {HTTP_STATUS[code]}"
        )

    configuration = (DOCS / "configuration.md").read_text(encoding="utf-8")
    table = configuration.split(SETTINGS_START)[1].split(SETTINGS_END)[0]
    for field in Settings.model_fields:
        assert f"`LEADERBOARD_{field.upper()}`" in table, f"configuration.md lacks {field}"

    events = (DOCS / "events.md").read_text(encoding="utf-8")
    prefixes = subject_prefixes()
    assert len(prefixes) == 11
    for name, prefix in prefixes.items():
        assert prefix in events, f"docs/events.md lacks {prefix} (Subjects.{name})"
