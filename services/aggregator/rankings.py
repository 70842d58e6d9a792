"""Rankings computed from stored results."""

from __future__ import annotations

from shared.documents import LeaderboardDoc, LeaderboardRow, ResultDoc, task_leaderboard_id


def latest_per_model(results: list[ResultDoc]) -> list[ResultDoc]:
    """One result per model: its most recently evaluated revision."""
    latest: dict[str, ResultDoc] = {}
    for result in results:
        kept = latest.get(result.model)
        if kept is None or result.evaluated_at > kept.evaluated_at:
            latest[result.model] = result
    return list(latest.values())


def task_leaderboard(task: str, results: list[ResultDoc]) -> LeaderboardDoc:
    """The ranking of one task: best score first, tied scores sharing the better rank.

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
            )
        )
    return LeaderboardDoc(_id=task_leaderboard_id(task), kind="task", name=task, rows=rows)
