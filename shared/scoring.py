"""Task scores as mteb's leaderboard computes them (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def task_score(
    scores: Mapping[str, list[Mapping[str, Any]]], splits: Iterable[str], subsets: Iterable[str]
) -> float | None:
    """Mean `main_score` over every (split, subset) asked for; None if any of them is missing.

    `scores` is a TaskResult's `scores` field: split name → one entry per `hf_subset`.
    """
    wanted = list(subsets)
    values: list[float] = []
    for split in splits:
        by_subset = {entry["hf_subset"]: entry.get("main_score") for entry in scores.get(split, [])}
        for subset in wanted:
            value = by_subset.get(subset)
            if value is None:
                return None
            values.append(float(value))
    return sum(values) / len(values) if values else None
