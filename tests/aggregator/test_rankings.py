"""Task rankings from stored results."""

from __future__ import annotations

from datetime import UTC, datetime

from services.aggregator.leaderboards.tasks import task_leaderboard
from shared.documents import ResultDoc
from tests.support.helpers import make_envelope


def result(model: str, score: float, day: int, revision: str = "r1") -> ResultDoc:
    envelope = make_envelope(model=model, revision=revision)
    return ResultDoc(
        _id=f"{model}@{revision}|BIOSSES|2.26",
        model=model,
        revision=revision,
        task="BIOSSES",
        main_score=score,
        submission_id="s",
        envelope=envelope,
        evaluated_at=datetime(2026, 1, day, tzinfo=UTC),
    )


def test_best_score_first_and_ties_share_the_better_rank() -> None:
    board = task_leaderboard(
        "BIOSSES", [result("a/x", 0.5, 1), result("b/y", 0.9, 1), result("c/z", 0.5, 1)]
    )
    assert [(row.rank, row.model) for row in board.rows] == [(1, "b/y"), (2, "a/x"), (2, "c/z")]
    assert board.id == "task:BIOSSES"
    assert board.kind == "task"


def test_one_row_per_model_with_its_latest_revision() -> None:
    board = task_leaderboard(
        "BIOSSES",
        [result("a/x", 0.9, 1, "old"), result("a/x", 0.7, 2, "new"), result("b/y", 0.8, 1)],
    )
    assert [(row.model, row.revision) for row in board.rows] == [("b/y", "r1"), ("a/x", "new")]


def test_no_results_no_rows() -> None:
    assert task_leaderboard("BIOSSES", []).rows == []
