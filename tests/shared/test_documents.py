"""Benchmark leaderboard documents: the table as one JSON string, read on first use."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shared.documents import BenchmarkLeaderboardDoc
from shared.summary.table import BenchmarkRow, BenchmarkTable

ROW = BenchmarkRow(
    model="org/a",
    revision="r1",
    rank_borda=1,
    zero_shot=-1,
    n_parameters_b=0.023,
    n_active_parameters_b=None,
    embed_dim=384,
    max_tokens=512,
    mean_task=0.1 + 0.2,
    mean_task_type=0.3,
    type_means={"STS": 0.3},
    task_scores={"BIOSSES": 0.3, "STSBenchmark": None},
    mean_task_ci=(0.25, 0.35),
    rank_ci=(1, 2),
    tie_group=1,
    official=False,
    evaluated_here=True,
)
TABLE = BenchmarkTable(
    benchmark="b", tasks=["BIOSSES", "STSBenchmark"], task_types=["STS"], rows=[ROW]
)


def test_a_table_reads_back_exactly() -> None:
    doc = BenchmarkLeaderboardDoc(_id="benchmark:b", name="b", table=TABLE.model_dump_json())
    assert doc.table == TABLE
    assert doc.table.rows[0].mean_task == 0.1 + 0.2  # every float exact


def test_a_table_stored_with_rows_as_lists_by_an_earlier_version_still_reads() -> None:
    fields = [f for f in BenchmarkRow.model_fields if f not in ("type_means", "task_scores")]
    fields = [f for f in fields if f not in ("official", "evaluated_here")]  # not yet then
    row = ROW.model_dump()
    stored = TABLE.model_dump(exclude={"rows"}) | {
        "row_fields": fields,
        "rows": [[row[f] for f in fields] + [[0.3], [0.3, None]]],
    }
    doc = BenchmarkLeaderboardDoc(_id="benchmark:b", name="b", table=json.dumps(stored))
    expected = ROW.model_copy(update={"official": True, "evaluated_here": False})
    assert doc.table.rows == [expected]


def test_a_malformed_table_is_a_validation_error() -> None:
    broken = TABLE.model_dump() | {"rows": [{"model": "x"}]}
    doc = BenchmarkLeaderboardDoc(_id="benchmark:b", name="b", table=json.dumps(broken))
    with pytest.raises(ValidationError):
        _ = doc.table
