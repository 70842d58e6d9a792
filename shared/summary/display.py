"""A benchmark's summary table for people and programs: mteb's columns plus our intervals and
where each row comes from.

csv and json carry the raw, unrounded values under mteb 2.26's column names; the text table
rounds as mteb's leaderboard displays (scores ×100 with 2 decimals, Zero-shot as a percentage,
sizes in billions, task-type headers split into words).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from mteb.benchmarks._create_table import _split_on_capital

from shared.summary.table import BenchmarkRow, BenchmarkTable
from shared.table_choices import Format, Pool

RANK = "Rank (Borda)"
MODEL = "Model"
ZERO_SHOT = "Zero-shot"
ACTIVE = "Active Parameters (B)"
TOTAL = "Total Parameters (B)"
DIMENSIONS = "Embedding Dimensions"
MAX_TOKENS = "Max Tokens"
MEAN_TASK = "Mean (Task)"
MEAN_TASK_TYPE = "Mean (TaskType)"
INTERVALS = (
    "Mean (Task) CI Low",
    "Mean (Task) CI High",
    "Rank (Borda) CI Low",
    "Rank (Borda) CI High",
    "Tie Group",
)
OFFICIAL = "Official Pool"
EVALUATED_HERE = "Evaluated Here"
STALE_TASKS = "Stale Tasks"
"""Tasks of the row whose result is stale; in the JSON rows, not a displayed column."""
SCORE_COLUMNS_FIXED = (MEAN_TASK, MEAN_TASK_TYPE, INTERVALS[0], INTERVALS[1])


def in_pool(table: BenchmarkTable, pool: Pool) -> BenchmarkTable:
    """`table`, less the rows outside mteb's pool when `pool` is official."""
    if pool is Pool.ALL:
        return table
    return table.model_copy(update={"rows": [row for row in table.rows if row.official]})


def columns(table: BenchmarkTable) -> list[str]:
    """mteb's summary columns in mteb's order, then the interval columns."""
    head = [RANK, MODEL, ZERO_SHOT, ACTIVE, TOTAL, DIMENSIONS, MAX_TOKENS, MEAN_TASK]
    return [*head, MEAN_TASK_TYPE, *table.task_types, *INTERVALS, OFFICIAL, EVALUATED_HERE]


def raw_row(row: BenchmarkRow) -> dict[str, Any]:
    """One row under mteb's column names, unrounded."""
    mean_ci = row.mean_task_ci or (None, None)
    rank_ci = row.rank_ci or (None, None)
    return {
        RANK: row.rank_borda,
        MODEL: row.model,
        ZERO_SHOT: row.zero_shot,
        ACTIVE: row.n_active_parameters_b,
        TOTAL: row.n_parameters_b,
        DIMENSIONS: row.embed_dim,
        MAX_TOKENS: row.max_tokens,
        MEAN_TASK: row.mean_task,
        MEAN_TASK_TYPE: row.mean_task_type,
        **row.type_means,
        INTERVALS[0]: mean_ci[0],
        INTERVALS[1]: mean_ci[1],
        INTERVALS[2]: rank_ci[0],
        INTERVALS[3]: rank_ci[1],
        INTERVALS[4]: row.tie_group,
        OFFICIAL: row.official,
        EVALUATED_HERE: row.evaluated_here,
        STALE_TASKS: row.stale_tasks,
    }


def displayed(column: str, value: Any, score_columns: set[str]) -> str:
    """`value` as mteb's leaderboard shows it in `column` (empty when missing)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column == ZERO_SHOT:
        return "⚠️ NA" if value == -1 else f"{value:.0f}%"
    if column in (ACTIVE, TOTAL):
        return f"{value:.1f}" if value >= 1 else f"{value:.3f}"
    if column in score_columns:
        return f"{round(value * 100, 2):.2f}"
    return str(value)


def render(table: BenchmarkTable, fmt: Format, about: dict[str, Any] | None = None) -> str:
    """The table as text, csv or json; json adds `about` (version, generation time)."""
    names = columns(table)
    rows = [raw_row(row) for row in table.rows]
    if fmt == Format.JSON:
        document = {"benchmark": table.benchmark, "tasks": table.tasks, **(about or {})}
        return json.dumps(document | {"columns": names, "rows": rows}, indent=2, default=str)
    if fmt == Format.CSV:
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=names, lineterminator="\n", extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    return text_table(table, names, rows)


def text_table(table: BenchmarkTable, names: list[str], rows: list[dict[str, Any]]) -> str:
    """Aligned columns, headers humanized as mteb's leaderboard does (`PairClassification` →
    `Pair Classification`)."""
    score_columns = {*SCORE_COLUMNS_FIXED, *table.task_types}
    headers = [_split_on_capital(name) if name in table.task_types else name for name in names]
    cells = [[displayed(name, row.get(name), score_columns) for name in names] for row in rows]
    widths = [
        max([len(header)] + [len(line[i]) for line in cells]) for i, header in enumerate(headers)
    ]
    left = {MODEL}
    lines = [
        "  ".join(
            text.ljust(width) if name in left else text.rjust(width)
            for text, width, name in zip(line, widths, names, strict=True)
        ).rstrip()
        for line in [headers, *cells]
    ]
    return "\n".join(lines) + "\n"
