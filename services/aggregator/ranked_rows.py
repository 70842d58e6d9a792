"""The ranked rows of a summary table, as lists (`CompactTable` rows) or as their JSON.

A live update changes a few models' values and everyone's rank, so a row's JSON is written from
pieces: those of its values that do not depend on the other models (name, revision, model
cells, means, task scores, Mean (Task) interval) are encoded once and kept (`RowPieces`); the
rank, rank interval and tie group are written anew each time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from mteb.models import ModelMeta
from pydantic import TypeAdapter

from services.aggregator import model_columns
from services.aggregator.borda import min_ranks, points_of
from services.aggregator.model_columns import ModelCells
from services.aggregator.score_matrix import ScoreMatrix
from services.aggregator.uncertainty import bootstrap, tie_groups


@dataclass(frozen=True)
class RankedRows:
    """A summary table's rows, best rank first, in columns."""

    names: list[str]
    revisions: list[str]
    ranks: list[int]
    cells: list[ModelCells]
    values: np.ndarray
    """(rows, 2 + types + tasks): Mean (Task), Mean (TaskType), type means, task scores; NaN
    for null."""
    mean_cis: np.ndarray | None
    """(rows, 2) bootstrap intervals of Mean (Task), NaN without a mean; None without bootstrap."""
    rank_cis: list[tuple[int, int] | None]
    groups: list[int | None]
    n_types: int

    def lists(self) -> list[list[Any]]:
        """The rows as `CompactTable` rows: the values of `tables.ROW_SCALARS`, then the type
        means and the task scores."""
        values = _nullable(self.values)
        n_rows = len(self.names)
        mean_cis: list[tuple[float, float] | None] = [None] * n_rows
        if self.mean_cis is not None:
            intervals = self.mean_cis.tolist()
            mean_cis = [None if lo != lo else (lo, hi) for lo, hi in intervals]  # NaN: no mean
        types_end = 2 + self.n_types
        columns = zip(
            self.names,
            self.revisions,
            self.ranks,
            self.cells,
            values,
            mean_cis,
            self.rank_cis,
            self.groups,
            strict=True,
        )
        return [
            [
                name,
                revision,
                rank,
                *cells,
                row[0],
                row[1],
                mean_ci,
                rank_ci,
                group,
                row[2:types_end],
                row[types_end:],
            ]
            for name, revision, rank, cells, row, mean_ci, rank_ci, group in columns
        ]

    def encoded(self, pieces: RowPieces) -> list[str]:
        """Each row of `lists` as JSON (as pydantic writes it), from `pieces` where it has the
        row's fixed values; `pieces` is left holding those of these rows only."""
        known, kept = pieces.kept, {}
        fixed = self.values if self.mean_cis is None else np.hstack([self.values, self.mean_cis])
        raw = np.ascontiguousarray(fixed).tobytes()  # a row's values and interval: its key
        width = fixed.shape[1] * fixed.itemsize
        keys = [
            (name, revision, cells, raw[start : start + width])
            for name, revision, cells, start in zip(
                self.names, self.revisions, self.cells, range(0, len(raw), width), strict=True
            )
        ]
        found = [known.get(key) or self._pieces(m) for m, key in enumerate(keys)]
        moving = [  # the rank interval and the tie group, with their commas
            f"{'null' if rank_ci is None else f'[{rank_ci[0]},{rank_ci[1]}]'},"
            f"{'null' if group is None else group},"
            for rank_ci, group in zip(self.rank_cis, self.groups, strict=True)
        ]
        encoded = []
        for key, row_pieces, rank, after_rank in zip(keys, found, self.ranks, moving, strict=True):
            kept[key] = row_pieces
            head, middle, tail = row_pieces
            encoded.append(f"{head}{rank},{middle}{after_rank}{tail}")
        pieces.kept = kept
        return encoded

    def _pieces(self, m: int) -> tuple[str, str, str]:
        """Row `m`'s JSON before its rank, between its rank and rank interval, and after its
        tie group."""
        row = [None if value != value else value for value in self.values[m].tolist()]
        mean_ci = None
        if self.mean_cis is not None and not np.isnan(self.mean_cis[m, 0]):
            mean_ci = tuple(self.mean_cis[m].tolist())
        types_end = 2 + self.n_types
        head = _encode([self.names[m], self.revisions[m]])
        middle = _encode([*self.cells[m], row[0], row[1], mean_ci])
        tail = _encode([row[2:types_end], row[types_end:]])
        return head[:-1] + ",", middle[1:-1] + ",", tail[1:]


@dataclass
class RowPieces:
    """The fixed JSON pieces of one table's rows, kept from one encoding to the next."""

    kept: dict[tuple[Any, ...], tuple[str, str, str]] = field(default_factory=dict)


_LIST: TypeAdapter[list[Any]] = TypeAdapter(list[Any])


def _encode(values: list[Any]) -> str:
    return _LIST.dump_json(values).decode()


def rank_rows(
    matrix: ScoreMatrix,
    models: Mapping[str, ModelMeta],
    task_types: list[str],
    resamples: int,
    seed: int,
    threads: int | None,
) -> RankedRows:
    """The rows of a non-empty matrix's summary table (see `table.summary_values`)."""
    in_table = matrix.in_table
    points = points_of(matrix.partial_ranks, int(in_table.sum()))
    if len(matrix.partition_task) == len(matrix.tasks):  # a partition per task
        task_points = points[:, np.argsort(matrix.partition_task)]
    else:
        task_points = np.zeros(matrix.task_scores.shape)
        np.add.at(task_points.T, matrix.partition_task, points.T)
    ranks = min_ranks(task_points.sum(axis=1))
    names = matrix.models
    shown = np.flatnonzero(in_table)
    chosen = shown[np.lexsort((np.asarray(names, dtype=object)[shown], ranks[shown]))]
    scores = matrix.task_scores
    type_of = np.asarray([task_types.index(task.task_type) for task in matrix.tasks])
    type_means = np.stack([scores[:, type_of == t].mean(axis=1) for t in range(len(task_types))], 1)
    means = np.column_stack([scores.mean(axis=1), type_means.mean(axis=1)])
    mean_cis = None
    rank_cis: list[tuple[int, int] | None] = [None] * len(chosen)
    groups: list[int | None] = [None] * len(chosen)
    if resamples > 0:
        uncertain = bootstrap(scores, task_points, resamples, seed, threads)
        mean_cis = uncertain.mean_task_ci[chosen]
        rank_cis = [(lo, hi) for lo, hi in uncertain.rank_ci[chosen].tolist()]
        groups = tie_groups(ranks[chosen], uncertain.rank_ci[chosen]).tolist()
    task_set = model_columns.task_set(task.name for task in matrix.tasks)
    shown_names = [names[m] for m in chosen.tolist()]
    return RankedRows(
        names=shown_names,
        revisions=[matrix.revisions[m] for m in chosen.tolist()],
        ranks=ranks[chosen].tolist(),
        cells=model_columns.model_cells([models[name] for name in shown_names], task_set),
        values=np.column_stack([means, type_means, scores])[chosen],
        mean_cis=mean_cis,
        rank_cis=rank_cis,
        groups=groups,
        n_types=len(task_types),
    )


def _nullable(values: np.ndarray) -> list[list[Any]]:
    """Rows of python floats, NaN as None."""
    cells = values.astype(object)
    cells[np.isnan(values)] = None
    rows: list[list[Any]] = cells.tolist()
    return rows
