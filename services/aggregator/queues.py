"""The job queues and dead letters as Prometheus gauges, read from JetStream every few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.errors import Error as NatsError

from shared.bus import DLQ, JOBS, Bus
from shared.events import Priority
from shared.metrics import DEAD_LETTERS, JOBS_RUNNING, QUEUE_DEPTH

log = logging.getLogger(__name__)

INTERVAL_S = 5.0


async def read_queues(bus: Bus) -> None:
    """Jobs waiting and running per priority (the evaluators' consumers), dead letters per
    stream; a consumer not made yet (no evaluator started) counts as nothing running."""
    for priority in Priority:
        try:
            info = await bus.js.consumer_info(JOBS.name, f"evaluators-{priority.value}")
        except NatsError:
            stream = await bus.js.stream_info(
                JOBS.name, subjects_filter=f"lb.jobs.{priority.value}.>"
            )
            QUEUE_DEPTH.labels(priority.value).set(sum((stream.state.subjects or {}).values()))
            JOBS_RUNNING.labels(priority.value).set(0)
            continue
        QUEUE_DEPTH.labels(priority.value).set(info.num_pending or 0)
        JOBS_RUNNING.labels(priority.value).set(info.num_ack_pending or 0)
    dead = await bus.js.stream_info(DLQ.name, subjects_filter=f"{DLQ.subjects[0]}")
    for subject, count in (dead.state.subjects or {}).items():
        DEAD_LETTERS.labels(subject.rsplit(".", 1)[-1]).set(count)


async def watch_queues(bus: Bus, stop: asyncio.Event) -> None:
    """`read_queues` every INTERVAL_S until `stop`; skipped while the bus is away."""
    while not stop.is_set():
        if bus.connected:
            try:
                await read_queues(bus)
            except (TimeoutError, NatsError) as error:
                log.debug("reading the queues failed: %r", error)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), INTERVAL_S)
