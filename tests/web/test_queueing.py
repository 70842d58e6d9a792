"""The queue's order, positions and estimates, played out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.web.queueing import Durations, duration_text, standings, waiting_order
from shared.documents import ResultDoc, SubmissionDoc, SubmissionStatus, TaskProgress
from shared.events import Priority, TaskState
from tests.support.helpers import make_envelope

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def submission(
    submission_id: str,
    tasks: dict[str, TaskState],
    minutes_ago: int,
    priority: Priority = Priority.NORMAL,
    started_s_ago: float | None = None,
) -> SubmissionDoc:
    started = NOW - timedelta(seconds=started_s_ago) if started_s_ago is not None else None
    return SubmissionDoc(
        id=submission_id,
        model=f"org/{submission_id}",
        revision="r",
        priority=priority,
        status=SubmissionStatus.RUNNING
        if TaskState.RUNNING in tasks.values()
        else SubmissionStatus.QUEUED,
        tasks=[
            TaskProgress(
                task=task, state=state, started_at=started if state == TaskState.RUNNING else None
            )
            for task, state in tasks.items()
        ],
        created_at=NOW - timedelta(minutes=minutes_ago),
    )


def measured(task: str, seconds: float) -> ResultDoc:
    return ResultDoc(
        id=f"m@r|{task}|{seconds}",
        model="m",
        revision="r",
        task=task,
        main_score=0.5,
        envelope=make_envelope(task=task, evaluation_time_s=seconds),
        evaluated_at=NOW,
    )


Q, R, D = TaskState.QUEUED, TaskState.RUNNING, TaskState.DONE


def test_durations_are_medians_per_task_and_overall() -> None:
    durations = Durations.measured(
        [measured("A", 10), measured("A", 30), measured("A", 20), measured("B", 100)]
    )
    assert durations.of("A") == 20
    assert durations.of("B") == 100
    assert durations.of("Unmeasured") == 25  # the median of 10, 20, 30, 100
    assert Durations.measured([]).of("A") is None


def test_high_priority_then_oldest_and_each_submissions_own_order() -> None:
    old = submission("old", {"A": Q, "B": Q}, minutes_ago=30)
    new = submission("new", {"C": Q}, minutes_ago=5)
    urgent = submission("urgent", {"D": Q}, minutes_ago=1, priority=Priority.HIGH)
    order = waiting_order([new, old, urgent])
    assert [(job.submission.id, job.progress.task) for job in order] == [
        ("urgent", "D"),
        ("old", "A"),
        ("old", "B"),
        ("new", "C"),
    ]


def test_estimates_play_the_queue_on_the_running_evaluators() -> None:
    durations = Durations({"A": 60.0, "B": 100.0}, 80.0)
    # two evaluators busy: one 20 s into A (40 s left), one 90 s into B (10 s left)
    running = submission("running", {"A": R, "B": R, "X": D}, minutes_ago=60, started_s_ago=20)
    running.tasks[1].started_at = NOW - timedelta(seconds=90)
    first = submission("first", {"A": Q, "B": Q}, minutes_ago=30)
    second = submission("second", {"Other": Q}, minutes_ago=10)
    got = standings([running, first, second], durations, NOW)
    assert got["running"].jobs_ahead is None
    assert got["running"].remaining_s == pytest.approx(40)
    # first.A starts at 10 s on the second evaluator (ends 70); first.B at 40 s (ends 140)
    assert got["first"].jobs_ahead == 0
    assert got["first"].remaining_s == pytest.approx(140)
    # second.Other (unmeasured: 80 s) starts at 70 s, when the second evaluator is free again
    assert got["second"].jobs_ahead == 2
    assert got["second"].remaining_s == pytest.approx(150)


def test_an_overdue_task_may_end_any_time_and_no_measurement_gives_no_estimate() -> None:
    late = submission("late", {"A": R}, minutes_ago=60, started_s_ago=600)
    waiting = submission("waiting", {"A": Q}, minutes_ago=5)
    got = standings([late, waiting], Durations({"A": 60.0}, 60.0), NOW)
    assert got["late"].remaining_s == 0
    assert got["waiting"].remaining_s == pytest.approx(60)
    unmeasured = standings([late, waiting], Durations({}, None), NOW)
    assert unmeasured["waiting"].jobs_ahead == 0
    assert unmeasured["waiting"].remaining_s is None


def test_durations_read_as_people_say_them() -> None:
    assert duration_text(None) == ""
    assert duration_text(42.4) == "42 s"
    assert duration_text(12 * 60 + 10) == "12 min"
    assert duration_text(2 * 3600 + 5 * 60) == "2 h 05 min"
