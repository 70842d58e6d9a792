"""The evaluator's task loading and model metadata (no model is run here)."""

from __future__ import annotations

from pathlib import Path

import mteb

from services.evaluator.metadata import load_task, model_meta


def test_local_task_data_replaces_the_path_and_keeps_the_revision(tmp_path: Path) -> None:
    (tmp_path / "BIOSSES").mkdir()
    original = mteb.get_task("BIOSSES").metadata.dataset
    task = load_task("BIOSSES", tmp_path)
    assert task.metadata.dataset["path"] == str(tmp_path / "BIOSSES")
    assert task.metadata.dataset["revision"] == original["revision"]
    assert mteb.get_task("BIOSSES").metadata.dataset == original  # class metadata untouched


def test_without_local_data_the_hub_path_stays(tmp_path: Path) -> None:
    assert (
        load_task("BIOSSES", tmp_path).metadata.dataset == mteb.get_task("BIOSSES").metadata.dataset
    )
    assert load_task("BIOSSES", None).metadata.dataset == mteb.get_task("BIOSSES").metadata.dataset


def test_model_meta_from_the_registry_or_empty() -> None:
    known = model_meta("sentence-transformers/all-MiniLM-L6-v2", "abc")
    assert (known.name, known.revision) == ("sentence-transformers/all-MiniLM-L6-v2", "abc")
    assert known.n_parameters
    unknown = model_meta("someone/new-model", "def")
    assert (unknown.name, unknown.revision) == ("someone/new-model", "def")
