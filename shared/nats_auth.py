"""NATS authorization by NATS's own means: one user per service, each allowed its own subjects.

`leaderboard up` writes, into its data folder, a nats-server configuration holding these users
and one credentials file per user (owner-only), `outside` among them: the user other systems
get. It may publish submissions, receive its answers in inboxes and read the public streams;
nothing else: never the private stream (`lb.private.>`: private tasks and the submissions that
hold one) nor the custom tasks' files (the object store). Connections without credentials get
nothing. An external NATS cluster takes the
same permissions (`server_config`, docs/operations.md).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from shared.bus import LEADERBOARD, RESULTS, TASKS, private_inbox
from shared.events import Subjects
from shared.task_data import BUCKET


@dataclass(frozen=True)
class Permissions:
    """The subjects a user may publish to and subscribe to (NATS wildcards)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


SERVICE_PUBLISH = ("$JS.API.>", "$JS.ACK.>", "lb.dlq.>")
"""What every service needs: JetStream's API (streams, consumers, fetches), acks, dead letters."""
INBOXES = ("_INBOX.>",)
"""Where the outside user's replies arrive: JetStream's answers, the door's answers. Each
service has a prefix of its own (`shared.bus.private_inbox`): messages it fetches pass there."""
PUBLIC_STREAMS = (RESULTS.name, LEADERBOARD.name, TASKS.name)
PUBLIC_SUBJECTS = (
    "lb.results.>",
    "lb.status.>",
    "lb.leaderboard.>",
    "lb.submissions.*.accepted",
    "lb.submissions.*.rejected",
    "lb.submissions.*.cancelled",
    "lb.submissions.*.status",
    "lb.tasks.>",
)
"""What outside systems may read: results, statuses, leaderboards, decisions and public tasks'
events, never the intake subject (its messages carry keys and tokens) nor `lb.private.>`."""
TASK_DATA_STREAM = f"OBJ_{BUCKET}"
"""The stream of the custom tasks' files (`shared.task_data`)."""
TASK_DATA_WRITES = f"$O.{BUCKET}.>"
"""The object store's chunk and meta subjects: publishing there stores (or deletes) files."""
TASK_DATA_READS = f"$JS.FC.{TASK_DATA_STREAM}.>"
"""The flow control answers of the ordered consumer reading a file: without them a file of
more than a few chunks stalls (the JetStream API calls are in `SERVICE_PUBLISH`)."""


def reading(stream: str) -> tuple[str, ...]:
    """The JetStream API subjects of reading `stream` with consumers of one's own."""
    api = "$JS.API"
    return (
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.STREAM.MSG.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}.>",
        f"{api}.CONSUMER.CREATE.{stream}",
        f"{api}.CONSUMER.CREATE.{stream}.>",
        f"{api}.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"{api}.CONSUMER.INFO.{stream}.>",
        f"{api}.CONSUMER.DELETE.{stream}.>",
        f"{api}.CONSUMER.MSG.NEXT.{stream}.>",
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    )


ROLES: dict[str, Permissions] = {
    "submission": Permissions(
        publish=(
            *SERVICE_PUBLISH,
            "lb.submissions.>",
            "lb.jobs.>",
            "lb.tasks.>",
            "lb.private.submissions.>",
            "lb.private.tasks.>",
            TASK_DATA_WRITES,
            TASK_DATA_READS,
            *INBOXES,
        ),
        subscribe=(f"{private_inbox('submission')}.>",),
    ),
    "evaluator": Permissions(
        publish=(
            *SERVICE_PUBLISH,
            "lb.status.>",
            "lb.results.>",
            "lb.private.status.>",
            "lb.private.results.>",
            TASK_DATA_READS,
        ),
        subscribe=(f"{private_inbox('evaluator')}.>",),
    ),
    "aggregator": Permissions(
        publish=(
            *SERVICE_PUBLISH,
            "lb.leaderboard.>",
            "lb.submissions.*.status",
            "lb.private.leaderboard.>",
            "lb.private.submissions.*.status",
        ),
        subscribe=(f"{private_inbox('aggregator')}.>",),
    ),
    "outside": Permissions(
        publish=(
            Subjects.INTAKE,
            "$JS.API.INFO",
            *(subject for stream in PUBLIC_STREAMS for subject in reading(stream)),
        ),
        subscribe=(*INBOXES, *PUBLIC_SUBJECTS),
    ),
}
"""Each user and what it may do; the services connect as the user of their name."""


@dataclass(frozen=True)
class Login:
    """A NATS user and its password."""

    user: str
    password: str


def server_config(logins: dict[str, Login]) -> dict[str, object]:
    """nats-server's `authorization` block for `logins` (JSON is valid NATS configuration)."""
    users = [
        {
            "user": login.user,
            "password": login.password,
            "permissions": {
                "publish": {"allow": list(ROLES[role].publish)},
                "subscribe": {"allow": list(ROLES[role].subscribe)},
            },
        }
        for role, login in logins.items()
    ]
    return {"authorization": {"users": users}}


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (also when it existed)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def credentials_file(data_dir: Path, role: str) -> Path:
    return data_dir / "nats-credentials" / f"{role}.json"


def read_login(path: Path) -> Login:
    """A credentials file as `prepare` writes it: `{"user": …, "password": …}`."""
    fields = json.loads(path.read_text())
    return Login(user=fields["user"], password=fields["password"])


def prepare(data_dir: Path) -> tuple[Path, dict[str, Login]]:
    """The server configuration and every user's login, made at first start and kept."""
    logins: dict[str, Login] = {}
    for role in ROLES:
        path = credentials_file(data_dir, role)
        if not path.is_file():
            login = Login(user=role, password=secrets.token_urlsafe(32))
            write_private(path, json.dumps({"user": login.user, "password": login.password}))
        logins[role] = read_login(path)
    config = data_dir / "nats-auth.conf"
    write_private(config, json.dumps(server_config(logins), indent=2))
    return config, logins


def service_env(service: str, logins: dict[str, Login]) -> dict[str, str]:
    """The settings that make `service` connect as its own user (none for those without one)."""
    login = logins.get(service)
    if login is None or service == "outside":
        return {}
    return {"LEADERBOARD_NATS_USER": login.user, "LEADERBOARD_NATS_PASSWORD": login.password}


if __name__ == "__main__":  # `python -m shared.nats_auth DIR`: users for an external server
    written, _ = prepare(Path(sys.argv[1]))
    print(written)
