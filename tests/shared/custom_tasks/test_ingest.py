"""Task data refused with a typed error naming file, line and field, leaving nothing behind."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from shared.custom_tasks.ingest import DEFAULT_CAPS, Caps, TaskDataError, prepare_task
from shared.custom_tasks.spec import TaskMetadataFields, TaskType

STS = TaskMetadataFields(score_range=(0, 4))
README = """---
configs:
- config_name: default
  data_files:
  - split: {split}
    path: {path}
---
"""
PLAIN = TaskMetadataFields()


def jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def pairs(n: int = 3) -> list[dict[str, object]]:
    return [{"sentence1": f"a {i}", "sentence2": f"b {i}", "score": i % 5} for i in range(n)]


def retrieval_files(folder: Path, qrels: str) -> dict[str, Path]:
    corpus = [{"_id": "d1", "title": "", "text": "one"}, {"_id": "d2", "text": "two"}]
    queries = [{"_id": "q1", "text": "first?"}, {"_id": "q2", "text": "second?"}]
    (folder / "qrels.tsv").write_text(qrels, encoding="utf-8")
    return {
        "corpus": jsonl(folder / "corpus.jsonl", corpus),
        "queries": jsonl(folder / "queries.jsonl", queries),
        "qrels": folder / "qrels.tsv",
    }


def refused(
    tmp_path: Path,
    task_type: TaskType,
    metadata: TaskMetadataFields,
    caps: Caps = DEFAULT_CAPS,
    **inputs: object,
) -> TaskDataError:
    into = tmp_path / "into"
    with pytest.raises(TaskDataError) as caught:
        prepare_task("t", task_type, metadata, into=into, caps=caps, **inputs)  # type: ignore[arg-type]
    assert not into.exists() or not any(into.iterdir()), "a refused task left files behind"
    return caught.value


def where(error: TaskDataError) -> tuple[str, str | None, int | None, str | None]:
    return error.code, error.file, error.line, error.field


def test_missing_column_in_a_csv_header_names_line_1(tmp_path: Path) -> None:
    data = tmp_path / "pairs.csv"
    data.write_text("sentence1,sentence2,similarity\na,b,1\n", encoding="utf-8")
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data})
    assert where(error) == ("missing_column", "pairs.csv", 1, "score")
    assert error.as_dict() == {
        "code": "missing_column",
        "message": "no column 'score'",
        "file": "pairs.csv",
        "line": 1,
        "field": "score",
    }
    assert str(error) == "no column 'score' (pairs.csv, line 1, field 'score')"


def test_missing_column_in_a_jsonl_row_names_its_line(tmp_path: Path) -> None:
    rows = pairs()
    del rows[1]["sentence2"]
    data = jsonl(tmp_path / "p.jsonl", rows)
    error = refused(
        tmp_path, TaskType.STS, STS, files={"pairs": data}, file_names={"pairs": "mine.jsonl"}
    )
    assert where(error) == ("missing_column", "mine.jsonl", 2, "sentence2")


def test_a_header_only_file_is_an_empty_split(tmp_path: Path) -> None:
    data = tmp_path / "pairs.tsv"
    data.write_text("sentence1\tsentence2\tscore\n", encoding="utf-8")
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data})
    assert where(error) == ("empty_split", "pairs.tsv", None, "pairs:test")


def test_an_empty_file_is_an_empty_split(tmp_path: Path) -> None:
    train = jsonl(tmp_path / "train.jsonl", [{"text": "a", "label": 0}, {"text": "b", "label": 1}])
    (tmp_path / "test.csv").write_bytes(b"")
    files = {"train": train, "test": tmp_path / "test.csv"}
    error = refused(tmp_path, TaskType.CLASSIFICATION, PLAIN, files=files)
    assert where(error) == ("empty_split", "test.csv", None, "test:test")


def test_the_format_is_the_one_the_user_named(tmp_path: Path) -> None:
    upload = tmp_path / "upload-1"
    upload.write_text("sentence1\tsentence2\tscore\na\tb\t5\n", encoding="utf-8")
    names = {"pairs": "scores.tsv"}
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": upload}, file_names=names)
    assert where(error) == ("score_out_of_range", "scores.tsv", 2, "score")


def test_duplicate_corpus_id(tmp_path: Path) -> None:
    files = retrieval_files(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    jsonl(
        files["corpus"],
        [{"_id": "d1", "text": "x"}, {"_id": 2, "text": "y"}, {"_id": "2", "text": "z"}],
    )
    error = refused(tmp_path, TaskType.RETRIEVAL, PLAIN, files=files)
    assert where(error) == ("duplicate_id", "corpus.jsonl", 3, "_id")


def test_duplicate_query_id(tmp_path: Path) -> None:
    files = retrieval_files(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    jsonl(files["queries"], [{"_id": "q1", "text": "x"}, {"_id": "q1", "text": "y"}])
    error = refused(tmp_path, TaskType.RETRIEVAL, PLAIN, files=files)
    assert where(error) == ("duplicate_id", "queries.jsonl", 2, "_id")


@pytest.mark.parametrize(("row", "field"), [("q1\td9\t1", "corpus-id"), ("q7\td1\t1", "query-id")])
def test_qrels_naming_unknown_queries_or_documents(tmp_path: Path, row: str, field: str) -> None:
    files = retrieval_files(tmp_path, f"query-id\tcorpus-id\tscore\nq1\td1\t1\n{row}\n")
    error = refused(tmp_path, TaskType.RETRIEVAL, PLAIN, files=files)
    assert where(error) == ("unknown_reference", "qrels.tsv", 3, field)


def test_reranking_candidates_naming_unknown_documents(tmp_path: Path) -> None:
    files = retrieval_files(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    ranked = [
        {"query-id": "q1", "corpus-ids": ["d1", "d2"]},
        {"query-id": "q2", "corpus-ids": ["d3"]},
    ]
    files["top_ranked"] = jsonl(tmp_path / "top.jsonl", ranked)
    error = refused(tmp_path, TaskType.RERANKING, TaskMetadataFields(), files=files)
    assert where(error) == ("unknown_reference", "top.jsonl", 2, "corpus-ids")


def test_non_integer_relevance_is_an_invalid_value(tmp_path: Path) -> None:
    files = retrieval_files(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t0.5\n")
    error = refused(tmp_path, TaskType.RETRIEVAL, PLAIN, files=files)
    assert where(error) == ("invalid_value", "qrels.tsv", 2, "score")


def test_non_numeric_score(tmp_path: Path) -> None:
    data = tmp_path / "pairs.csv"
    data.write_text("sentence1,sentence2,score\na,b,1\nc,d,high\n", encoding="utf-8")
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data})
    assert where(error) == ("invalid_value", "pairs.csv", 3, "score")
    assert "high" in error.message


def test_score_outside_the_declared_range(tmp_path: Path) -> None:
    rows = pairs()
    rows[2]["score"] = 4.5
    data = jsonl(tmp_path / "pairs.jsonl", rows)
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data})
    assert where(error) == ("score_out_of_range", "pairs.jsonl", 3, "score")


def test_fewer_than_two_labels(tmp_path: Path) -> None:
    train = jsonl(
        tmp_path / "train.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "x"}]
    )
    test = jsonl(
        tmp_path / "test.jsonl", [{"text": "c", "label": "x"}, {"text": "d", "label": "y"}]
    )
    error = refused(tmp_path, TaskType.CLASSIFICATION, PLAIN, files={"train": train, "test": test})
    assert where(error) == ("too_few_labels", "train.jsonl", None, "label")


def test_pair_labels_must_be_0_or_1_and_both_present(tmp_path: Path) -> None:
    rows = [
        {"sentence1": "a", "sentence2": "b", "label": 1},
        {"sentence1": "c", "sentence2": "d", "label": 1},
    ]
    data = jsonl(tmp_path / "pairs.jsonl", rows)
    error = refused(tmp_path, TaskType.PAIR_CLASSIFICATION, PLAIN, files={"pairs": data})
    assert where(error) == ("too_few_labels", "pairs.jsonl", None, "labels")
    rows[1]["label"] = 2
    jsonl(data, rows)
    error = refused(tmp_path, TaskType.PAIR_CLASSIFICATION, PLAIN, files={"pairs": data})
    assert where(error) == ("invalid_value", "pairs.jsonl", 2, "label")


def test_too_small_a_clustering_set(tmp_path: Path) -> None:
    rows = [{"text": f"t{i}", "label": i % 2} for i in range(10)]
    data = jsonl(tmp_path / "test.jsonl", rows)
    error = refused(tmp_path, TaskType.CLUSTERING, PLAIN, files={"test": data})
    assert where(error) == ("too_few_rows", "test.jsonl", None, "test:test")


def test_undecodable_text_names_its_line(tmp_path: Path) -> None:
    data = tmp_path / "pairs.csv"
    data.write_bytes(b"sentence1,sentence2,score\na,b,1\ncaf\xe9,d,2\n")
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data})
    assert where(error) == ("undecodable_text", "pairs.csv", 3, None)


def test_a_quoted_multi_line_record_is_named_by_its_first_line(tmp_path: Path) -> None:
    data = tmp_path / "pairs.csv"
    data.write_text('sentence1,sentence2,score\n"a\nb\nc",d,1\ne,f,9\n', encoding="utf-8")
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data})
    assert where(error) == ("score_out_of_range", "pairs.csv", 5, "score")


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b'{"sentence1": "a"\n', 1),
        (b'{"sentence1": "a", "sentence2": "b", "score": 1}\n[1, 2]\n', 2),
    ],
)
def test_malformed_json_lines(tmp_path: Path, content: bytes, line: int) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_bytes(content)
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data})
    assert where(error) == ("malformed_row", "pairs.jsonl", line, None)


def test_a_csv_row_with_too_many_fields(tmp_path: Path) -> None:
    data = tmp_path / "pairs.csv"
    data.write_text("sentence1,sentence2,score\na,b,1\nc,d,2,3\n", encoding="utf-8")
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data})
    assert where(error) == ("malformed_row", "pairs.csv", 3, None)


def test_file_and_total_size_caps(tmp_path: Path) -> None:
    data = jsonl(tmp_path / "pairs.jsonl", pairs(20))
    size = data.stat().st_size
    error = refused(
        tmp_path, TaskType.STS, STS, Caps(max_file_bytes=size - 1), files={"pairs": data}
    )
    assert where(error) == ("file_too_large", "pairs.jsonl", None, None)
    files = retrieval_files(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    total = sum(path.stat().st_size for path in files.values())
    error = refused(
        tmp_path, TaskType.RETRIEVAL, PLAIN, Caps(max_total_bytes=total - 1), files=files
    )
    assert where(error) == ("file_too_large", "qrels.tsv", None, None)


def test_row_cap_counts_every_file(tmp_path: Path) -> None:
    files = retrieval_files(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    error = refused(tmp_path, TaskType.RETRIEVAL, PLAIN, Caps(max_rows=5), files=files)
    assert where(error) == ("too_many_rows", "qrels.tsv", 3, None)


def test_text_over_the_length_cap(tmp_path: Path) -> None:
    rows = pairs()
    rows[1]["sentence2"] = "x" * 11
    data = jsonl(tmp_path / "pairs.jsonl", rows)
    error = refused(tmp_path, TaskType.STS, STS, Caps(max_text_chars=10), files={"pairs": data})
    assert where(error) == ("text_too_long", "pairs.jsonl", 2, "sentence2")
    csv_data = tmp_path / "pairs.csv"
    csv_data.write_text(
        "sentence1,sentence2,score\na,b,1\n" + "y" * 200 + ",c,1\n", encoding="utf-8"
    )
    error = refused(
        tmp_path, TaskType.STS, STS, Caps(max_text_chars=100), files={"pairs": csv_data}
    )
    assert where(error)[:3] == ("text_too_long", "pairs.csv", 3)


def test_unknown_file_format(tmp_path: Path) -> None:
    data = tmp_path / "pairs.xlsx"
    data.write_bytes(b"PK")
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data})
    assert where(error) == ("unknown_file_format", "pairs.xlsx", None, None)


def test_missing_and_unexpected_files(tmp_path: Path) -> None:
    files = retrieval_files(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    del files["qrels"]
    error = refused(tmp_path, TaskType.RETRIEVAL, PLAIN, files=files)
    assert where(error) == ("missing_file", None, None, "qrels:test")
    files["qrels:dev"] = tmp_path / "qrels.tsv"
    error = refused(tmp_path, TaskType.RETRIEVAL, PLAIN, files=files)
    assert where(error) == ("unexpected_file", "qrels.tsv", None, "qrels:dev")
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": tmp_path / "nowhere.jsonl"})
    assert where(error) == ("missing_file", "nowhere.jsonl", None, "pairs")


def test_metadata_the_type_needs(tmp_path: Path) -> None:
    data = jsonl(tmp_path / "pairs.jsonl", pairs())
    error = refused(tmp_path, TaskType.STS, PLAIN, files={"pairs": data})
    assert where(error) == ("invalid_metadata", None, None, "score_range")
    error = refused(
        tmp_path,
        TaskType.STS,
        TaskMetadataFields(score_range=(0, 4), eval_splits=["../x"]),
        files={"pairs": data},
    )
    assert where(error) == ("invalid_metadata", None, None, "eval_splits")


def test_folder_files_may_not_lead_out_of_the_folder(tmp_path: Path) -> None:
    outside = jsonl(tmp_path / "outside.jsonl", pairs())
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "README.md").write_text(README.format(split="test", path="../outside.jsonl"))
    error = refused(tmp_path, TaskType.STS, STS, folder=folder)
    assert where(error) == ("unsafe_path", "../outside.jsonl", None, None)
    (folder / "test.jsonl").symlink_to(outside)
    (folder / "README.md").write_text(README.format(split="test", path="test.jsonl"))
    error = refused(tmp_path, TaskType.STS, STS, folder=folder)
    assert where(error) == ("unsafe_path", "test.jsonl", None, None)


def test_folder_without_the_split(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    jsonl(folder / "dev.jsonl", pairs())
    (folder / "README.md").write_text(README.format(split="dev", path="dev.jsonl"))
    error = refused(tmp_path, TaskType.STS, STS, folder=folder)
    assert where(error) == ("missing_file", "README.md", None, "pairs:test")


def test_csv_and_jsonl_of_the_same_rows_make_the_same_folder(tmp_path: Path) -> None:
    rows = [
        {"text": 'he said "hi",\nthen left', "label": 10},
        {"text": " spaced ", "label": 2},
        {"text": "ünï", "label": 10},
    ]
    csv_text = "text,label\n" + "".join(
        '"{}",{}\n'.format(str(row["text"]).replace('"', '""'), row["label"]) for row in rows
    )
    (tmp_path / "train.csv").write_text("\ufeff" + csv_text, encoding="utf-8")
    (tmp_path / "test.csv").write_text(csv_text, encoding="utf-8")
    from_csv, folder = prepare_task(
        "t",
        TaskType.CLASSIFICATION,
        PLAIN,
        files={"train": tmp_path / "train.csv", "test": tmp_path / "test.csv"},
        into=tmp_path / "a",
    )
    jsonl(tmp_path / "train.jsonl", rows)
    from_jsonl, _ = prepare_task(
        "t",
        TaskType.CLASSIFICATION,
        PLAIN,
        files={"train": tmp_path / "train.jsonl", "test:test": tmp_path / "train.jsonl"},
        into=tmp_path / "b",
    )
    assert from_csv.revision == from_jsonl.revision
    assert folder == tmp_path / "a" / from_csv.revision
    written = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    assert written == rows
    assert from_csv.main_score == "accuracy"
    assert sorted(from_csv.files) == ["README.md", "test.jsonl", "train.jsonl"]


def test_labels_mixing_numbers_and_text_are_all_written_as_text(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{"text": "a", "label": 1}, {"text": "b", "label": "one"}]
    data = jsonl(tmp_path / "d.jsonl", rows)
    _, folder = prepare_task(
        "t", TaskType.CLASSIFICATION, PLAIN, files={"train": data, "test": data}, into=tmp_path
    )
    written = [
        json.loads(line)["label"] for line in (folder / "test.jsonl").read_text().splitlines()
    ]
    assert written == ["1", "one"]


def test_a_parquet_folder_and_a_jsonl_file_of_the_same_rows_agree(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = pairs(7)
    folder = tmp_path / "data"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows[:4]), folder / "data" / "test-00000.parquet")
    pq.write_table(pa.Table.from_pylist(rows[4:]), folder / "data" / "test-00001.parquet")
    (folder / "README.md").write_text(README.format(split="test", path="data/test-*.parquet"))
    from_folder, written = prepare_task("t", TaskType.STS, STS, folder=folder, into=tmp_path / "a")
    data = jsonl(tmp_path / "pairs.jsonl", rows)
    from_file, _ = prepare_task("t", TaskType.STS, STS, files={"pairs": data}, into=tmp_path / "b")
    assert from_folder.revision == from_file.revision
    assert [json.loads(line)["sentence1"] for line in (written / "test.jsonl").open()] == [
        row["sentence1"] for row in rows
    ]


def test_files_or_a_folder_not_both(tmp_path: Path) -> None:
    data = jsonl(tmp_path / "pairs.jsonl", pairs())
    error = refused(tmp_path, TaskType.STS, STS, files={"pairs": data}, folder=tmp_path)
    assert where(error) == ("invalid_input", None, None, None)


def test_the_same_data_twice_is_one_folder(tmp_path: Path) -> None:
    data = jsonl(tmp_path / "pairs.jsonl", pairs())
    into = tmp_path / "into"
    first, folder = prepare_task("a", TaskType.STS, STS, files={"pairs": data}, into=into)
    second, again = prepare_task("b", TaskType.STS, STS, files={"pairs": data}, into=into)
    assert (first.revision, folder) == (second.revision, again)
    assert [path.name for path in into.iterdir()] == [first.revision]


def test_reranking_candidates_in_a_tsv_are_ids_separated_by_spaces(tmp_path: Path) -> None:
    files = retrieval_files(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    ranked = [{"query-id": "q1", "corpus-ids": ["d2", "d1"]}, {"query-id": "q2", "corpus-ids": []}]
    files["top_ranked"] = jsonl(tmp_path / "top.jsonl", ranked)
    from_jsonl, folder = prepare_task("r", TaskType.RERANKING, PLAIN, files=files, into=tmp_path)
    (tmp_path / "top.tsv").write_text("query-id\tcorpus-ids\nq1\td2 d1\nq2\t\n", encoding="utf-8")
    files["top_ranked"] = tmp_path / "top.tsv"
    from_tsv, _ = prepare_task("r", TaskType.RERANKING, PLAIN, files=files, into=tmp_path)
    assert from_tsv.revision == from_jsonl.revision
    written = (folder / "top_ranked" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in written] == ranked
