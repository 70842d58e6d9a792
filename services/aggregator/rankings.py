"""Rankings computed from stored results."""

from __future__ import annotations

from datetime import datetime

from shared.documents import LeaderboardDoc, LeaderboardRow, ResultDoc, task_leaderboard_id


def preferred(result: ResultDoc) -> tuple[bool, datetime]:
    """Sort key of a model's results: evaluated here before imported (an imported file without
    a date is dated when it was read), then the most recently evaluated."""
    return result.source == "evaluator", result.evaluated_at


def latest_per_model(results: list[ResultDoc]) -> list[ResultDoc]:
    """One result per model: its most recently evaluated revision, results evaluated here
    preferred to imported ones."""
    latest: dict[str, ResultDoc] = {}
    for result in results:
        kept = latest.get(result.model)
        if kept is None or preferred(result) > preferred(kept):
            latest[result.model] = result
    return list(latest.values())


def task_leaderboard(task: str, results: list[ResultDoc]) -> LeaderboardDoc:
    """The ranking of one task: best score first, tied scores sharing the better rank; each row
    says where its result came from.

    Results incomplete on the task's own splits and subsets (main_score None) are not ranked.
    """
    latest = latest_per_model([r for r in results if r.main_score is not None])
    scored = [(r.main_score, r) for r in latest if r.main_score is not None]
    rows: list[LeaderboardRow] = []
    for position, (score, result) in enumerate(
        sorted(scored, key=lambda pair: (-pair[0], pair[1].model)), start=1
    ):
        tied = rows and rows[-1].main_score == score
        rows.append(
            LeaderboardRow(
                rank=rows[-1].rank if tied else position,
                model=result.model,
                revision=result.revision,
                main_score=score,
                evaluated_at=result.evaluated_at,
                submission_id=result.submission_id,
                source=result.source,
                source_file=result.source_file,
                source_commit=result.source_commit,
            )
        )
    return LeaderboardDoc(_id=task_leaderboard_id(task), kind="task", name=task, rows=rows)
