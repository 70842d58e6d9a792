"""Bootstrap over tasks: intervals of Mean (Task) and of Borda ranks, and statistical ties."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

from shared.summary.borda import resampled_ranks

_THREADPOOLS = ThreadpoolController()


@dataclass(frozen=True)
class Uncertainty:
    """95 % percentile-bootstrap intervals per model (rows of the inputs)."""

    mean_task_ci: np.ndarray
    """(models, 2) interval of Mean (Task); NaN for a model missing a task score."""
    rank_ci: np.ndarray
    """(models, 2) interval of the Borda rank, integer ranks that occurred in resamples."""


def bootstrap(
    task_scores: np.ndarray, task_points: np.ndarray, resamples: int, seed: int
) -> Uncertainty:
    """Resample the benchmark's tasks with replacement `resamples` times (seeded) and recompute.

    Each resample draws as many tasks as the benchmark has; a model's Mean (Task) is the mean of
    its scores on the drawn tasks, and its Borda total the sum of its points on them (a task's
    points per model, `task_points`, are those of the full table, so the field of ranked models
    stays mteb's). Ranks are recomputed per resample with mteb's "min" tie rule. Intervals are
    the 2.5 % and 97.5 % percentiles; rank bounds are ranks observed in resamples.
    All resamples are computed at once, as draw counts (resamples × tasks) times the matrices.
    """
    n_tasks = task_scores.shape[1]
    counts = _draw_counts(n_tasks, resamples, seed)
    # Models of equal points on every task (those without any, say) have equal totals in
    # every resample, so the ranks are computed once per distinct row of points.
    distinct, which, alike = _distinct_rows(np.ascontiguousarray(2 * task_points))
    # Small products: BLAS threads cost more than they save.
    with _THREADPOOLS.limit(limits=1, user_api="blas"):
        ranks = resampled_ranks(counts @ distinct.T, alike).T.copy()  # (distinct, resamples)
    # numpy's "inverted_cdf" percentiles: ranks that occurred
    distinct_ci = np.quantile(ranks, QUANTILES, axis=1, method="inverted_cdf").T.astype(np.int64)
    mean_ci = mean_intervals(task_scores, resamples, seed)
    return Uncertainty(mean_task_ci=mean_ci, rank_ci=distinct_ci[which])


def mean_intervals(task_scores: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(models, 2) bootstrap intervals of each model's Mean (Task), drawn as `bootstrap` draws;
    NaN for a model missing a task score. A model's interval depends on its own scores only."""
    n_tasks = task_scores.shape[1]
    counts = _draw_counts(n_tasks, resamples, seed)
    complete = ~np.isnan(task_scores).any(axis=1)
    with _THREADPOOLS.limit(limits=1, user_api="blas"):
        means = task_scores[complete] @ counts.T / n_tasks  # (models, resamples)
    intervals = np.full((task_scores.shape[0], 2), np.nan)
    intervals[complete] = np.quantile(means, QUANTILES, axis=1).T
    return intervals


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows (in order of first occurrence), the index of each row's among them,
    and how many rows each stands for."""
    first: dict[bytes, int] = {}
    which = np.asarray([first.setdefault(row.tobytes(), len(first)) for row in rows], np.intp)
    alike = np.bincount(which, minlength=len(first))
    starts = np.full(len(first), len(rows), dtype=np.intp)
    np.minimum.at(starts, which, np.arange(len(rows)))
    return rows[starts], which, alike


@lru_cache(maxsize=64)
def _draw_counts(n_tasks: int, resamples: int, seed: int) -> np.ndarray:
    """How often each resample (row) drew each task (column)."""
    drawn = np.random.default_rng(seed).integers(0, n_tasks, size=(resamples, n_tasks))
    offsets = (np.arange(resamples) * n_tasks)[:, None]
    counts = np.bincount((drawn + offsets).ravel(), minlength=resamples * n_tasks)
    counts = counts.reshape(resamples, n_tasks).astype(np.float64)
    counts.flags.writeable = False
    return counts


QUANTILES = (0.025, 0.975)


def tie_groups(ranks: np.ndarray, rank_ci: np.ndarray) -> np.ndarray:
    """Groups of models whose rank intervals overlap that of their group's best model.

    Models are taken best rank first (ties in rank keep input order). The first model leads
    group 1; each next model joins the current group when the lower bound of its rank interval
    is at most the upper bound of the leader's interval (the two intervals overlap, so the
    pair is not statistically separable), else it leads the next group. Every member is thus
    tied with its leader; groups are numbered 1, 2, ... down the table.
    """
    groups = np.zeros(len(ranks), dtype=np.int64)
    order = np.argsort(ranks, kind="stable")
    lowers, uppers = rank_ci[order].T.tolist()
    joined: list[int] = []
    group, leader_upper = 0, -1
    for lower, upper in zip(lowers, uppers, strict=True):
        if group == 0 or lower > leader_upper:
            group += 1
            leader_upper = upper
        joined.append(group)
    groups[order] = joined
    return groups
