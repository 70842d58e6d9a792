"""Canonical folders read by mteb's own `load_data` score exactly as mteb's own tasks do.

Each custom task is compared with a registry task of its type pointed at the same data, both run
in the test on the packaged all-MiniLM-L6-v2. The model remembers each text's embedding, so a
text the two runs share is encoded once (its embedding is the model's own, only not recomputed).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import mteb
import numpy as np
import pytest
from mteb.abstasks import AbsTask
from mteb.models import SentenceTransformerEncoderWrapper
from sentence_transformers import SentenceTransformer

from shared.custom_tasks.ingest import prepare_task
from shared.custom_tasks.layouts import CLUSTERING_SAMPLE
from shared.custom_tasks.mteb_task import build_task
from shared.custom_tasks.spec import TaskMetadataFields, TaskSpec, TaskType
from tests.conftest import MODEL_ID
from tests.support.offline_data import data, offline_datasets

__all__ = ["data", "offline_datasets"]  # fixtures

PLAIN = TaskMetadataFields()


def remembering(encode: Any) -> Any:
    """`encode`, computing each text once for each prompt and task."""
    known: dict[tuple[Any, ...], np.ndarray] = {}

    def encode_once(inputs: list[str], **kwargs: Any) -> np.ndarray:
        kind = (kwargs.get("prompt"), kwargs.get("prompt_name"), kwargs.get("task"))
        new = list(dict.fromkeys(text for text in inputs if (*kind, text) not in known))
        if new:
            for text, embedding in zip(new, encode(new, **kwargs), strict=True):
                known[(*kind, text)] = np.asarray(embedding)
        return np.stack([known[(*kind, text)] for text in inputs])

    return encode_once


@pytest.fixture(scope="module")
def model(models_dir: Path) -> SentenceTransformerEncoderWrapper:
    encoder = SentenceTransformer(str(models_dir / MODEL_ID), device="cpu")
    encoder.encode = remembering(encoder.encode)  # type: ignore[method-assign]
    wrapped = SentenceTransformerEncoderWrapper(encoder)
    wrapped.mteb_model_meta = mteb.get_model_meta(MODEL_ID)
    return wrapped


def score(model: SentenceTransformerEncoderWrapper, task: AbsTask, metric: str) -> float:
    """The task's `metric` on its test split."""
    result = mteb.evaluate(
        model, task, cache=None, overwrite_strategy="always", show_progress_bar=False
    ).task_results[0]
    return float(result.scores["test"][0][metric])


def registry_task(name: str, folder: Path) -> AbsTask:
    """mteb's own task `name`, reading its data from `folder`."""
    task = mteb.get_task(name)
    dataset = {**task.metadata.dataset, "path": str(folder)}
    task.metadata = task.metadata.model_copy(update={"dataset": dataset}, deep=True)
    return task


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_delimited(path: Path, rows: list[dict[str, Any]], delimiter: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_biosses_from_its_file_and_its_folder_scores_as_mteb_biosses(
    data: Path, model: SentenceTransformerEncoderWrapper, tmp_path: Path
) -> None:
    metadata = TaskMetadataFields(score_range=(0, 4))
    from_file, file_folder = prepare_task(
        "my-sts",
        TaskType.STS,
        metadata,
        files={"pairs": data / "BIOSSES" / "test.jsonl"},
        into=tmp_path / "files",
    )
    from_folder, folder = prepare_task(
        "my-sts", TaskType.STS, metadata, folder=data / "BIOSSES", into=tmp_path / "folder"
    )
    assert from_file.revision == from_folder.revision
    assert lines(folder / "test.jsonl") == lines(data / "BIOSSES" / "test.jsonl")
    expected = score(model, registry_task("BIOSSES", data / "BIOSSES"), from_file.main_score)
    assert score(model, build_task(from_file, file_folder), from_file.main_score) == pytest.approx(
        expected, abs=1e-6
    )
    assert score(model, build_task(from_folder, folder), from_file.main_score) == pytest.approx(
        expected, abs=1e-6
    )


def test_scifact_from_its_files_and_its_folder_is_the_same_revision(
    data: Path, tmp_path: Path
) -> None:
    scifact = data / "SciFact"
    files = {
        "corpus": scifact / "corpus.jsonl",
        "queries": scifact / "queries.jsonl",
        "qrels": scifact / "qrels" / "test.jsonl",
    }
    from_files, _ = prepare_task("sf", TaskType.RETRIEVAL, PLAIN, files=files, into=tmp_path)
    from_folder, folder = prepare_task(
        "sf", TaskType.RETRIEVAL, PLAIN, folder=scifact, into=tmp_path
    )
    assert from_files.revision == from_folder.revision
    assert sorted(from_folder.files) == [
        "README.md",
        "corpus.jsonl",
        "qrels/test.jsonl",
        "queries.jsonl",
    ]
    assert lines(folder / "qrels" / "test.jsonl") == lines(scifact / "qrels" / "test.jsonl")


BEIR_README = """---
configs:
- config_name: corpus
  data_files:
  - split: corpus
    path: corpus.jsonl
- config_name: queries
  data_files:
  - split: queries
    path: queries.jsonl
- config_name: default
  data_files:
  - split: test
    path: qrels/test.jsonl
---
"""


@pytest.fixture(scope="module")
def scifact_slice(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small BEIR folder: SciFact's first 12 test queries, their documents and 30 others."""
    scifact = data / "SciFact"
    qrels = lines(scifact / "qrels" / "test.jsonl")
    chosen = list(dict.fromkeys(row["query-id"] for row in qrels))[:12]
    qrels = [row for row in qrels if row["query-id"] in chosen]
    relevant = {row["corpus-id"] for row in qrels}
    corpus = lines(scifact / "corpus.jsonl")
    others = [doc["_id"] for doc in corpus if doc["_id"] not in relevant][:30]
    kept = relevant | set(others)
    folder = tmp_path_factory.mktemp("scifact-slice")
    write_jsonl(folder / "corpus.jsonl", [doc for doc in corpus if doc["_id"] in kept])
    queries = [q for q in lines(scifact / "queries.jsonl") if q["_id"] in chosen]
    write_jsonl(folder / "queries.jsonl", queries)
    write_jsonl(folder / "qrels" / "test.jsonl", qrels)
    (folder / "README.md").write_text(BEIR_README, encoding="utf-8")
    return folder


def test_a_retrieval_slice_from_jsonl_tsv_csv_and_folder_scores_as_mteb_scifact(
    scifact_slice: Path, model: SentenceTransformerEncoderWrapper, tmp_path: Path
) -> None:
    as_jsonl = {
        "corpus": scifact_slice / "corpus.jsonl",
        "queries": scifact_slice / "queries.jsonl",
        "qrels": scifact_slice / "qrels" / "test.jsonl",
    }
    as_text = {
        "corpus": write_delimited(tmp_path / "corpus.csv", lines(as_jsonl["corpus"]), ","),
        "queries": write_delimited(tmp_path / "queries.tsv", lines(as_jsonl["queries"]), "\t"),
        "qrels:test": write_delimited(tmp_path / "qrels.tsv", lines(as_jsonl["qrels"]), "\t"),
    }
    specs = [
        prepare_task("slice", TaskType.RETRIEVAL, PLAIN, files=as_jsonl, into=tmp_path / "a"),
        prepare_task("slice", TaskType.RETRIEVAL, PLAIN, files=as_text, into=tmp_path / "b"),
        prepare_task("slice", TaskType.RETRIEVAL, PLAIN, folder=scifact_slice, into=tmp_path / "c"),
    ]
    assert len({spec.revision for spec, _ in specs}) == 1
    expected = score(model, registry_task("SciFact", scifact_slice), specs[0][0].main_score)
    scores = [score(model, build_task(spec, folder), spec.main_score) for spec, folder in specs]
    assert scores == pytest.approx([expected] * 3, abs=1e-6)
    assert 0 < expected < 1


def test_a_reranking_task_scores_as_mteb_reranking(
    scifact_slice: Path, model: SentenceTransformerEncoderWrapper, tmp_path: Path
) -> None:
    corpus = [doc["_id"] for doc in lines(scifact_slice / "corpus.jsonl")]
    qrels = lines(scifact_slice / "qrels" / "test.jsonl")
    candidates: dict[str, list[str]] = {}
    for row in qrels:
        candidates.setdefault(row["query-id"], corpus[:10])
        if row["corpus-id"] not in candidates[row["query-id"]]:
            candidates[row["query-id"]].append(row["corpus-id"])
    top_ranked = [{"query-id": query, "corpus-ids": ids} for query, ids in candidates.items()]
    files = {
        "corpus": scifact_slice / "corpus.jsonl",
        "queries": scifact_slice / "queries.jsonl",
        "qrels": scifact_slice / "qrels" / "test.jsonl",
        "top_ranked": write_jsonl(tmp_path / "top_ranked.jsonl", top_ranked),
    }
    spec, folder = prepare_task("rr", TaskType.RERANKING, PLAIN, files=files, into=tmp_path)
    assert spec.main_score == "map_at_1000"
    assert "top_ranked/test.jsonl" in spec.files
    task = build_task(spec, folder)
    task.load_data()
    assert task.dataset is not None
    assert task.dataset["default"]["test"]["top_ranked"] == candidates
    expected = score(model, registry_task("SciDocsRR", folder), spec.main_score)
    assert score(model, build_task(spec, folder), spec.main_score) == pytest.approx(
        expected, abs=1e-6
    )


@pytest.fixture(scope="module")
def banking(data: Path) -> dict[str, list[dict[str, Any]]]:
    """Banking77's first rows of five labels (12 a label in train, 8 in test), in file order."""
    chosen: dict[str, list[dict[str, Any]]] = {}
    for split, per_label in (("train", 12), ("test", 8)):
        counts = dict.fromkeys((11, 13, 17, 32, 34), 0)
        chosen[split] = []
        for row in lines(data / "Banking77Classification" / f"{split}.jsonl"):
            if counts.get(row["label"], per_label) < per_label:
                counts[row["label"]] += 1
                chosen[split].append({"text": row["text"], "label": row["label"]})
    return chosen


def test_classification_from_csv_scores_as_mteb_classification(
    banking: dict[str, list[dict[str, Any]]],
    model: SentenceTransformerEncoderWrapper,
    tmp_path: Path,
) -> None:
    train = write_delimited(tmp_path / "train.csv", banking["train"], ",")
    test = write_delimited(tmp_path / "test.csv", banking["test"], ",")
    spec, folder = prepare_task(
        "cls", TaskType.CLASSIFICATION, PLAIN, files={"train": train, "test": test}, into=tmp_path
    )
    assert lines(folder / "train.jsonl") == banking["train"]
    expected = score(model, registry_task("Banking77Classification", folder), spec.main_score)
    assert score(model, build_task(spec, folder), spec.main_score) == pytest.approx(
        expected, abs=1e-6
    )


def test_clustering_scores_as_mteb_clustering(
    banking: dict[str, list[dict[str, Any]]],
    model: SentenceTransformerEncoderWrapper,
    tmp_path: Path,
) -> None:
    rows = banking["train"] + banking["test"]
    assert len(rows) * CLUSTERING_SAMPLE >= 2
    test = write_delimited(tmp_path / "test.tsv", rows, "\t")
    spec, folder = prepare_task(
        "clu", TaskType.CLUSTERING, PLAIN, files={"test": test}, into=tmp_path
    )
    assert lines(folder / "test.jsonl") == [
        {"sentences": row["text"], "labels": row["label"]} for row in rows
    ]
    expected = score(model, registry_task("DigikalamagClustering", folder), spec.main_score)
    assert score(model, build_task(spec, folder), spec.main_score) == pytest.approx(
        expected, abs=1e-6
    )


def test_pair_classification_scores_as_mteb_pair_classification(
    banking: dict[str, list[dict[str, Any]]],
    model: SentenceTransformerEncoderWrapper,
    tmp_path: Path,
) -> None:
    texts = banking["test"]
    rows = [
        {"sentence1": a["text"], "sentence2": b["text"], "label": int(a["label"] == b["label"])}
        for a, b in zip(texts, texts[1:] + texts[:1], strict=True)
    ]
    pairs = write_jsonl(tmp_path / "pairs.jsonl", rows)
    spec, folder = prepare_task(
        "pc", TaskType.PAIR_CLASSIFICATION, PLAIN, files={"pairs": pairs}, into=tmp_path
    )
    assert spec.main_score == "max_ap"
    expected = score(model, registry_task("LegalBenchPC", folder), spec.main_score)
    assert score(model, build_task(spec, folder), spec.main_score) == pytest.approx(
        expected, abs=1e-6
    )


def test_the_spec_is_what_evaluators_check(data: Path, tmp_path: Path) -> None:
    metadata = TaskMetadataFields(score_range=(0, 4), description="d", main_score="pearson")
    spec, folder = prepare_task(
        "bio", TaskType.STS, metadata, folder=data / "BIOSSES", into=tmp_path
    )
    assert TaskSpec.model_validate(spec.model_dump()) == spec
    assert spec.main_score == "pearson"
    assert folder.name == spec.revision
    assert {path.relative_to(folder).as_posix() for path in folder.rglob("*")} == set(spec.files)
