"""The paired test against scipy and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap, wilcoxon

from shared.summary.paired import paired_test


def test_a_constant_improvement_on_five_tasks() -> None:
    result = paired_test([0.1, 0.2, 0.3, 0.4, 0.5], [0.2, 0.3, 0.4, 0.5, 0.6])
    assert result.n == 5
    assert result.mean_difference == pytest.approx(0.1)
    assert result.interval == pytest.approx((0.1, 0.1))
    # every one of 2^5 sign patterns equally likely; two (all +, all −) as extreme: 2/32
    assert result.p_value == pytest.approx(2 / 32)
    assert (result.wins, result.losses) == (5, 0)


def test_mixed_differences_match_scipy() -> None:
    a = [0.50, 0.61, 0.72, 0.13, 0.44, 0.35, 0.80, 0.27]
    b = [0.52, 0.58, 0.75, 0.21, 0.40, 0.41, 0.83, 0.26]
    result = paired_test(a, b, resamples=4000, seed=1)
    differences = np.subtract(b, a)
    assert result.mean_difference == pytest.approx(differences.mean())
    assert result.p_value == pytest.approx(wilcoxon(b, a).pvalue)
    assert (result.wins, result.losses) == (5, 3)
    expected = bootstrap(
        (np.asarray(a), np.asarray(b)),
        lambda x, y: np.mean(y - x),
        paired=True,
        vectorized=False,
        n_resamples=4000,
        method="percentile",
        rng=np.random.default_rng(1),
    ).confidence_interval
    assert result.interval is not None and result.mean_difference is not None
    assert result.interval[0] == pytest.approx(expected.low, abs=0.004)
    assert result.interval[1] == pytest.approx(expected.high, abs=0.004)
    assert result.interval[0] < result.mean_difference < result.interval[1]


def test_equal_scores_have_no_p_value() -> None:
    result = paired_test([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert result.mean_difference == 0.0
    assert result.p_value is None
    assert result.interval == (0.0, 0.0)


def test_one_or_no_shared_task() -> None:
    assert paired_test([0.4], [0.5]).interval is None
    empty = paired_test([], [])
    assert (empty.n, empty.mean_difference, empty.p_value) == (0, None, None)


def test_unequal_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        paired_test([0.1, 0.2], [0.3])
