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
    cells = _rank_cells(2 * rows, np.ones(n_columns, dtype=np.intp))
    ranks = np.empty(rows.size, dtype=np.int64)
    ranks[cells // (n_columns + 1) + np.repeat(np.arange(n_rows) * n_columns, n_columns)] = (
        cells % (n_columns + 1)
    )
    return ranks.reshape(totals.shape)


def resampled_ranks(doubled_totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each column's "min" rank in each row of twice the Borda totals, where column c stands
    for `weights[c]` models with its totals: (rows, columns) ranks."""
    n_rows, n_columns = doubled_totals.shape
    n_ranks = int(weights.sum()) + 1
    cells = _rank_cells(doubled_totals, weights)
    ranks = np.empty((n_rows, n_columns), dtype=np.int64)
    ranks[np.repeat(np.arange(n_rows), n_columns), cells // n_ranks] = cells % n_ranks
    return ranks


def _rank_cells(whole: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`column × (models + 1) + rank` of every entry, row after row in rank order, where rank
    is the entry's "min" rank in its row (highest first) among `weights.sum()` models, column
    c standing for `weights[c]` of them (models of equal totals in every row).

    The entries are whole numbers (twice Borda totals), so each one's distance to its row's
    maximum is an exact small integer. It is packed with the column's index into one unsigned
    integer (distance in the high bits), so that one plain sort per row (numpy's SIMD sort)
    orders the columns, ties by index. A rank is 1 + the models before the entry's tied run:
    over the flattened rows, a running count of models, taken where a new distance (or row)
    starts and carried over the run by a running maximum, less the models of earlier rows.
    """
    n_rows, n_columns = whole.shape
    if whole.size == 0:
        return np.zeros(0, dtype=np.intp)
    below_top = whole.max(axis=1, keepdims=True) - whole
    shift = max(n_columns - 1, 1).bit_length()  # bits for a column's index
    narrow = int(below_top.max()).bit_length() + shift <= 32
    kind = np.uint32 if narrow else np.uint64
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
    taken = weights[columns]
    before = np.cumsum(taken)
    before -= taken  # models before each entry, earlier rows included
    cells = np.where(starts, before, 0)
    np.maximum.accumulate(cells, out=cells)
    n_models = int(weights.sum())
    cells -= np.repeat(np.arange(n_rows, dtype=np.intp) * n_models - 1, n_columns)
    columns *= n_models + 1
    cells += columns
    return cells
