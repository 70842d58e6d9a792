"""How far a running task is: texts encoded so far of the texts its evaluation splits hold."""

from __future__ import annotations

import re
from typing import Any

from mteb.abstasks import AbsTask

TEXT_STATISTICS = re.compile(r"(\w+_)?text\d?_statistics")
"""text_statistics, text1_ and text2_ (pairs), documents_ and queries_text_statistics."""


def expected_texts(task: AbsTask) -> int | None:
    """The texts of the task's evaluation splits, from mteb's descriptive statistics (the text
    statistics' total length over average length); None when mteb has no statistics for it."""
    try:
        statistics: dict[str, Any] = task.metadata.descriptive_stats or {}
    except (OSError, ValueError):
        return None
    total = 0
    for split in task.metadata.eval_splits:
        for name, figures in (statistics.get(split) or {}).items():
            if not TEXT_STATISTICS.fullmatch(name) or not isinstance(figures, dict):
                continue
            length, average = figures.get("total_text_length"), figures.get("average_text_length")
            if length and average:
                total += round(length / average)
    return total or None
