"""Stale results: an older mteb or another dataset revision than the installed task's."""

from __future__ import annotations

from datetime import UTC, datetime

import mteb

from services.aggregator.leaderboards.tasks import task_leaderboard
from services.submission.reevaluation import Wanted, choose
from shared.documents import ResultDoc
from shared.staleness import major_minor, stale_reason

CURRENT = mteb.__version__
BIOSSES_REVISION = mteb.get_task("BIOSSES").metadata.dataset["revision"]


def result(
    model: str,
    score: float,
    mteb_version: str | None = CURRENT,
    dataset_revision: str | None = BIOSSES_REVISION,
    task: str = "BIOSSES",
) -> ResultDoc:
    return ResultDoc(
        _id=f"{model}@r1|{task}|{mteb_version}",
        model=model,
        revision="r1",
        task=task,
        main_score=score,
        evaluated_at=datetime(2026, 1, 1, tzinfo=UTC),
        mteb_version=mteb_version,
        dataset_revision=dataset_revision,
        source="import",
    )


def test_versions_compare_by_major_and_minor() -> None:
    assert major_minor("1.12.3") == (1, 12)
    assert major_minor("2.26") == (2, 26)
    assert major_minor("dev") is None
    assert major_minor("2") is None


def test_an_older_mteb_makes_a_result_stale() -> None:
    reason = stale_reason("BIOSSES", "1.12.0", BIOSSES_REVISION)
    assert reason == f"computed by mteb 1.12.0; mteb {CURRENT} is installed"
    major, minor = major_minor(CURRENT) or (0, 0)
    assert stale_reason("BIOSSES", f"{major}.{minor}.0", BIOSSES_REVISION) is None  # a patch
    assert stale_reason("BIOSSES", f"{major}.{minor + 1}.0", BIOSSES_REVISION) is None  # newer
    assert stale_reason("BIOSSES", None, None) is None  # nothing says it is stale
    assert stale_reason("BIOSSES", "unparsable", None) is None


def test_another_dataset_revision_makes_a_result_stale() -> None:
    reason = stale_reason("BIOSSES", CURRENT, "0" * 40)
    assert reason == f"dataset revision {'0' * 40}; the task now uses {BIOSSES_REVISION}"
    assert stale_reason("NoSuchTask", CURRENT, "0" * 40) is None


def test_task_rows_say_which_results_are_stale() -> None:
    board = task_leaderboard(
        "BIOSSES",
        [
            result("a/current", 0.9),
            result("b/old", 0.8, "1.12.0"),
            result("c/moved", 0.7, CURRENT, "x"),
        ],
    )
    reasons = {row.model: row.stale_reason for row in board.rows}
    assert reasons["a/current"] is None
    assert reasons["b/old"] is not None and "mteb 1.12.0" in reasons["b/old"]
    assert reasons["c/moved"] is not None and "dataset revision x" in reasons["c/moved"]


def test_the_current_result_replaces_a_stale_one_in_the_table() -> None:
    board = task_leaderboard("BIOSSES", [result("a/x", 0.9, "1.12.0"), result("a/x", 0.5)])
    (row,) = board.rows
    assert (row.main_score, row.stale_reason) == (0.5, None)


def test_choose_takes_keys_whose_every_result_is_stale() -> None:
    results = [
        result("a/x", 0.9, "1.12.0"),
        result("a/x", 0.8, "1.12.0", task="STSBenchmark"),
        result("b/y", 0.9, "1.12.0"),
        result("b/y", 0.9),  # re-evaluated already
        result("c/z", 0.9),
    ]
    assert choose(results, stale_only=True) == [Wanted("a/x", "r1", ("BIOSSES", "STSBenchmark"))]
    assert [w.model for w in choose(results, stale_only=False)] == ["a/x", "b/y", "c/z"]
