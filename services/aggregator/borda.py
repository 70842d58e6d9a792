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
    order, ranks_in_order = _ranked_order(2 * rows)
    ranks = np.empty(rows.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, ranks_in_order, axis=1)
    return ranks.reshape(totals.shape)


def rank_counts(doubled_totals: np.ndarray) -> np.ndarray:
    """How often each column got each "min" rank over the rows of twice the Borda totals:
    (columns, columns + 1) counts, indexed by rank (index 0 unused). Cheaper than ranking
    every row and sorting the ranks."""
    order, ranks_in_order = _ranked_order(doubled_totals)
    n_columns = doubled_totals.shape[1]
    cells = (order * (n_columns + 1) + ranks_in_order).ravel()
    return np.bincount(cells, minlength=n_columns * (n_columns + 1)).reshape(n_columns, -1)


def _ranked_order(whole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's columns highest first, and the "min" rank at each of those positions.

    The entries are whole numbers (twice Borda totals), so each one's distance to its row's
    maximum is an exact small integer. It is packed with the column's index into one unsigned
    integer (distance in the high bits), so that one plain sort per row (numpy's SIMD sort)
    orders the columns, ties by index; every tied run takes the position of its first member.
    """
    if whole.size == 0:
        return np.zeros(whole.shape, dtype=np.intp), np.zeros(whole.shape, dtype=np.int32)
    n_columns = whole.shape[1]
    below_top = whole.max(axis=1, keepdims=True) - whole
    narrow = below_top.max() < 2**16 and n_columns <= 2**16
    kind, shift = (np.uint32, 16) if narrow else (np.uint64, 32)
    packed = (below_top.astype(kind) << kind(shift)) | np.arange(n_columns, dtype=kind)
    packed.sort(axis=1)
    order = (packed & kind(2**shift - 1)).astype(np.intp)
    ordered = packed >> kind(shift)
    positions = np.arange(1, n_columns + 1, dtype=np.int32)
    ranks = np.ones(ordered.shape, dtype=np.int32)
    np.copyto(ranks[:, 1:], positions[1:], where=ordered[:, 1:] != ordered[:, :-1])
    np.maximum.accumulate(ranks, axis=1, out=ranks)
    return order, ranks
