"""`leaderboard submit --wait`: follow a submission to its end, printing each task as it lands."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

FINISHED_TASK = {"done", "failed", "cancelled"}
FINISHED = {"completed", "failed", "cancelled"}
EXIT_CODES = {"completed": 0, "failed": 1, "cancelled": 1}
"""A submission's final status as an exit status: 0 only when every task is done."""

Submission = dict[str, Any]


def task_line(task: dict[str, Any]) -> str:
    score = f"{task['main_score']:.7f}" if task.get("main_score") is not None else ""
    progress = ""
    if task.get("state") == "running" and task.get("total"):
        progress = f"{task.get('encoded') or 0}/{task['total']} texts"
    detail = f"  {task['reason']}" if task.get("reason") else ""
    return f"  {task['task']:<40} {task['state']:<9} {score or progress}{detail}".rstrip()


def follow(
    read: Callable[[], Submission], out: TextIO, interval_s: float = 1.0, timeout_s: float = 0.0
) -> Submission:
    """Read the submission every `interval_s` until it is finished (or `timeout_s`, when not 0,
    passed: TimeoutError); each task is written to `out` once, when it finishes."""
    deadline = time.monotonic() + timeout_s if timeout_s else None
    told: set[str] = set()
    while True:
        submission = read()
        for task in submission["tasks"]:
            if task["state"] in FINISHED_TASK and task["task"] not in told:
                told.add(task["task"])
                out.write(task_line(task) + "\n")
                out.flush()
        if submission["status"] in FINISHED:
            return submission
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"submission {submission['id']} still {submission['status']}")
        time.sleep(interval_s)
