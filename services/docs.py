"""Generated documentation: the AsyncAPI event contract, the submission API's OpenAPI, settings.

`python -m services.docs` rewrites `docs/asyncapi.json`, `docs/openapi.json` and
`docs/configuration.md`; `tests/test_docs.py` fails when the committed files are out of date.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.bus import (
    DLQ,
    JOBS,
    LEADERBOARD,
    ORIGINAL_SUBJECT_HEADER,
    PRIVATE,
    REASON_HEADER,
    RESULTS,
    STREAMS,
    SUBMISSIONS,
    TASKS,
    Stream,
)
from shared.events import (
    Job,
    LeaderboardUpdated,
    Priority,
    ResultEvent,
    StatusEvent,
    Subjects,
    SubmissionAccepted,
    SubmissionCancelled,
    SubmissionRejected,
    SubmissionRequest,
    SubmissionStatusChanged,
    TaskCreated,
    TaskDeleted,
    TaskPublished,
)
from shared.settings import Settings

DOCS_DIR = Path(__file__).resolve().parents[1] / "docs"
SETTINGS_START = "<!-- settings:start -->"
SETTINGS_END = "<!-- settings:end -->"
MSG_ID_HEADER = "Nats-Msg-Id"
RAW_PAYLOAD = "OriginalMessage"


@dataclass(frozen=True)
class Endpoint:
    """A service that publishes to, or consumes from, a channel."""

    service: str
    summary: str
    durable: str | None = None
    filter_subject: str | None = None


@dataclass(frozen=True)
class Channel:
    """One subject pattern of the contract, its payload and who uses it."""

    key: str
    address: str
    example: str
    stream: Stream
    message: str
    payload: type[BaseModel] | None
    summary: str
    msg_id: str
    parameters: dict[str, dict[str, Any]]
    senders: tuple[Endpoint, ...] = ()
    receivers: tuple[Endpoint, ...] = ()


EXAMPLE_ID = "a417df71a6de4ff9b0ef276c80ac92b7"
SUBMISSION_ID = {"description": "The submission id (32 hex digits)."}
TASK = {
    "description": "The MTEB task name as one subject token: `subject_token(task)` replaces "
    "every character other than A-Z, a-z, 0-9, `_` and `-` with `_`."
}

CHANNELS: tuple[Channel, ...] = (
    Channel(
        key="intake",
        address=Subjects.INTAKE,
        example=Subjects.INTAKE,
        stream=SUBMISSIONS,
        message="SubmissionRequest",
        payload=SubmissionRequest,
        summary="Submitting over the bus: the same JSON as the HTTP body, the API key in an "
        "`Authorization: Bearer <key>` header, and optionally an `Lb-Reply-To` header naming an "
        "inbox (`_INBOX.…`) that receives the answer (the HTTP answer's JSON body); any other "
        "reply subject is rejected. The decision is published on `lb.submissions.<sid>.accepted` "
        "or `.rejected`. An invalid payload is dead-lettered with its secrets redacted; every "
        "request is deleted from the stream once handled (it carries a key, maybe a token).",
        msg_id="chosen by the publisher (no service publishes here)",
        parameters={},
        receivers=(
            Endpoint(
                "submission",
                "Validates and accepts or rejects each request, as `POST /v1/submissions` does.",
                "submission-intake",
                Subjects.INTAKE,
            ),
        ),
    ),
    Channel(
        key="submissionRejected",
        address="lb.submissions.{submission_id}.rejected",
        example=Subjects.rejected(EXAMPLE_ID),
        stream=SUBMISSIONS,
        message="SubmissionRejected",
        payload=SubmissionRejected,
        summary="A request from the intake subject was refused, with the HTTP API's error code. "
        "Nothing was stored; the id is the one the request would have had.",
        msg_id="rejected:{submission_id}",
        parameters={"submission_id": SUBMISSION_ID},
        senders=(Endpoint("submission", "For each refused intake request."),),
    ),
    Channel(
        key="submissionCancelled",
        address="lb.submissions.{submission_id}.cancelled",
        example=Subjects.cancelled(EXAMPLE_ID),
        stream=SUBMISSIONS,
        message="SubmissionCancelled",
        payload=SubmissionCancelled,
        summary="A submission was cancelled (`DELETE /v1/submissions/{id}`): its pending jobs are "
        "purged from LB_JOBS right after; a task already running is its last.",
        msg_id="cancelled:{submission_id}",
        parameters={"submission_id": SUBMISSION_ID},
        senders=(Endpoint("submission", "Published before the pending jobs are purged."),),
        receivers=(
            Endpoint(
                "aggregator",
                "Marks queued tasks `cancelled` and the submission `cancelled`.",
                "aggregator-cancelled",
                "lb.submissions.*.cancelled",
            ),
        ),
    ),
    Channel(
        key="submissionStatus",
        address="lb.submissions.{submission_id}.status",
        example=Subjects.submission_status(EXAMPLE_ID),
        stream=SUBMISSIONS,
        message="SubmissionStatusChanged",
        payload=SubmissionStatusChanged,
        summary="Every status transition of a submission (accepted, queued, running, completed, "
        "failed, cancelled) with its time, the same as the document's `history` entry.",
        msg_id="transition:{submission_id}:{status}",
        parameters={"submission_id": SUBMISSION_ID},
        senders=(
            Endpoint("submission", "The `accepted` transition of each accepted submission."),
            Endpoint("aggregator", "Every later transition it makes."),
        ),
        receivers=(
            Endpoint(
                "submission",
                "POSTs each terminal transition of a submission with a `callback_url` to it "
                "(webhooks, docs/api.md); retried with a doubling delay, dead-lettered after "
                "`LEADERBOARD_WEBHOOK_ATTEMPTS` tries.",
                "submission-webhooks",
                "lb.submissions.*.status",
            ),
        ),
    ),
    Channel(
        key="submissionAccepted",
        address="lb.submissions.{submission_id}.accepted",
        example=Subjects.accepted(EXAMPLE_ID),
        stream=SUBMISSIONS,
        message="SubmissionAccepted",
        payload=SubmissionAccepted,
        summary="A submission passed validation and was stored; its jobs follow.",
        msg_id="accepted:{submission_id}",
        parameters={"submission_id": SUBMISSION_ID},
        senders=(
            Endpoint("submission", "Published after the submission is stored, before its jobs."),
        ),
        receivers=(
            Endpoint(
                "aggregator",
                "Moves the stored submission from `accepted` to `queued`.",
                "aggregator-accepted",
                "lb.submissions.*.accepted",
            ),
        ),
    ),
    Channel(
        key="jobs",
        address="lb.jobs.{priority}.{submission_id}.{task}",
        example=Subjects.job(Priority.NORMAL, EXAMPLE_ID, "BIOSSES"),
        stream=JOBS,
        message="Job",
        payload=Job,
        summary="One work item: evaluate one model revision on one task. The work-queue stream "
        "hands each job to one evaluator and deletes it when acknowledged.",
        msg_id="job:{submission_id}:{task name}",
        parameters={
            "priority": {
                "enum": [priority.value for priority in Priority],
                "description": "Job priority; evaluators fetch `high`, then `normal`, then `low` "
                "(re-evaluations, `leaderboard reevaluate`).",
            },
            "submission_id": SUBMISSION_ID,
            "task": TASK,
        },
        senders=(
            Endpoint("submission", "One job per task of an accepted submission."),
            Endpoint("leaderboard reevaluate", "Low-priority jobs re-evaluating stored results."),
        ),
        receivers=(
            Endpoint(
                "evaluator",
                "Pulls high-priority jobs first; heartbeats while the task runs; acks when done "
                "or dead-lettered.",
                "evaluators-high",
                "lb.jobs.high.>",
            ),
            Endpoint(
                "evaluator",
                "Pulls normal-priority jobs when no high-priority job is waiting.",
                "evaluators-normal",
                "lb.jobs.normal.>",
            ),
            Endpoint(
                "evaluator",
                "Pulls low-priority jobs (re-evaluations) when no other job is waiting.",
                "evaluators-low",
                "lb.jobs.low.>",
            ),
        ),
    ),
    Channel(
        key="status",
        address="lb.status.{submission_id}",
        example=Subjects.status(EXAMPLE_ID),
        stream=RESULTS,
        message="StatusEvent",
        payload=StatusEvent,
        summary="Progress of one task: `running` when an evaluator starts it, `done` after its "
        "result is published, `failed` with a short reason.",
        msg_id="status:{submission_id}:{task name}:{state}:{attempt}",
        parameters={"submission_id": SUBMISSION_ID},
        senders=(Endpoint("evaluator", "Reports each task's state changes."),),
        receivers=(
            Endpoint(
                "aggregator",
                "Updates the task's progress and the submission's status.",
                "aggregator-status",
                "lb.status.>",
            ),
        ),
    ),
    Channel(
        key="results",
        address="lb.results.{submission_id}.{task}",
        example=Subjects.result(EXAMPLE_ID, "BIOSSES"),
        stream=RESULTS,
        message="ResultEvent",
        payload=ResultEvent,
        summary="One finished task: mteb's TaskResult JSON inside a reproducibility envelope.",
        msg_id="result:{submission_id}:{task name}:{attempt}",
        parameters={"submission_id": SUBMISSION_ID, "task": TASK},
        senders=(Endpoint("evaluator", "Publishes the result of each task it finishes."),),
        receivers=(
            Endpoint(
                "aggregator",
                "Stores the result, marks the task done and rebuilds the task's leaderboard.",
                "aggregator-results",
                "lb.results.>",
            ),
        ),
    ),
    Channel(
        key="leaderboardUpdated",
        address="lb.leaderboard.{leaderboard_id}.updated",
        example=Subjects.leaderboard_updated("task:BIOSSES"),
        stream=LEADERBOARD,
        message="LeaderboardUpdated",
        payload=LeaderboardUpdated,
        summary="A materialized leaderboard was replaced. The stream keeps only the latest "
        "message per subject. No service of this project consumes it; it is for outside "
        "subscribers.",
        msg_id="leaderboard:{leaderboard_id}:{version}",
        parameters={
            "leaderboard_id": {
                "description": "The leaderboard id as one subject token, e.g. `task_BIOSSES` "
                "for the leaderboard `task:BIOSSES` (the payload carries the id itself).",
            }
        },
        senders=(Endpoint("aggregator", "After every leaderboard it replaces."),),
    ),
    Channel(
        key="deadLetters",
        address="lb.dlq.{stream}",
        example=Subjects.dead_letter(JOBS.name),
        stream=DLQ,
        message="DeadLetter",
        payload=None,
        summary="Messages that could not be handled, copied byte for byte, with the reason and "
        "original subject in headers. Nothing consumes them; operators inspect them.",
        msg_id="dlq:{stream}:{stream sequence of the original}",
        parameters={
            "stream": {
                "enum": [stream.name for stream in STREAMS if stream is not DLQ],
                "description": "The stream the message was consumed from.",
            }
        },
        senders=(
            Endpoint(
                "aggregator",
                "Invalid payloads at once; messages whose handler failed on every delivery "
                "(from LB_SUBMISSIONS and LB_RESULTS).",
            ),
            Endpoint("evaluator", "Invalid jobs and jobs whose evaluation raised (from LB_JOBS)."),
            Endpoint(
                "submission",
                "Invalid intake requests, and ones whose handling failed on every delivery; "
                "transitions whose webhook failed on every try (from LB_SUBMISSIONS).",
            ),
        ),
    ),
)

TASK_NAME = {"description": "The custom task's name (letters, digits, `_`, `-`)."}
PRIVATE_NOTE = (
    " Under `lb.private.` (stream LB_PRIVATE, which the `outside` NATS user cannot read): "
    "the same payload as its public twin."
)
CHANNELS += (
    Channel(
        key="taskCreated",
        address="lb.tasks.{task}.created",
        example=Subjects.task_event("my-sts", "created", False),
        stream=TASKS,
        message="TaskCreated",
        payload=TaskCreated,
        summary="A public custom task was made, or given a new revision (new data): its "
        "definition, files and revision (the digest of its data).",
        msg_id="task-created:{task}:{time}",
        parameters={"task": TASK_NAME},
        senders=(Endpoint("submission", "After the task's files and document are stored."),),
    ),
    Channel(
        key="taskPublished",
        address="lb.tasks.{task}.published",
        example=Subjects.task_event("my-sts", "published", False),
        stream=TASKS,
        message="TaskPublished",
        payload=TaskPublished,
        summary="A private custom task was made public by its owner or an admin.",
        msg_id="task-published:{task}:{time}",
        parameters={"task": TASK_NAME},
        senders=(Endpoint("submission", "`POST /v1/tasks/{name}/publish`."),),
    ),
    Channel(
        key="taskDeleted",
        address="lb.tasks.{task}.deleted",
        example=Subjects.task_event("my-sts", "deleted", False),
        stream=TASKS,
        message="TaskDeleted",
        payload=TaskDeleted,
        summary="A public custom task was deleted with its data and results (how many went).",
        msg_id="task-deleted:{task}:{time}",
        parameters={"task": TASK_NAME},
        senders=(Endpoint("submission", "`DELETE /v1/tasks/{name}?confirm={name}`."),),
    ),
    Channel(
        key="privateTaskCreated",
        address="lb.private.tasks.{task}.created",
        example=Subjects.task_event("my-sts", "created", True),
        stream=PRIVATE,
        message="PrivateTaskCreated",
        payload=TaskCreated,
        summary="A private custom task was made or given a new revision." + PRIVATE_NOTE,
        msg_id="task-created:{task}:{time}",
        parameters={"task": TASK_NAME},
        senders=(Endpoint("submission", "After the task's files and document are stored."),),
    ),
    Channel(
        key="privateTaskDeleted",
        address="lb.private.tasks.{task}.deleted",
        example=Subjects.task_event("my-sts", "deleted", True),
        stream=PRIVATE,
        message="PrivateTaskDeleted",
        payload=TaskDeleted,
        summary="A private custom task was deleted with its data and results." + PRIVATE_NOTE,
        msg_id="task-deleted:{task}:{time}",
        parameters={"task": TASK_NAME},
        senders=(Endpoint("submission", "`DELETE /v1/tasks/{name}?confirm={name}`."),),
    ),
    Channel(
        key="privateSubmissionAccepted",
        address="lb.private.submissions.{submission_id}.accepted",
        example=Subjects.accepted(EXAMPLE_ID, private=True),
        stream=PRIVATE,
        message="PrivateSubmissionAccepted",
        payload=SubmissionAccepted,
        summary="A private submission (one holding a private custom task, or naming a private "
        "custom benchmark) was accepted; its jobs carry `private: true`." + PRIVATE_NOTE,
        msg_id="accepted:{submission_id}",
        parameters={"submission_id": SUBMISSION_ID},
        senders=(Endpoint("submission", "As `lb.submissions.{submission_id}.accepted`."),),
    ),
    Channel(
        key="privateSubmissionStatus",
        address="lb.private.submissions.{submission_id}.status",
        example=Subjects.submission_status(EXAMPLE_ID, private=True),
        stream=PRIVATE,
        message="PrivateSubmissionStatusChanged",
        payload=SubmissionStatusChanged,
        summary="Every status transition of a private submission." + PRIVATE_NOTE,
        msg_id="transition:{submission_id}:{status}",
        parameters={"submission_id": SUBMISSION_ID},
        senders=(
            Endpoint("submission", "The `accepted` transition."),
            Endpoint("aggregator", "Every later transition it makes."),
        ),
        receivers=(
            Endpoint(
                "submission",
                "POSTs each terminal transition to the submission's `callback_url`, as for "
                "public submissions.",
                "submission-webhooks-private",
                "lb.private.submissions.*.status",
            ),
        ),
    ),
    Channel(
        key="privateSubmissionCancelled",
        address="lb.private.submissions.{submission_id}.cancelled",
        example=Subjects.cancelled(EXAMPLE_ID, private=True),
        stream=PRIVATE,
        message="PrivateSubmissionCancelled",
        payload=SubmissionCancelled,
        summary="A private submission was cancelled." + PRIVATE_NOTE,
        msg_id="cancelled:{submission_id}",
        parameters={"submission_id": SUBMISSION_ID},
        senders=(Endpoint("submission", "Published before the pending jobs are purged."),),
    ),
    Channel(
        key="privateSubmissionRejected",
        address="lb.private.submissions.{submission_id}.rejected",
        example=Subjects.rejected(EXAMPLE_ID, private=True),
        stream=PRIVATE,
        message="PrivateSubmissionRejected",
        payload=SubmissionRejected,
        summary="An intake request naming a private custom task (or benchmark) was refused."
        + PRIVATE_NOTE,
        msg_id="rejected:{submission_id}",
        parameters={"submission_id": SUBMISSION_ID},
        senders=(Endpoint("submission", "For each such refused intake request."),),
    ),
)


def subject_matches(subject: str, pattern: str) -> bool:
    """Whether the concrete `subject` matches the NATS subject `pattern` (`*`, `>`)."""
    tokens, wanted = subject.split("."), pattern.split(".")
    for position, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > position
        if position >= len(tokens) or token not in ("*", tokens[position]):
            return False
    return len(tokens) == len(wanted)


def stream_of(subject: str) -> Stream:
    """The stream of `shared.bus.STREAMS` that captures `subject`."""
    found = [s for s in STREAMS if any(subject_matches(subject, p) for p in s.subjects)]
    if len(found) != 1:
        raise ValueError(f"{subject} is captured by {len(found)} streams")
    return found[0]


def check_channel(channel: Channel) -> None:
    """Fail if `channel` disagrees with `Subjects` (its example) or `STREAMS`."""
    pattern = re.escape(channel.address)
    for name in channel.parameters:
        pattern = pattern.replace(re.escape(f"{{{name}}}"), r"[A-Za-z0-9_-]+")
    if not re.fullmatch(pattern, channel.example):
        raise ValueError(f"{channel.example} does not match {channel.address}")
    if stream_of(channel.example) is not channel.stream:
        raise ValueError(f"{channel.example} is not in stream {channel.stream.name}")


def rewrite_refs(node: Any) -> Any:
    """`node` with every `#/$defs/X` reference turned into `#/components/schemas/X`."""
    if isinstance(node, dict):
        return {
            key: value.replace("#/$defs/", "#/components/schemas/", 1)
            if key == "$ref" and isinstance(value, str)
            else rewrite_refs(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [rewrite_refs(item) for item in node]
    return node


def add_schema(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Put `schema` and its hoisted `$defs` under `schemas`; a clashing definition is an error."""
    schema = dict(schema)
    for def_name, definition in schema.pop("$defs", {}).items():
        add_schema(schemas, def_name, definition)
    schema = rewrite_refs(schema)
    if name in schemas and schemas[name] != schema:
        raise ValueError(f"two different schemas named {name}")
    schemas[name] = schema


def headers_schema(channel: Channel) -> dict[str, Any]:
    """The NATS headers a channel's messages carry."""
    properties: dict[str, Any] = {
        MSG_ID_HEADER: {
            "type": "string",
            "description": "Deduplication key: JetStream drops a second message with the same "
            "id within the stream's duplicate window (the server default, 2 minutes). "
            f"Set to `{channel.msg_id}`.",
        }
    }
    if channel.payload is None:
        properties[REASON_HEADER] = {
            "type": "string",
            "description": "Why the message was dead-lettered, at most 1000 characters. "
            "From the aggregator: `invalid payload: ...` or `handler failed: ...`; from an "
            "evaluator: `invalid job: ...` or `<ExceptionType>: <message>`.",
        }
        properties[ORIGINAL_SUBJECT_HEADER] = {
            "type": "string",
            "description": "The subject the message was originally published to.",
        }
    required = list(properties) if channel.senders else []
    return {"type": "object", "properties": properties, "required": required}


def message(channel: Channel) -> dict[str, Any]:
    """The AsyncAPI message object of a channel."""
    if channel.payload is None:
        return {
            "name": channel.message,
            "title": "Dead letter",
            "summary": "The original message bytes, unchanged.",
            "contentType": "application/octet-stream",
            "payload": {"$ref": f"#/components/schemas/{RAW_PAYLOAD}"},
            "headers": headers_schema(channel),
            "x-nats-msg-id": channel.msg_id,
        }
    doc = (channel.payload.__doc__ or "").strip()
    return {
        "name": channel.message,
        "title": channel.payload.__name__,
        "summary": doc.splitlines()[0] if doc else channel.message,
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{channel.payload.__name__}"},
        "headers": headers_schema(channel),
        "x-nats-msg-id": channel.msg_id,
    }


def operation(channel: Channel, endpoint: Endpoint, action: str) -> dict[str, Any]:
    """An operation: `endpoint.service` sends to or receives from `channel`."""
    op: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel.key}"},
        "messages": [{"$ref": f"#/channels/{channel.key}/messages/{channel.message}"}],
        "summary": f"{endpoint.service} {action}s {channel.message}",
        "description": endpoint.summary,
        "x-service": endpoint.service,
    }
    if endpoint.durable:
        op["x-consumer"] = {
            "stream": channel.stream.name,
            "durable": endpoint.durable,
            "filter_subject": endpoint.filter_subject,
            "kind": "pull",
        }
    return op


def operation_key(channel: Channel, endpoint: Endpoint, action: str) -> str:
    key = f"{endpoint.service}_{action}_{channel.key}"
    return f"{key}_{endpoint.durable.replace('-', '_')}" if endpoint.durable else key


def stream_summary(stream: Stream) -> dict[str, Any]:
    return {
        "subjects": list(stream.subjects),
        "retention": stream.retention.value,
        "max_msgs_per_subject": stream.max_msgs_per_subject,
    }


def build_asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the event contract, from the models in `shared.events`."""
    schemas: dict[str, Any] = {
        RAW_PAYLOAD: {
            "type": "string",
            "format": "binary",
            "description": "The original message bytes, unchanged (usually, but not always, "
            "the JSON payload of the original subject).",
        }
    }
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel in CHANNELS:
        check_channel(channel)
        if channel.payload is not None:
            add_schema(schemas, channel.payload.__name__, channel.payload.model_json_schema())
        messages[channel.message] = message(channel)
        channels[channel.key] = {
            "address": channel.address,
            "title": channel.key,
            "summary": channel.summary,
            "description": f"Stream `{channel.stream.name}` "
            f"({channel.stream.retention.value} retention). {channel.summary}",
            "messages": {channel.message: {"$ref": f"#/components/messages/{channel.message}"}},
            "x-example-subject": channel.example,
            "x-stream": channel.stream.name,
        }
        if channel.parameters:
            channels[channel.key]["parameters"] = channel.parameters
        for action, endpoints in (("send", channel.senders), ("receive", channel.receivers)):
            for endpoint in endpoints:
                operations[operation_key(channel, endpoint, action)] = operation(
                    channel, endpoint, action
                )
    port = Settings.model_fields["embedded_nats_port"].default
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "leaderboard event contract",
            "version": "1",
            "description": "Events between the leaderboard services over NATS JetStream. "
            "Payloads are the pydantic models of `shared/events.py` (JSON, `schema_version` 1); "
            "generated by `python -m services.docs`. See docs/events.md.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": f"127.0.0.1:{port}",
                "protocol": "nats",
                "description": "The nats-server that `leaderboard up` starts when "
                "LEADERBOARD_NATS_URL is unset (JetStream enabled, loopback only).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
        "x-streams": {stream.name: stream_summary(stream) for stream in STREAMS},
    }


def build_openapi() -> dict[str, Any]:
    """The OpenAPI document of the submission API (no server is contacted)."""
    from services.submission.app import create_app

    return create_app(Settings()).openapi()


def type_name(annotation: Any) -> str:
    """A settings field's type as it reads in the docs, e.g. `Path | None`."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " | ".join(type_name(arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def default_text(value: Any) -> str:
    """A default as it reads in the docs; the home folder is written `~`."""
    if value is None:
        return "unset"
    text = str(value)
    home = str(Path.home())
    if isinstance(value, Path) and (text == home or text.startswith(home + "/")):
        text = "~" + text[len(home) :]
    return f"`{text}`"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """The markdown table of every `Settings` field."""
    prefix = Settings.model_config.get("env_prefix", "")
    lines = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        env = f"{prefix}{name}".upper()
        kind = cell(f"`{type_name(field.annotation)}`")
        lines.append(
            f"| `{env}` | {kind} | {cell(default_text(field.default))} "
            f"| {cell(field.description or '')} |"
        )
    return "\n".join(lines) + "\n"


CONFIGURATION_INTRO = """\
# Configuration

Every service reads its settings from the environment through `shared.settings.Settings`
(pydantic-settings): the variable is `LEADERBOARD_` followed by the field name. Names are matched
case-insensitively; unknown `LEADERBOARD_*` variables are ignored. Each process reads them once at
start-up. `leaderboard up` passes its own environment to the services it starts, with the resolved
settings (including the URLs of the embedded servers) written over it.

The table below is generated by `python -m services.docs` from `Settings.model_fields`; change the
field descriptions in `shared/settings.py` and regenerate. `tests/test_docs.py` fails when it is out
of date. Defaults under your home folder are written with `~`.

"""

CONFIGURATION_OTHER = """
## Which service reads what

Names below omit the `LEADERBOARD_` prefix.

- submission: `NATS_URL`, `MONGODB_URL`, `MONGODB_DATABASE`, `STORE_TIMEOUT_S`, `API_HOST`,
  `API_PORT`, `MODELS_DIR`, `SECRET_KEY_FILE` (also signs webhooks), `WEBHOOK_ATTEMPTS`,
  `WEBHOOK_RETRY_BACKOFF_S`, `WEBHOOK_TIMEOUT_S`, `TASK_UPLOAD_MAX_BYTES`, `TASK_MAX_FILE_BYTES`,
  `TASK_MAX_TOTAL_BYTES`, `TASK_MAX_ROWS`, `TASK_MAX_TEXT_CHARS` (custom task uploads).
- every service on the bus: `NATS_URL` (one server, or a cluster's servers comma-separated) and
  `STREAM_REPLICAS` (3 on a 3-node cluster; each service declares the streams when it starts, so
  give every service the same value).
- web: `MONGODB_URL`, `MONGODB_DATABASE`, `STORE_TIMEOUT_S`, `WEB_HOST`, `WEB_PORT`,
  `WEB_DEFAULT_BENCHMARK`, `BOOTSTRAP_RESAMPLES`, and `API_URL` (else `API_HOST`/`API_PORT`) for
  its submit form; `leaderboard up` sets `API_URL` to the API it starts.
- aggregator: `NATS_URL`, `MONGODB_URL`, `MONGODB_DATABASE`, `STORE_TIMEOUT_S`, `METRICS_HOST`,
  `AGGREGATOR_METRICS_PORT`.
- evaluator (`leaderboard worker`): `NATS_URL`, `MODELS_DIR`, `DATASETS_DIR`, `TASK_DATA_DIR`
  (else `DATA_DIR`/task-data), `DEVICE`, `BATCH_SIZE`, `JOB_ACK_WAIT_S`, `JOB_MAX_DELIVER`,
  `EVALUATOR_ID`, `METRICS_HOST`, `EVALUATOR_METRICS_PORT`. It does not use MongoDB.
- `leaderboard up`: `DATA_DIR`, `EMBEDDED_NATS_PORT`, `EMBEDDED_MONGODB_PORT`, the host and port
  settings (it checks every port is free before it starts anything), and passes everything on.
  `leaderboard submit` and `leaderboard status`: `API_URL` (else `API_HOST`/`API_PORT`).
- every service: `LOG_LEVEL`.

## Ports of `/metrics` and `/healthz`

Every service answers `GET /metrics` (Prometheus text format) and `GET /healthz` (JSON naming each
dependency; 200 when all are fine, else 503):

| Service | Where |
|---|---|
| web | `http://WEB_HOST:WEB_PORT` (default 127.0.0.1:8000) |
| submission API | `http://API_HOST:API_PORT` (default 127.0.0.1:8001) |
| aggregator | `http://METRICS_HOST:AGGREGATOR_METRICS_PORT` (default 127.0.0.1:9101) |
| evaluator | `http://METRICS_HOST:EVALUATOR_METRICS_PORT` (default 127.0.0.1:9102) |

Under `leaderboard up --evaluators N`, evaluator i listens on `EVALUATOR_METRICS_PORT + i`. A port
of 0 turns the aggregator's or an evaluator's endpoints off. Two evaluators on one machine outside
`leaderboard up` (`leaderboard worker`) need a port each. The metrics are listed in
docs/operations.md.

`JOB_ACK_WAIT_S` and `JOB_MAX_DELIVER` configure the durable consumers `evaluators-high`,
`evaluators-normal` and `evaluators-low`; every evaluator applies its values to the consumers
when it starts, so set the same values on every evaluator (see docs/operations.md).

## The web pages

The web reads the store only, except its submit form: `POST /submit` (a browser's form post)
forwards the submission to the API at `API_URL` with the API key and any Hub token typed into the
form, which are neither logged nor kept nor shown again, then redirects (303) to the submission's
page, or shows the form again with the API's typed error next to its field (and the API's status).
`/queue` (also `.json`, `.csv`) lists the running tasks (evaluator, elapsed time, encode progress
where reported), the waiting ones with their position, each unfinished submission's jobs ahead and
estimated time left, and recently finished submissions with each failed task's failure class and
reason. Estimates replay the queue (high priority first, then oldest) on the evaluators running
now, each task taking the median `evaluation_time_s` of the results evaluated here for it (the
median over all tasks for one never run here); with no result evaluated here there is none. A
submission's page and the queue refresh themselves (`<meta http-equiv="refresh">`) until done.

Every other page is rendered once per **data version** and kept in the web process (up to 64 MiB,
least recently used out first): the store's `meta` document `data` holds a counter that every write
of results, models, leaderboards and snapshots increments, and the web reads it at most every
0.25 s. Kept pages carry a weak `ETag` (a hash of the body) and `Cache-Control: no-cache`, so
browsers revalidate and get `304 Not Modified` while nothing changed. Error answers, the queue, the
submission pages and `/healthz` are never kept. Every HTML, JSON, CSV or SVG answer of 500 bytes
or more is sent gzip-compressed to clients that accept it.

## Other environment variables

Our code does not read these; the libraries it uses (huggingface_hub, datasets,
sentence-transformers) and the tests do.

- `HF_HOME` (huggingface_hub, datasets): the cache folder, default `~/.cache/huggingface`. It
  holds models downloaded by evaluators and the Arrow copies `datasets` makes of task data,
  including data read from `LEADERBOARD_DATASETS_DIR`. Use a fresh one after editing local data
  files, or a stale copy may be served.
- `HF_HUB_OFFLINE` (huggingface_hub): `1` makes no calls to the Hub. The submission service then
  accepts only models found in `LEADERBOARD_MODELS_DIR` and refuses others with
  `model_not_found`; evaluators load models from the mirror or the `HF_HOME` cache.
- `HF_DATASETS_OFFLINE` (datasets): `1` downloads no datasets; task data must then be in
  `LEADERBOARD_DATASETS_DIR` or already cached.
- `HF_ENDPOINT` (huggingface_hub): base URL of the Hub (a mirror or a private Hub) for model
  look-ups and downloads.
- `HF_TOKEN` (huggingface_hub): the token sent to the Hub. It lets the submission service see,
  and evaluators download, private or gated models the token can read. It belongs to the
  deployment: the API has no per-submission token.
- `MONGODB_URL` (tests only): points the store tests (`tests/conftest.py`,
  `tests/shared/test_store_conformance.py`) at another MongoDB, e.g. a real `mongod`, instead of an
  embedded `nx-27017`. The services ignore it; they read `LEADERBOARD_MONGODB_URL`.
"""


def configuration_markdown() -> str:
    """docs/configuration.md: intro, the generated settings table, the other variables."""
    return (
        CONFIGURATION_INTRO
        + f"{SETTINGS_START}\n{settings_table()}{SETTINGS_END}\n"
        + CONFIGURATION_OTHER
    )


def dump_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_docs(docs_dir: Path) -> list[Path]:
    """Write asyncapi.json, openapi.json and configuration.md into `docs_dir`; return the paths."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    contents = {
        "asyncapi.json": dump_json(build_asyncapi()),
        "openapi.json": dump_json(build_openapi()),
        "configuration.md": configuration_markdown(),
    }
    written = []
    for name, text in contents.items():
        path = docs_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_docs(DOCS_DIR):
        print(path)
