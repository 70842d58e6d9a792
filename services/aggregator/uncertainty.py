"""Bootstrap over tasks: intervals of Mean (Task) and of Borda ranks, and statistical ties."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from services.aggregator.borda import rank_counts

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
    All resamples are computed at once, as draw counts (resamples × tasks) times the matrices,
    in slices of models (means) and of resamples (ranks) spread over the machine's cores.
    """
    n_models, n_tasks = task_scores.shape
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n_tasks, size=(resamples, n_tasks))
    offsets = (np.arange(resamples) * n_tasks)[:, None]
    counts = np.bincount((drawn + offsets).ravel(), minlength=resamples * n_tasks)
    counts = counts.reshape(resamples, n_tasks).astype(np.float64)
    scores = np.nan_to_num(task_scores)
    doubled_points = 2 * task_points  # whole numbers

    def mean_intervals(models: np.ndarray) -> np.ndarray:
        means = scores[models] @ counts.T  # (models, resamples)
        means /= n_tasks
        means.sort(axis=1)
        return np.stack([_linear_quantile(means, q) for q in QUANTILES], axis=1)

    def ranks_reached(draws: np.ndarray) -> np.ndarray:
        return rank_counts(counts[draws] @ doubled_points.T)

    # Small products: BLAS threads cost more than they save, and their spinning workers slow
    # every numpy call after them on a busy machine.
    with _THREADPOOLS.limit(limits=1, user_api="blas"):
        means = [_run(mean_intervals, part) for part in np.array_split(np.arange(n_models), _PARTS)]
        ranks = [_run(ranks_reached, part) for part in np.array_split(np.arange(resamples), _PARTS)]
        mean_ci = np.concatenate([part.result() for part in means])
        cumulative = np.cumsum(sum(part.result() for part in ranks), axis=1)
    mean_ci[np.isnan(task_scores).any(axis=1)] = np.nan
    rank_ci = np.stack([_observed_quantile(cumulative, q) for q in QUANTILES], axis=1)
    return Uncertainty(mean_task_ci=mean_ci, rank_ci=rank_ci)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_PARTS = min(_cores(), 4)
"""Parts to cut the work in: one per core (numpy releases the GIL in sorts and products)."""
_POOL = ThreadPoolExecutor(_PARTS, thread_name_prefix="bootstrap") if _PARTS > 1 else None


def _run(work: Callable[[np.ndarray], np.ndarray], part: np.ndarray) -> Future[np.ndarray]:
    if _POOL is None:
        done: Future[np.ndarray] = Future()
        done.set_result(work(part))
        return done
    return _POOL.submit(work, part)


QUANTILES = (0.025, 0.975)


def _linear_quantile(ordered: np.ndarray, q: float) -> np.ndarray:
    """numpy's default ("linear") percentile of each row of a row-sorted array."""
    last = ordered.shape[1] - 1
    position = last * q
    below = int(np.floor(position))
    above = min(below + 1, last)
    return ordered[:, below] + (position - below) * (ordered[:, above] - ordered[:, below])


def _observed_quantile(cumulative: np.ndarray, q: float) -> np.ndarray:
    """numpy's "inverted_cdf" percentile (a rank that occurred) per model, from cumulative rank
    counts: the smallest rank reached by at least ⌈resamples × q⌉ resamples."""
    needed = max(int(np.ceil(cumulative[0, -1] * q)), 1)
    return np.asarray((cumulative >= needed).argmax(axis=1), dtype=np.int64)


def tie_groups(ranks: np.ndarray, rank_ci: np.ndarray) -> np.ndarray:
    """Groups of models whose rank intervals overlap that of their group's best model.

    Models are taken best rank first (ties in rank keep input order). The first model leads
    group 1; each next model joins the current group when the lower bound of its rank interval
    is at most the upper bound of the leader's interval (the two intervals overlap, so the
    pair is not statistically separable), else it leads the next group. Every member is thus
    tied with its leader; groups are numbered 1, 2, ... down the table.
    """
    groups = np.zeros(len(ranks), dtype=np.int64)
    group, leader_upper = 0, -1
    for model in np.argsort(ranks, kind="stable"):
        if group == 0 or rank_ci[model, 0] > leader_upper:
            group += 1
            leader_upper = int(rank_ci[model, 1])
        groups[model] = group
    return groups
