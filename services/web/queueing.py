"""The queue as the evaluators work through it: order, positions and estimates.

Evaluators take high-priority jobs first, then the oldest; each submission's tasks go in the
order it listed them. An estimate plays that order on the evaluators now running (at least one),
each task taking the median duration measured here for it (for a task never run here, the
median over every task), so it is as good as the measured speeds are.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from shared.documents import ResultDoc, SubmissionDoc, TaskProgress
from shared.events import Priority, TaskState


@dataclass(frozen=True)
class Durations:
    """Seconds a task takes here: the median of its measured runs."""

    by_task: dict[str, float]
    overall: float | None

    @classmethod
    def measured(cls, results: Iterable[ResultDoc]) -> Durations:
        runs: dict[str, list[float]] = {}
        for result in results:
            if result.envelope is not None:
                runs.setdefault(result.task, []).append(result.envelope.evaluation_time_s)
        every = [seconds for durations in runs.values() for seconds in durations]
        return cls(
            {task: median(durations) for task, durations in runs.items()},
            median(every) if every else None,
        )

    def of(self, task: str) -> float | None:
        return self.by_task.get(task, self.overall)


@dataclass(frozen=True)
class Job:
    """One task of a submission still to finish."""

    submission: SubmissionDoc
    progress: TaskProgress


@dataclass(frozen=True)
class Standing:
    """Where a submission stands: jobs ahead of its first queued one, and when it should end."""

    jobs_ahead: int | None
    """Jobs waiting ahead of its first queued one; None when none of its tasks waits."""
    remaining_s: float | None
    """Seconds until its last task should finish; None without measured speeds."""


def waiting_order(submissions: Iterable[SubmissionDoc]) -> list[Job]:
    """The queued jobs in the order evaluators take them."""
    ordered = sorted(
        (s for s in submissions if not s.status.terminal),
        key=lambda s: (s.priority != Priority.HIGH, s.created_at),
    )
    return [
        Job(submission, progress)
        for submission in ordered
        for progress in submission.tasks
        if progress.state == TaskState.QUEUED
    ]


def running_jobs(submissions: Iterable[SubmissionDoc]) -> list[Job]:
    return [
        Job(submission, progress)
        for submission in submissions
        for progress in submission.tasks
        if progress.state == TaskState.RUNNING
    ]


def elapsed_s(progress: TaskProgress, now: datetime) -> float | None:
    """Seconds a running task has run."""
    started = progress.started_at
    return max(0.0, (now - started).total_seconds()) if started else None


def standings(
    submissions: list[SubmissionDoc], durations: Durations, now: datetime
) -> dict[str, Standing]:
    """Each unfinished submission's standing, by id."""
    waiting = waiting_order(submissions)
    ahead: dict[str, int] = {}
    for index, job in enumerate(waiting):
        ahead.setdefault(job.submission.id, index)
    ends = finish_times(running_jobs(submissions), waiting, durations, now)
    return {
        submission.id: Standing(ahead.get(submission.id), ends.get(submission.id))
        for submission in submissions
        if not submission.status.terminal
    }


def finish_times(
    running: list[Job], waiting: list[Job], durations: Durations, now: datetime
) -> dict[str, float]:
    """Seconds until each submission's last task should end: the waiting jobs, in order, each
    on the evaluator free first. Empty without measured speeds."""
    if durations.overall is None:
        return {}
    ends: dict[str, float] = {}

    def expect(job: Job, start: float) -> float:
        end = max(0.0, start + (durations.of(job.progress.task) or 0.0))  # overdue: any time
        ends[job.submission.id] = max(ends.get(job.submission.id, 0.0), end)
        return end

    free_at = [expect(job, -(elapsed_s(job.progress, now) or 0.0)) for job in running] or [0.0]
    heapq.heapify(free_at)
    for job in waiting:
        heapq.heappush(free_at, expect(job, heapq.heappop(free_at)))
    return ends


def duration_text(seconds: float | None) -> str:
    """`45 s`, `12 min`, `2 h 05 min`; empty for None."""
    if seconds is None:
        return ""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
