"""A paired comparison of two models over the tasks both have: the mean difference of their
scores with a paired bootstrap interval (tasks resampled with replacement, both models' scores of
a task kept together) and the Wilcoxon signed-rank test's two-sided p-value (scipy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import wilcoxon

RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedTest:
    """B − A over `n` shared tasks."""

    n: int
    mean_difference: float | None
    interval: tuple[float, float] | None
    """The percentile bootstrap interval of the mean difference; None under two tasks."""
    p_value: float | None
    """Wilcoxon signed-rank, two-sided; None without a non-zero difference."""
    wins: int
    """Tasks where B scores higher."""
    losses: int


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    resamples: int = RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> PairedTest:
    """Compare `b` with `a`, paired by position (one task each)."""
    if len(a) != len(b):
        raise ValueError("paired scores need equal lengths")
    differences = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = len(differences)
    if n == 0:
        return PairedTest(0, None, None, None, 0, 0)
    interval = None
    if n >= 2 and resamples > 0:
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, n, size=(resamples, n))
        means = differences[picks].mean(axis=1)
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(means, [tail, 100 - tail])
        interval = (float(low), float(high))
    p_value = None
    if np.any(differences != 0):
        p_value = float(wilcoxon(differences).pvalue)
    return PairedTest(
        n=n,
        mean_difference=float(differences.mean()),
        interval=interval,
        p_value=p_value,
        wins=int((differences > 0).sum()),
        losses=int((differences < 0).sum()),
    )
