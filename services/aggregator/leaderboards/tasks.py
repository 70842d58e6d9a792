"""Task leaderboards: one result per model, joined as benchmark tables join them, ranked."""

from __future__ import annotations

from services.aggregator.leaderboards.announce import announce, task_is_private
from shared.bus import Bus
from shared.documents import LeaderboardDoc, LeaderboardRow, ResultDoc, task_leaderboard_id
from shared.staleness import stale_reason
from shared.store import Store
from shared.summary.models import model_meta
from shared.summary.revisions import join_revisions


def task_leaderboard(task: str, results: list[ResultDoc]) -> LeaderboardDoc:
    """The ranking of one task: best score first, tied scores sharing the better rank; each row
    says where its result came from.

    Per model the result is the one benchmark tables use (`join_revisions`, mteb's rule: its
    registry's main revision, then a known mteb version and revision, then the newest mteb
    version); of results equal by that rule, one evaluated here before an imported one.
    Every model is ranked (a custom task's as a registry task's: no pool). Results incomplete
    on the task's own splits and subsets (main_score None) are not ranked; stale ones
    (`shared.staleness`: an older mteb, or a custom task's earlier data) are ranked and say why.
    """
    scored = sorted(
        (r for r in results if r.main_score is not None),
        key=lambda r: (r.source != "evaluator", r.id),
    )
    metas = {name: model_meta(name) for name in {r.model for r in scored}}
    kept = join_revisions(scored, metas, frozenset({task})).values()
    ranked = sorted(kept, key=lambda r: (-(r.main_score or 0.0), r.model))
    rows: list[LeaderboardRow] = []
    for position, result in enumerate(ranked, start=1):
        score = result.main_score or 0.0
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
                stale_reason=stale_reason(task, result.mteb_version, result.dataset_revision),
            )
        )
    return LeaderboardDoc(_id=task_leaderboard_id(task), kind="task", name=task, rows=rows)


async def refresh_task_leaderboard(
    store: Store, bus: Bus | None, task: str, results: list[ResultDoc] | None = None
) -> LeaderboardDoc:
    """Recompute and replace one task's leaderboard, then announce it when there is a bus (a
    private custom task's on the private subject).

    `results` are the task's stored results when the caller holds them already (listings, as
    `Store.results_for_task` gives them); else they are read from the store.
    """
    if results is None:
        results = await store.results_for_task(task)
    stored = await store.replace_leaderboard(task_leaderboard(task, results))
    if bus is not None:
        private = task_is_private(task)
        await announce(bus, stored.id, stored.version, stored.generated_at, private)
    return stored
