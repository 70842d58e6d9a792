"""The rows and tables of benchmark summaries (raw, unrounded values), shared by the aggregator,
the stored documents and the web."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter


class ResultRow(BaseModel):
    """One stored result reduced to what rankings need."""

    model_config = ConfigDict(frozen=True)

    model: str
    revision: str
    task: str
    mteb_version: str | None
    scores: dict[str, dict[str, float]]
    """split -> hf_subset -> main_score, from the TaskResult."""


class BenchmarkRow(BaseModel):
    """One model's row of a benchmark's summary table (raw, unrounded values)."""

    model: str
    revision: str
    """The revision that supplied most of the row's tasks (mteb joins revisions per task)."""
    rank_borda: int | None
    zero_shot: int
    """mteb's Zero-shot percentage; -1 when the model's training data is unknown."""
    n_parameters_b: float | None
    n_active_parameters_b: float | None
    embed_dim: int | None
    max_tokens: int | None
    mean_task: float | None
    mean_task_type: float | None
    type_means: dict[str, float | None]
    task_scores: dict[str, float | None]
    mean_task_ci: tuple[float, float] | None = None
    """95 % bootstrap interval of Mean (Task); None when a task score is missing."""
    rank_ci: tuple[int, int] | None = None
    """95 % bootstrap interval of Rank (Borda)."""
    tie_group: int | None = None
    """Models sharing a tie group are not separable by rank (see `uncertainty.tie_groups`)."""


class BenchmarkTable(BaseModel):
    """A benchmark's (or custom task subset's) summary table."""

    benchmark: str
    tasks: list[str]
    task_types: list[str]
    rows: list[BenchmarkRow]
    bootstrap_resamples: int = 0
    seed: int | None = None


_ROW_FIELDS = tuple(BenchmarkRow.model_fields)
ROW_SCALARS = tuple(f for f in _ROW_FIELDS if f not in ("type_means", "task_scores"))
"""The fields of a compact row before its type means and task scores, in order."""
_ROW_FIELDS_SET = frozenset(_ROW_FIELDS)


def trusted_row(values: dict[str, Any]) -> BenchmarkRow:
    """A BenchmarkRow of `values` (every field, already of its type), without validation.

    What `model_construct` does, less its per-field default and alias handling, which costs
    more than the rest of a table build's Python work."""
    row = BenchmarkRow.__new__(BenchmarkRow)
    object.__setattr__(row, "__dict__", values)
    object.__setattr__(row, "__pydantic_fields_set__", set(_ROW_FIELDS_SET))
    object.__setattr__(row, "__pydantic_extra__", None)
    object.__setattr__(row, "__pydantic_private__", None)
    return row


@dataclass(frozen=True)
class CompactTable:
    """A summary table with each row a list: the values of `ROW_SCALARS` (intervals as
    tuples), then the type means in the order of `task_types` and the task scores in the order
    of `tasks`. The form tables are computed and stored in; `table()` gives the row objects."""

    benchmark: str
    tasks: list[str]
    task_types: list[str]
    rows: list[list[Any]]
    bootstrap_resamples: int = 0
    seed: int | None = None

    @classmethod
    def of(cls, table: BenchmarkTable) -> CompactTable:
        scalars = operator.attrgetter(*ROW_SCALARS)
        type_means = _values_getter(table.task_types)
        task_scores = _values_getter(table.tasks)
        rows = [
            [*scalars(row), type_means(row.type_means), task_scores(row.task_scores)]
            for row in table.rows
        ]
        return cls(**table.model_dump(exclude={"rows"}), rows=rows)

    def to_json(self) -> str:
        """JSON of the compact form: a third of the size of the table's `model_dump_json`."""
        return _JSON.dump_json(self._fields() | {"row_fields": ROW_SCALARS}).decode()

    def table(self) -> BenchmarkTable:
        """The table with its rows as BenchmarkRows (trusted: the values are already typed)."""
        rows = []
        for values in self.rows:
            row = dict(zip(ROW_SCALARS, values[:-2], strict=True))
            row["type_means"] = dict(zip(self.task_types, values[-2], strict=True))
            row["task_scores"] = dict(zip(self.tasks, values[-1], strict=True))
            rows.append(trusted_row(row))
        return BenchmarkTable.model_construct(**self._fields() | {"rows": rows})

    def _fields(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True)
class EncodedTable:
    """A `CompactTable` whose rows are JSON already (each row one JSON array)."""

    benchmark: str
    tasks: list[str]
    task_types: list[str]
    rows: list[str]
    bootstrap_resamples: int = 0
    seed: int | None = None

    def to_json(self) -> str:
        """The JSON `CompactTable.to_json` writes for the same table: that of the table without
        rows, with these rows in place of none. (`"rows":[]` can only be that key: quotes
        within JSON strings are escaped.)"""
        head = {field.name: getattr(self, field.name) for field in fields(self)}
        without_rows = CompactTable(**head | {"rows": []}).to_json()
        return without_rows.replace('"rows":[]', f'"rows":[{",".join(self.rows)}]', 1)


def compact_json(table: BenchmarkTable) -> str:
    """`table` as `CompactTable` JSON."""
    return CompactTable.of(table).to_json()


def _values_getter(keys: list[str]) -> Callable[[dict[str, float | None]], list[float | None]]:
    """The values of a row's dict in the order of `keys`, None for absent ones."""
    if len(keys) == 1:
        return lambda values: [values.get(keys[0])]
    if not keys:
        return lambda values: []
    getter = operator.itemgetter(*keys)

    def values_of(values: dict[str, float | None]) -> list[float | None]:
        try:
            return list(getter(values))
        except KeyError:
            return [values.get(key) for key in keys]

    return values_of


_JSON: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def from_compact_json(text: str) -> BenchmarkTable:
    """The table `CompactTable.to_json` wrote; values are validated as the fields' types."""
    data = json.loads(text)
    if "row_fields" not in data:  # written whole by `model_dump_json`, before the compact form
        return BenchmarkTable.model_validate(data)
    fields, tasks, task_types = data.pop("row_fields"), data["tasks"], data["task_types"]
    rows = []
    for values in data.pop("rows"):
        *scalars, type_means, task_scores = values
        row = dict(zip(fields, scalars, strict=True))
        row["type_means"] = dict(zip(task_types, type_means, strict=True))
        row["task_scores"] = dict(zip(tasks, task_scores, strict=True))
        rows.append(row)
    return BenchmarkTable.model_validate(data | {"rows": rows})
