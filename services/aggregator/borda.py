"""mteb's Borda count, vectorized: per-partition average ranks to points, points to ranks."""

from __future__ import annotations

import numpy as np


def average_ranks(partial_means: np.ndarray) -> np.ndarray:
    """Each model's (row's) rank in each partition (column) by score, best first, ties sharing
    their average rank; NaN without a score. A column's ranks depend on that column only."""
    ranks = np.full(partial_means.shape, np.nan)
    for column in range(partial_means.shape[1]):
        scores = partial_means[:, column]
        scored = ~np.isnan(scores)
        ordered = np.sort(-scores[scored])
        better = np.searchsorted(ordered, -scores[scored], side="left")
        not_worse = np.searchsorted(ordered, -scores[scored], side="right")
        ranks[scored, column] = better + (not_worse - better + 1) / 2
    return ranks


def points_of(ranks: np.ndarray, n_models: int) -> np.ndarray:
    """Borda points of `average_ranks`: `n_models − rank`, 0 without a rank.

    `n_models` is mteb's count: the rows of its summary table, which may be fewer than the
    models ranked in a partition (mteb ranks partial scores too, as polars' `rank("average",
    descending=True)` over the models with a score).
    """
    return np.where(np.isnan(ranks), 0.0, n_models - ranks)


def min_ranks(totals: np.ndarray) -> np.ndarray:
    """Rank of each entry of each row, highest total first, ties sharing the best ("min") rank.

    Totals are Borda totals: multiples of 0.5.
    """
    rows = np.atleast_2d(totals)
    n_rows, n_columns = rows.shape
    cells = _rank_cells(2 * rows)
    ranks = np.empty(rows.size, dtype=np.int64)
    ranks[cells // (n_columns + 1) + np.repeat(np.arange(n_rows) * n_columns, n_columns)] = (
        cells % (n_columns + 1)
    )
    return ranks.reshape(totals.shape)


def rank_counts(doubled_totals: np.ndarray) -> np.ndarray:
    """How often each column got each "min" rank over the rows of twice the Borda totals:
    (columns, columns + 1) counts, indexed by rank (index 0 unused). Cheaper than ranking
    every row and sorting the ranks."""
    n_columns = doubled_totals.shape[1]
    cells = _rank_cells(doubled_totals)
    return np.bincount(cells, minlength=n_columns * (n_columns + 1)).reshape(n_columns, -1)


def _rank_cells(whole: np.ndarray) -> np.ndarray:
    """`column × (columns + 1) + rank` of every entry, row after row in rank order, where rank
    is the entry's "min" rank in its row (highest first).

    The entries are whole numbers (twice Borda totals), so each one's distance to its row's
    maximum is an exact small integer. It is packed with the column's index into one unsigned
    integer (distance in the high bits), so that one plain sort per row (numpy's SIMD sort)
    orders the columns, ties by index. Over the flattened rows, a running maximum of the
    positions where a new distance (or row) starts gives each tied run its first position.
    """
    n_rows, n_columns = whole.shape
    if whole.size == 0:
        return np.zeros(0, dtype=np.intp)
    below_top = whole.max(axis=1, keepdims=True) - whole
    narrow = below_top.max() < 2**16 and n_columns <= 2**16
    kind, shift = (np.uint32, 16) if narrow else (np.uint64, 32)
    packed = below_top.astype(kind)
    packed <<= kind(shift)
    packed |= np.arange(n_columns, dtype=kind)
    packed.sort(axis=1)
    flat = packed.ravel()
    columns = (flat & kind(2**shift - 1)).astype(np.intp)
    flat >>= kind(shift)
    starts = np.empty(flat.shape, dtype=bool)
    starts[0] = True
    np.not_equal(flat[1:], flat[:-1], out=starts[1:])
    starts[::n_columns] = True
    cells = np.where(starts, np.arange(flat.size, dtype=np.intp), 0)
    np.maximum.accumulate(cells, out=cells)  # flat position of each run's first entry
    cells -= np.repeat(np.arange(n_rows, dtype=np.intp) * n_columns - 1, n_columns)  # its rank
    columns *= n_columns + 1
    cells += columns
    return cells
