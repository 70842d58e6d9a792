"""Rows written as JSON from kept pieces are the JSON of the row lists, update after update."""

from __future__ import annotations

import json
import random

import mteb
import pytest

from services.aggregator.columns import ColumnCache
from services.aggregator.mirror import ResultMirror
from services.aggregator.ranked_rows import RowPieces
from services.aggregator.table import summary_encoded, summary_values
from shared.tables import ROW_SCALARS, ResultRow

MODELS = [
    "intfloat/e5-small",
    "BAAI/bge-small-en-v1.5",
    "sentence-transformers/all-MiniLM-L6-v2",
    "thenlper/gte-small",
    "intfloat/multilingual-e5-small",
]
TASKS = ["BIOSSES", "SICK-R", "STS12", "SciFact", "Banking77Classification"]


def result(model: str, task: str, value: float, revision: str = "r1") -> ResultRow:
    return ResultRow(
        model=model,
        revision=revision,
        task=task,
        mteb_version="2.0.0",
        scores={"test": {"default": value}},
    )


def fill(mirror: ResultMirror, rng: random.Random) -> None:
    """Scores with ties (one decimal) and missing tasks."""
    for model in MODELS:
        for task in TASKS:
            if rng.random() < 0.8:
                mirror.put(f"{model}/{task}", result(model, task, round(rng.random(), 1)))


@pytest.mark.parametrize("resamples", [0, 200])
def test_encoded_rows_equal_the_json_of_the_row_lists_through_updates(resamples: int) -> None:
    benchmark = mteb.Benchmark(name="five", tasks=mteb.get_tasks(TASKS))
    rng = random.Random(resamples)
    mirror = ResultMirror()
    fill(mirror, rng)
    columns, pieces = ColumnCache(mirror), RowPieces()
    updates = [
        ("new/model", "BIOSSES", 0.5),  # a new model: every rank may move
        ("new/model", "BIOSSES", 0.9),  # its result replaced
        (MODELS[0], "SciFact", 0.1),  # an old model's score changed
        ("new/model", "STS12", 0.7),
    ]
    for model, task, value in [("", "", 0.0), *updates]:
        if model:
            mirror.put(f"{model}/{task}", result(model, task, value))
        matrix = columns.matrix(benchmark)
        models = mirror.models(matrix.models)
        expected = summary_values("five", matrix, models, resamples, seed=3)
        encoded = summary_encoded("five", matrix, models, resamples, 3, pieces)
        assert encoded.to_json() == expected.to_json()
        assert len(pieces.kept) == len(expected.rows)  # the pieces of this table's rows only
        summary_encoded("five", matrix, models, resamples, 3, pieces)  # kept again


def test_a_row_missing_a_task_is_written_with_nulls() -> None:
    benchmark = mteb.Benchmark(name="two", tasks=mteb.get_tasks(["BIOSSES", "SICK-R"]))
    mirror = ResultMirror()
    mirror.put("a", result(MODELS[0], "BIOSSES", 0.5))
    mirror.put("b", result(MODELS[0], "SICK-R", 0.25))
    mirror.put("c", result(MODELS[1], "BIOSSES", 0.75))
    matrix = ColumnCache(mirror).matrix(benchmark)
    models = mirror.models(matrix.models)
    encoded = summary_encoded("two", matrix, models, 50, 0, RowPieces())
    assert encoded.to_json() == summary_values("two", matrix, models, 50, 0).to_json()
    written = {
        row[0]: dict(zip(ROW_SCALARS, row, strict=False)) | {"lists": row[-2:]}
        for row in map(json.loads, encoded.rows)
    }
    missing = written[MODELS[1]]
    assert (missing["mean_task"], missing["mean_task_ci"]) == (None, None)
    assert missing["lists"] == [[None], [0.75, None]]
    assert written[MODELS[0]]["lists"] == [[0.375], [0.5, 0.25]]


def test_an_empty_matrix_gives_no_rows() -> None:
    benchmark = mteb.Benchmark(name="one", tasks=mteb.get_tasks(["BIOSSES"]))
    matrix = ColumnCache(ResultMirror()).matrix(benchmark)
    encoded = summary_encoded("one", matrix, {}, 100, 0, RowPieces())
    assert encoded.rows == []
    assert encoded.to_json() == summary_values("one", matrix, {}, 100, 0).to_json()


def test_a_matrix_without_a_complete_task_gives_no_rows() -> None:
    benchmark = mteb.Benchmark(name="one", tasks=mteb.get_tasks(["BIOSSES"]))
    mirror = ResultMirror()
    off_split = ResultRow(
        model=MODELS[0], revision="r1", task="BIOSSES", mteb_version=None, scores={"dev": {}}
    )
    mirror.put("a", off_split)
    matrix = ColumnCache(mirror).matrix(benchmark)
    assert matrix.models == [MODELS[0]]
    models = mirror.models(matrix.models)
    encoded = summary_encoded("one", matrix, models, 100, 0, RowPieces())
    assert encoded.rows == []
    assert encoded.to_json() == summary_values("one", matrix, models, 100, 0).to_json()
