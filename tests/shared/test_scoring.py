"""Task scores over splits × subsets, as mteb's leaderboard computes them."""

from __future__ import annotations

import pytest

from shared.scoring import task_score

SCORES = {
    "test": [
        {"hf_subset": "en", "main_score": 0.5},
        {"hf_subset": "de", "main_score": 0.7},
    ],
    "dev": [{"hf_subset": "en", "main_score": 0.9}],
}


def test_mean_over_the_subsets_asked_for() -> None:
    assert task_score(SCORES, ["test"], ["en", "de"]) == pytest.approx(0.6)
    assert task_score(SCORES, ["test"], ["de"]) == pytest.approx(0.7)


def test_mean_over_splits_and_subsets() -> None:
    assert task_score(SCORES, ["test", "dev"], ["en"]) == pytest.approx(0.7)


def test_missing_subset_or_split_gives_none() -> None:
    assert task_score(SCORES, ["test", "dev"], ["en", "de"]) is None
    assert task_score(SCORES, ["validation"], ["en"]) is None


def test_missing_main_score_gives_none() -> None:
    assert task_score({"test": [{"hf_subset": "default"}]}, ["test"], ["default"]) is None
