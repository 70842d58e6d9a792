"""Bootstrap over tasks: intervals of Mean (Task) and of Borda ranks, and statistical ties."""

from __future__ import annotations

import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

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
    task_scores: np.ndarray,
    task_points: np.ndarray,
    resamples: int,
    seed: int,
    threads: int | None = None,
) -> Uncertainty:
    """Resample the benchmark's tasks with replacement `resamples` times (seeded) and recompute.

    Each resample draws as many tasks as the benchmark has; a model's Mean (Task) is the mean of
    its scores on the drawn tasks, and its Borda total the sum of its points on them (a task's
    points per model, `task_points`, are those of the full table, so the field of ranked models
    stays mteb's). Ranks are recomputed per resample with mteb's "min" tie rule. Intervals are
    the 2.5 % and 97.5 % percentiles; rank bounds are ranks observed in resamples.
    All resamples are computed at once, as draw counts (resamples × tasks) times the matrices;
    the ranks in slices of resamples spread over `threads` threads (default: one per core, up
    to four; the results do not depend on it). A model's Mean (Task) interval depends on its
    own scores only, so it is computed once per distinct score row (`_MeanIntervals`): a new
    result recomputes the interval of its model alone.
    """
    n_tasks = task_scores.shape[1]
    counts = _draw_counts(n_tasks, resamples, seed)
    # Models of equal points on every task (those without any, say) have equal totals in
    # every resample, so the ranks are computed once per distinct row of points.
    distinct, which, alike = _distinct_rows(np.ascontiguousarray(2 * task_points))
    doubled_points = np.ascontiguousarray(distinct.T, dtype=np.float32)  # whole numbers

    def ranks_reached(draws: slice) -> np.ndarray:
        # float32 products are exact: every partial sum is a whole number below 2**24.
        return rank_counts(counts.as_float32[draws] @ doubled_points, alike)

    # Small products: BLAS threads cost more than they save, and their spinning workers slow
    # every numpy call after them on a busy machine.
    with _THREADPOOLS.limit(limits=1, user_api="blas"):
        bounds = np.linspace(0, resamples, (threads or _PARTS) + 1).astype(int)
        here, *elsewhere = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        running = [_run(ranks_reached, part) for part in elsewhere]
        mean_ci = _MEAN_INTERVALS.of(task_scores, counts)
        reached = ranks_reached(here) + sum(part.result() for part in running)
        cumulative = np.cumsum(reached, axis=1)
    distinct_ci = np.stack([_observed_quantile(cumulative, q) for q in QUANTILES], axis=1)
    rank_ci = distinct_ci[which]
    return Uncertainty(mean_task_ci=mean_ci, rank_ci=rank_ci)


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows (in order of first occurrence), the index of each row's among them,
    and how many rows each stands for. (Keyed by bytes: `np.unique(axis=0)` sorts rows.)"""
    first: dict[bytes, int] = {}
    which = np.asarray([first.setdefault(row.tobytes(), len(first)) for row in rows], np.intp)
    alike = np.bincount(which, minlength=len(first))
    starts = np.full(len(first), len(rows), dtype=np.intp)
    np.minimum.at(starts, which, np.arange(len(rows)))
    return rows[starts], which, alike


@dataclass(frozen=True)
class _DrawCounts:
    """How often each resample (row) drew each task (column)."""

    key: tuple[int, int, int]
    """(tasks, resamples, seed)."""
    as_float64: np.ndarray
    as_float32: np.ndarray


@lru_cache(maxsize=64)
def _draw_counts(n_tasks: int, resamples: int, seed: int) -> _DrawCounts:
    drawn = np.random.default_rng(seed).integers(0, n_tasks, size=(resamples, n_tasks))
    offsets = (np.arange(resamples) * n_tasks)[:, None]
    counts = np.bincount((drawn + offsets).ravel(), minlength=resamples * n_tasks)
    counts = counts.reshape(resamples, n_tasks)
    as_float64, as_float32 = counts.astype(np.float64), counts.astype(np.float32)
    as_float64.flags.writeable = as_float32.flags.writeable = False
    return _DrawCounts((n_tasks, resamples, seed), as_float64, as_float32)


class _MeanIntervals:
    """Mean (Task) intervals per distinct (score row, draws), the least recently used dropped
    beyond `capacity`. Each row's resampled means come from a product of its own (one matrix
    times vector), so an interval does not depend on the rows computed with it."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._intervals: OrderedDict[tuple[tuple[int, int, int], bytes], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, task_scores: np.ndarray, counts: _DrawCounts) -> np.ndarray:
        """(models, 2) intervals; NaN for a model missing a task score."""
        intervals = np.full((task_scores.shape[0], 2), np.nan)
        complete = np.flatnonzero(~np.isnan(task_scores).any(axis=1))
        keys = {m: (counts.key, task_scores[m].tobytes()) for m in complete.tolist()}
        missing: list[int] = []
        with self._lock:
            for m, key in keys.items():
                known = self._intervals.get(key)
                if known is None:
                    missing.append(m)
                else:
                    self._intervals.move_to_end(key)
                    intervals[m] = known
        if missing:
            n_tasks = task_scores.shape[1]
            means = np.stack([counts.as_float64 @ task_scores[m] for m in missing])
            means /= n_tasks
            means.sort(axis=1)
            computed = np.stack([_linear_quantile(means, q) for q in QUANTILES], axis=1)
            intervals[missing] = computed
            with self._lock:
                for m, interval in zip(missing, computed, strict=True):
                    self._intervals[keys[m]] = interval
                while len(self._intervals) > self.capacity:
                    self._intervals.popitem(last=False)
        return intervals


_MEAN_INTERVALS = _MeanIntervals(capacity=2**15)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


CORES = _cores()
_PARTS = min(CORES, 4)
"""Parts to cut the ranks in: one per core (numpy releases the GIL in sorts and products)."""
_POOL = ThreadPoolExecutor(_PARTS, thread_name_prefix="bootstrap") if _PARTS > 1 else None


def _run(work: Callable[[slice], np.ndarray], part: slice) -> Future[np.ndarray]:
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
