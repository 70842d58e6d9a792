"""NATS JetStream: the streams of DESIGN §2, typed publishing, pull consumers, dead letters."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import (
    ConnectionClosedError,
    ConnectionReconnectingError,
    NoRespondersError,
    StaleConnectionError,
    UnexpectedEOF,
)
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, RetentionPolicy, StreamConfig
from nats.js.errors import NotFoundError, ServiceUnavailableError
from pydantic import BaseModel, ValidationError
from pymongo.errors import ConnectionFailure

from shared.events import Subjects
from shared.settings import get_settings

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)

FETCH_TIMEOUTS = (asyncio.TimeoutError, NatsTimeoutError)
"""nats-py raises either on an empty pull fetch."""
BUS_UNAVAILABLE = (
    ServiceUnavailableError,
    NoRespondersError,
    ConnectionClosedError,
    ConnectionReconnectingError,
    StaleConnectionError,
)
"""What a fetch raises while the server is away or a cluster elects a new stream leader."""


@dataclass(frozen=True)
class Stream:
    """One JetStream stream of the event contract."""

    name: str
    subjects: tuple[str, ...]
    retention: RetentionPolicy = RetentionPolicy.LIMITS
    max_msgs_per_subject: int = -1

    def config(self, replicas: int = 1) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            retention=self.retention,
            max_msgs_per_subject=self.max_msgs_per_subject,
            num_replicas=replicas,
        )


SUBMISSIONS = Stream("LB_SUBMISSIONS", ("lb.intake.>", "lb.submissions.>"))
JOBS = Stream("LB_JOBS", ("lb.jobs.>",), RetentionPolicy.WORK_QUEUE)
RESULTS = Stream("LB_RESULTS", ("lb.status.>", "lb.results.>"))
LEADERBOARD = Stream("LB_LEADERBOARD", ("lb.leaderboard.>",), max_msgs_per_subject=1)
DLQ = Stream("LB_DLQ", ("lb.dlq.>",))
EXHAUSTED_JOBS = Stream(
    "LB_EXHAUSTED_JOBS",
    (f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{JOBS.name}.>",),
    RetentionPolicy.WORK_QUEUE,
)
"""JetStream's advisories of jobs whose deliveries ran out, kept until an evaluator handles them
(they are plain NATS messages, lost when nobody listens at that moment)."""
PRIVATE = Stream("LB_PRIVATE", ("lb.private.>",))
"""Private tasks' events, and every event of a submission holding one (`Subjects`, `private`):
the services read it, outside systems cannot."""
TASKS = Stream("LB_TASKS", ("lb.tasks.>",))
"""Public custom tasks' events: created, published, deleted."""
STREAMS = (SUBMISSIONS, JOBS, RESULTS, LEADERBOARD, DLQ, EXHAUSTED_JOBS, PRIVATE, TASKS)


def private_inbox(user: str) -> str:
    """The inbox prefix of a service's user: `_INBOX_<user>`."""
    return f"_INBOX_{user}"


class InvalidMessage(ValueError):
    """A message that is well-formed JSON but can never be handled; it is dead-lettered."""


REASON_HEADER = "Lb-Reason"
ORIGINAL_SUBJECT_HEADER = "Lb-Original-Subject"


CONNECTION_ERRORS = (UnexpectedEOF, StaleConnectionError, OSError)
UNAVAILABLE = (ConnectionFailure, NatsTimeoutError, asyncio.TimeoutError)
"""What a handler raises when the store or the bus is away."""


class ConnectionLog:
    """nats-py's connection callbacks: one log line per change of state, no traceback (nats-py's
    default logs one for every failed reconnection attempt, every 2 s of an outage)."""

    def __init__(self) -> None:
        self.lost = False
        self.client: Client | None = None

    async def disconnected(self) -> None:
        if self.client is not None and self.client.is_closed:
            return  # closed on purpose
        if not self.lost:
            self.lost = True
            log.warning("NATS connection lost; reconnecting")

    async def reconnected(self) -> None:
        self.lost = False
        log.warning("NATS connection back")

    async def error(self, error: Exception) -> None:
        if self.lost or isinstance(error, CONNECTION_ERRORS):
            return  # `disconnected` says it; failed reconnection attempts say nothing new
        log.warning("NATS: %s", error or type(error).__name__)

    async def closed(self) -> None:
        log.debug("NATS connection closed")


class Bus:
    """A NATS connection with JetStream, the streams declared."""

    def __init__(self, client: Client, js: JetStreamContext, replicas: int | None = None) -> None:
        self.client = client
        self.js = js
        self.replicas = replicas

    @property
    def connected(self) -> bool:
        """Whether the connection is up now (False while reconnecting)."""
        return bool(self.client.is_connected)

    @classmethod
    async def connect(
        cls,
        url: str,
        name: str,
        *,
        replicas: int | None = None,
        user: str | None = None,
        password: str | None = None,
    ) -> Bus:
        """Connect (as `user`, when given) and declare every stream (existing ones are updated).

        `url` may list several servers of one cluster, comma-separated; the client fails over
        between them. `replicas` (default: the `stream_replicas` setting) is each stream's
        replica count; None keeps that of existing streams and creates new ones with one. The
        connection retries for ever while the servers are away, saying so once.
        A user's replies arrive under an inbox prefix of its own (`shared.nats_auth`), which no
        other user may subscribe to: fetched messages (intake requests with their keys) pass there.
        """
        events = ConnectionLog()
        client = await nats.connect(
            servers(url),
            name=name,
            max_reconnect_attempts=-1,
            user=user,
            password=password,
            inbox_prefix=private_inbox(user) if user else "_INBOX",
            error_cb=events.error,
            disconnected_cb=events.disconnected,
            reconnected_cb=events.reconnected,
            closed_cb=events.closed,
        )
        events.client = client
        if replicas is None:
            replicas = get_settings().stream_replicas
        bus = cls(client, client.jetstream(), replicas)
        await bus.declare_streams()
        return bus

    async def declare_streams(self) -> None:
        for stream in STREAMS:
            try:
                info = await self.js.stream_info(stream.name)
            except NotFoundError:
                await self.js.add_stream(stream.config(self.replicas or 1))
            else:
                kept = info.config.num_replicas or 1
                await self.js.update_stream(stream.config(self.replicas or kept))

    async def publish(self, subject: str, event: BaseModel, msg_id: str) -> None:
        """Publish `event` as JSON; `msg_id` lets the server drop a retried duplicate."""
        await self.js.publish(
            subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id}
        )

    async def dead_letter(self, msg: Msg, stream: Stream, reason: str) -> None:
        """Copy `msg` to the dead-letter subject of `stream`, with the reason in headers."""
        seq = msg.metadata.sequence.stream if msg.metadata else 0
        await self.dead_letter_stored(msg.subject, msg.data, seq, stream, reason)

    async def dead_letter_stored(
        self, subject: str, data: bytes, seq: int, stream: Stream, reason: str
    ) -> None:
        """Copy message `seq` of `stream` (read directly, not delivered) to its dead letters."""
        await self.js.publish(
            Subjects.dead_letter(stream.name),
            redacted(data, stream),
            headers={
                "Nats-Msg-Id": f"dlq:{stream.name}:{seq}",
                REASON_HEADER: reason[:1000],
                ORIGINAL_SUBJECT_HEADER: subject,
            },
        )
        log.warning("dead-lettered %s from %s: %s", subject, stream.name, reason)

    async def pull(
        self,
        stream: Stream,
        durable: str,
        filter_subject: str,
        *,
        ack_wait: float = 30.0,
        max_deliver: int = 5,
    ) -> JetStreamContext.PullSubscription:
        """A durable pull consumer, created, or updated to this configuration and bound."""
        config = ConsumerConfig(
            durable_name=durable,
            filter_subject=filter_subject,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
        )
        await self.js.add_consumer(stream.name, config)
        return await self.js.pull_subscribe_bind(durable=durable, stream=stream.name)

    async def close(self) -> None:
        """Flush what was published, then close (drain can hang on pull subscriptions)."""
        await self.client.flush()
        await self.client.close()


def servers(url: str) -> list[str]:
    """The server URLs of a comma-separated list (`nats://a:4222,nats://b:4222`)."""
    found = [part.strip() for part in url.split(",") if part.strip()]
    if not found:
        raise ValueError("no NATS server URL given")
    return found


SECRET_FIELDS = frozenset({"hf_token", "token", "api_key", "key", "authorization", "password"})
"""JSON member names (compared as decoded, ignoring case) whose values are never copied."""
REDACTED = "**redacted**"
WITHHELD = b'"**withheld: not JSON**"'


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            name: REDACTED if name.lower() in SECRET_FIELDS else _without_secrets(item)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    return value


def redacted(data: bytes, stream: Stream | None = None) -> bytes:
    """`data` with secret members' values replaced: dead letters are readable by subscribers.

    The JSON is decoded first, so no escaping hides a member's name. A message of the intake
    stream that is not JSON may carry anything and is withheld; of another stream it is kept.
    """
    try:
        payload = json.loads(data)
    except ValueError:
        return WITHHELD if stream is SUBMISSIONS else data
    cleaned = _without_secrets(payload)
    return data if cleaned == payload else json.dumps(cleaned).encode()


def describe(error: ValidationError) -> str:
    """A validation error as `field: problem; …`, never quoting the values that failed."""
    problems = error.errors(include_url=False, include_context=False, include_input=False)
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'payload'}: {problem['msg']}"
        for problem in problems[:10]
    )


def decode(msg: Msg, model: type[E]) -> E:
    """The payload of `msg` as `model`; raises `ValidationError` on anything else."""
    return model.model_validate_json(msg.data)


Handler = Callable[[Msg], Awaitable[None]]


async def consume(
    bus: Bus,
    subscription: JetStreamContext.PullSubscription,
    stream: Stream,
    handler: Handler,
    stop: asyncio.Event,
) -> None:
    """Fetch and handle messages one at a time until `stop` is set.

    A message that does not validate goes to the dead-letter subject at once; one whose handler
    fails (the store is down, say) is redelivered after a delay that doubles up to a minute
    (about a quarter of an hour of tries in all), and dead-lettered when its deliveries are
    used up (the consumer's own `max_deliver`). The handler acks.
    """
    configured = (await subscription.consumer_info()).config.max_deliver
    max_deliver = configured if configured and configured > 0 else math.inf  # -1: unbounded
    unavailable = False
    while not stop.is_set():
        try:
            messages = await subscription.fetch(1, timeout=1.0)
        except FETCH_TIMEOUTS:
            continue
        except BUS_UNAVAILABLE as error:
            if not unavailable:
                log.warning("%s unavailable (%s); waiting", stream.name, type(error).__name__)
            unavailable = True
            await asyncio.sleep(1.0)
            continue
        if unavailable:
            log.info("%s available again", stream.name)
            unavailable = False
        for msg in messages:
            try:
                await handler(msg)
            except (ValidationError, InvalidMessage) as error:
                reason = describe(error) if isinstance(error, ValidationError) else str(error)
                await bus.dead_letter(msg, stream, f"invalid payload: {reason}")
                await msg.term()
            except Exception as error:
                if isinstance(error, UNAVAILABLE):  # an outage: said once where it is watched
                    log.warning("handling %s failed: %s; retried later", msg.subject, error)
                else:
                    log.exception("handling %s failed", msg.subject)
                if msg.metadata.num_delivered >= max_deliver:
                    reason = f"handler failed: {type(error).__name__}"
                    await bus.dead_letter(msg, stream, reason)
                    await msg.term()
                else:
                    await msg.nak(delay=min(60.0, 2.0**msg.metadata.num_delivered))
