"""The stored form of benchmark tables: compact JSON that reads back to the same table."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shared.documents import BenchmarkLeaderboardDoc
from shared.tables import (
    BenchmarkRow,
    BenchmarkTable,
    CompactTable,
    compact_json,
    from_compact_json,
    trusted_row,
)


def row(model: str, rank: int | None, scores: dict[str, float | None]) -> BenchmarkRow:
    return BenchmarkRow(
        model=model,
        revision="r1",
        rank_borda=rank,
        zero_shot=-1 if rank is None else 100,
        n_parameters_b=None if rank is None else 0.023,
        n_active_parameters_b=None,
        embed_dim=384,
        max_tokens=None,
        mean_task=None if None in scores.values() else 0.1 + 0.2,
        mean_task_type=0.30000000000000004,
        type_means={"STS": 1 / 3, "Retrieval": None},
        task_scores=scores,
        mean_task_ci=None if rank is None else (0.1, 0.7),
        rank_ci=None if rank is None else (1, 2),
        tie_group=rank,
    )


TABLE = BenchmarkTable(
    benchmark="b",
    tasks=["T1", "T2"],
    task_types=["STS", "Retrieval"],
    rows=[
        row("org/a", 1, {"T1": 0.123456789012345678, "T2": 1e-17}),
        row("org/b", None, {"T2": None, "T1": 0.5}),  # another key order
    ],
    bootstrap_resamples=1000,
    seed=0,
)


def test_compact_json_reads_back_to_the_same_table_with_every_float_exact() -> None:
    text = compact_json(TABLE)

    assert from_compact_json(text) == TABLE
    assert len(text) < len(TABLE.model_dump_json())
    assert json.loads(text)["rows"][1][-1] == [0.5, None]  # in the order of `tasks`


def test_a_table_stored_whole_before_the_compact_form_still_reads() -> None:
    assert from_compact_json(TABLE.model_dump_json()) == TABLE


def test_compact_json_is_validated_on_reading() -> None:
    broken = json.loads(compact_json(TABLE))
    broken["rows"][0][2] = "first"  # rank_borda
    with pytest.raises(ValidationError):
        from_compact_json(json.dumps(broken))


def test_trusted_rows_equal_validated_ones() -> None:
    validated = TABLE.rows[0]
    trusted = trusted_row(validated.model_dump())

    assert trusted == validated
    assert trusted.model_dump_json() == validated.model_dump_json()
    assert trusted.model_fields_set == validated.model_fields_set


def test_a_compact_table_gives_back_the_rows_it_was_made_of() -> None:
    compact = CompactTable.of(TABLE)

    assert compact.rows[1][-1] == [0.5, None]
    assert compact.table() == TABLE
    assert from_compact_json(compact.to_json()) == TABLE
    assert compact.to_json() == compact_json(TABLE)


def test_a_leaderboard_document_keeps_its_table_as_json_and_reads_it_on_first_use() -> None:
    header = {"_id": "benchmark:b", "name": "b"}
    stored = BenchmarkLeaderboardDoc.model_validate(header | {"table": TABLE}).to_mongo()

    assert stored["table"] == compact_json(TABLE)
    for given in (CompactTable.of(TABLE), TABLE.model_dump()):
        made = BenchmarkLeaderboardDoc.model_validate(header | {"table": given})
        assert made.table_json == stored["table"]
    read = BenchmarkLeaderboardDoc.model_validate(stored)
    assert read.table == TABLE
    assert read.model_copy(update={"version": 2}).table == TABLE

    broken = json.loads(stored["table"])
    broken["rows"][0][2] = "first"  # rank_borda
    unreadable = BenchmarkLeaderboardDoc.model_validate(stored | {"table": json.dumps(broken)})
    assert unreadable.version == 1  # the header reads
    with pytest.raises(ValidationError):
        unreadable.table  # noqa: B018
