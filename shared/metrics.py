"""The Prometheus metrics of the services (each service process exports those it moves)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

SLOW_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, float("inf"))
"""Task durations: seconds to hours."""

HTTP_LATENCY = Histogram(
    "lb_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route", "status"],
)
QUEUE_DEPTH = Gauge("lb_queue_depth", "Jobs waiting for an evaluator, by priority.", ["priority"])
JOBS_RUNNING = Gauge(
    "lb_jobs_running",
    "Jobs delivered to an evaluator and not yet acknowledged, by priority.",
    ["priority"],
)
DEAD_LETTERS = Gauge(
    "lb_dead_letters",
    "Messages held in the dead-letter stream, by the stream they came from.",
    ["stream"],
)
JOBS_FINISHED = Counter(
    "lb_evaluator_jobs",
    "Jobs this evaluator finished, by outcome (done, failed, retried, cancelled).",
    ["state"],
)
TASK_DURATION = Histogram(
    "lb_task_duration_seconds",
    "Wall time of one task's evaluation.",
    ["task"],
    buckets=SLOW_BUCKETS,
)
ENCODE_THROUGHPUT = Gauge(
    "lb_encode_texts_per_second", "Texts encoded per second in the last run of a task.", ["task"]
)
STATUS_EVENTS = Counter(
    "lb_task_status_events", "Task status events the aggregator applied, by state.", ["state"]
)
RESULTS_APPLIED = Counter("lb_results_applied", "Results the aggregator stored and ranked.")
LEADERBOARD_UPDATE = Histogram(
    "lb_leaderboard_update_seconds",
    "From a result's arrival at the aggregator to its task and benchmark leaderboards replaced.",
)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
