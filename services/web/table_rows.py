"""What a chart reads of a benchmark table: its rows as the benchmark page shows them under the
same query string, and the table's tasks and task types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TableRows:
    """A benchmark table's rows (raw values under mteb's column names) under a query."""

    benchmark: str
    version: int | None
    """The stored table's version; None for a table computed for this query."""
    rows: list[dict[str, Any]]
    tasks: list[str]
    task_types: list[str]
