"""Borda points and ranks, bootstrap intervals and tie groups on small hand-made inputs."""

from __future__ import annotations

import numpy as np

from shared.summary.bootstrap import bootstrap, tie_groups
from shared.summary.borda import average_ranks, min_ranks, points_of

NAN = np.nan


def borda_points(partial_means: np.ndarray, n_models: int) -> np.ndarray:
    """mteb's Borda points of each model (rows) in each partition (columns)."""
    return points_of(average_ranks(partial_means), n_models)


def test_min_ranks_give_ties_the_best_rank_row_by_row() -> None:
    assert min_ranks(np.array([3.0, 1.0, 3.0, 2.5])).tolist() == [1, 4, 1, 3]
    both = min_ranks(np.array([[0.5, 0.5, 0.0], [-1.0, 2.0, 2.0]]))
    assert both.tolist() == [[1, 1, 3], [3, 1, 1]]


def test_min_ranks_of_totals_too_far_apart_for_16_bits() -> None:
    totals = np.array([0.0, 40_000.5, 40_000.5, 1.5, 70_000.0])
    assert min_ranks(totals).tolist() == [5, 2, 2, 4, 1]


def test_borda_points_average_tied_ranks_and_give_nothing_for_no_score() -> None:
    scores = np.array([[0.5, 0.9], [0.5, NAN], [0.4, 0.1]])
    points = borda_points(scores, n_models=3)
    # column 0: ranks 1.5, 1.5, 3; column 1: ranks 1, -, 2
    assert points.tolist() == [[1.5, 2.0], [1.5, 0.0], [0.0, 1.0]]


def test_bootstrap_repeats_with_its_seed_and_varies_with_another() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random((20, 12))
    points = borda_points(scores, 20)
    first, again = bootstrap(scores, points, 500, 3), bootstrap(scores, points, 500, 3)
    other = bootstrap(scores, points, 500, 4)
    assert np.array_equal(first.mean_task_ci, again.mean_task_ci)
    assert np.array_equal(first.rank_ci, again.rank_ci)
    assert not np.array_equal(first.mean_task_ci, other.mean_task_ci)
    means = scores.mean(axis=1)
    assert ((first.mean_task_ci[:, 0] <= means) & (means <= first.mean_task_ci[:, 1])).all()
    ranks = min_ranks(points.sum(axis=1))
    assert ((first.rank_ci[:, 0] <= ranks) & (ranks <= first.rank_ci[:, 1])).all()


def test_bootstrap_matches_numpy_percentiles_of_explicit_resamples() -> None:
    rng = np.random.default_rng(5)
    scores = rng.random((6, 5))
    points = borda_points(scores, 6)
    result = bootstrap(scores, points, 200, 9)
    drawn = np.random.default_rng(9).integers(0, 5, size=(200, 5))
    means = scores[:, drawn].mean(axis=2).T
    ranks = min_ranks(points[:, drawn].sum(axis=2).T)
    assert np.allclose(result.mean_task_ci, np.percentile(means, [2.5, 97.5], axis=0).T)
    expected = np.percentile(ranks, [2.5, 97.5], axis=0, method="inverted_cdf").T
    assert np.array_equal(result.rank_ci, expected)


def test_models_of_equal_points_share_ranks_as_explicit_resamples_give_them() -> None:
    rng = np.random.default_rng(6)
    scores = rng.random((9, 6))
    scores[4] = scores[1]  # equal points on every task
    scores[[6, 7, 8], 1:] = NAN  # points on one task only: 7 and 8 equal
    scores[8, 0] = scores[7, 0]
    points = borda_points(scores, 9)
    points[5] = 0.0  # no points at all
    result = bootstrap(scores, points, 300, 4)
    drawn = np.random.default_rng(4).integers(0, 6, size=(300, 6))
    ranks = min_ranks(points[:, drawn].sum(axis=2).T)
    expected = np.percentile(ranks, [2.5, 97.5], axis=0, method="inverted_cdf").T
    assert np.array_equal(result.rank_ci, expected)
    assert np.array_equal(result.rank_ci[1], result.rank_ci[4])


def test_a_models_mean_interval_depends_on_its_own_scores_alone() -> None:
    rng = np.random.default_rng(2)
    scores = rng.random((30, 8))
    points = borda_points(scores, 30)
    together = bootstrap(scores, points, 300, 1).mean_task_ci
    for model in (0, 17, 29):
        alone = bootstrap(scores[[model]], points[[model]], 300, 1).mean_task_ci
        assert np.allclose(alone[0], together[model], rtol=0, atol=1e-12)


def test_a_model_missing_a_task_has_no_mean_interval_but_a_rank_interval() -> None:
    scores = np.array([[0.5, 0.6], [0.7, NAN]])
    result = bootstrap(scores, borda_points(scores, 2), 100, 0)
    assert np.isnan(result.mean_task_ci[1]).all()
    assert not np.isnan(result.mean_task_ci[0]).any()
    assert result.rank_ci.shape == (2, 2)


def test_a_single_task_gives_intervals_of_the_point_itself() -> None:
    scores = np.array([[0.5], [0.7]])
    result = bootstrap(scores, borda_points(scores, 2), 50, 0)
    assert result.mean_task_ci.tolist() == [[0.5, 0.5], [0.7, 0.7]]
    assert result.rank_ci.tolist() == [[2, 2], [1, 1]]


def test_tie_groups_follow_overlap_with_the_group_leader() -> None:
    ranks = np.array([1, 2, 3, 4, 5])
    intervals = np.array([[1, 2], [1, 3], [3, 4], [2, 5], [5, 5]])
    # 2 starts within 1's [1, 2]; 3 starts after it and leads [3, 4]; 4 starts within that,
    # 5 after it.
    assert tie_groups(ranks, intervals).tolist() == [1, 1, 2, 2, 3]
    assert tie_groups(np.array([2, 1]), np.array([[2, 2], [1, 1]])).tolist() == [2, 1]
