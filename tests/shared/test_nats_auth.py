"""The embedded nats-server's users, tried as an attacker would: forged results, statuses and
cancellations from the outside user are refused by NATS itself, private events and custom tasks'
files stay out of its reach, anonymous connections get nothing, and every service can still do
its work as its own user."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.errors import NoServersError

from shared.bus import JOBS, LEADERBOARD, PRIVATE, RESULTS, SUBMISSIONS, TASKS, Bus
from shared.custom_tasks.spec import TaskSpec, TaskType
from shared.embedded import free_port, start_nats, stop
from shared.events import (
    Job,
    Priority,
    StatusEvent,
    Subjects,
    SubmissionAccepted,
    SubmissionCancelled,
    TaskState,
)
from shared.nats_auth import (
    ROLES,
    TASK_DATA_STREAM,
    Login,
    credentials_file,
    prepare,
    read_login,
)
from shared.task_data import BUCKET, TaskData, manifest


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Login]]]:
    """A nats-server configured as `leaderboard up` configures its own; URL and logins."""
    data_dir = tmp_path_factory.mktemp("secured")
    config, logins = prepare(data_dir)
    port = free_port()
    server = start_nats(data_dir / "nats", port, config)
    yield f"nats://127.0.0.1:{port}", logins
    stop(server)


@pytest.fixture(scope="module")
async def services(
    secured: tuple[str, dict[str, Login]],
) -> AsyncIterator[dict[str, Bus]]:
    """Each service connected as its own user (which declares the streams)."""
    url, logins = secured
    buses = {
        role: await Bus.connect(url, role, user=logins[role].user, password=logins[role].password)
        for role in ("submission", "evaluator", "aggregator")
    }
    yield buses
    for bus in buses.values():
        await bus.close()


class Outsider:
    """A client as the outside user, collecting the errors the server sends it."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.client: Client | None = None

    async def connect(self, url: str, login: Login) -> Client:
        async def on_error(error: Exception) -> None:
            self.errors.append(str(error))

        self.client = await nats.connect(
            url, user=login.user, password=login.password, error_cb=on_error
        )
        return self.client

    async def violations(self, subject: str) -> list[str]:
        """The permission violations naming `subject`, waiting a little for them."""
        for _ in range(50):
            found = [  # nats-py reports the server's error in lower case
                error
                for error in self.errors
                if "permissions violation" in error.lower() and subject.lower() in error.lower()
            ]
            if found:
                return found
            await asyncio.sleep(0.1)
        return []


@pytest.fixture
async def outsider(secured: tuple[str, dict[str, Login]]) -> AsyncIterator[Outsider]:
    url, logins = secured
    outside = Outsider()
    await outside.connect(url, logins["outside"])
    yield outside
    assert outside.client is not None
    await outside.client.close()


async def last_seq(bus: Bus, stream: str) -> int:
    return int((await bus.js.stream_info(stream)).state.last_seq)


FORGERIES = [
    pytest.param(
        Subjects.result("s1", "BIOSSES"),
        b'{"schema_version": 1, "submission_id": "s1", "main_score": 1.5}',
        RESULTS.name,
        id="result",
    ),
    pytest.param(
        Subjects.status("s1"),
        StatusEvent(submission_id="s1", task="BIOSSES", state=TaskState.FAILED, evaluator_id="e")
        .model_dump_json()
        .encode(),
        RESULTS.name,
        id="status",
    ),
    pytest.param(
        Subjects.cancelled("s1"),
        SubmissionCancelled(submission_id="s1").model_dump_json().encode(),
        SUBMISSIONS.name,
        id="cancel",
    ),
    pytest.param("lb.jobs.high.s1.BIOSSES", b"{}", JOBS.name, id="job"),
    pytest.param("lb.leaderboard.task-x.updated", b"{}", LEADERBOARD.name, id="leaderboard"),
]


@pytest.mark.parametrize(("subject", "payload", "stream"), FORGERIES)
async def test_the_outside_user_cannot_forge_events(
    services: dict[str, Bus], outsider: Outsider, subject: str, payload: bytes, stream: str
) -> None:
    before = await last_seq(services["aggregator"], stream)
    assert outsider.client is not None
    await outsider.client.publish(subject, payload, headers={"Nats-Msg-Id": "result:s1:BIOSSES"})
    await outsider.client.flush()
    assert await outsider.violations(subject)
    assert await last_seq(services["aggregator"], stream) == before


async def test_the_outside_user_submits_and_reads_public_subjects_only(
    services: dict[str, Bus], outsider: Outsider
) -> None:
    client = outsider.client
    assert client is not None
    results = await client.subscribe("lb.results.>")
    await client.flush()  # the subscription reached the server
    await services["evaluator"].js.publish(Subjects.result("s2", "BIOSSES"), b"{}")
    assert (await results.next_msg(timeout=10)).subject == Subjects.result("s2", "BIOSSES")
    ack = await client.jetstream().publish(Subjects.INTAKE, b"{}")
    assert ack.stream == SUBMISSIONS.name
    await client.subscribe(Subjects.INTAKE)
    await client.flush()
    assert await outsider.violations(Subjects.INTAKE)  # keys and tokens travel there


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("evaluator", "lb.leaderboard.x.updated"),
        ("evaluator", Subjects.cancelled("s3")),
        ("submission", Subjects.result("s3", "BIOSSES")),
        ("aggregator", Subjects.status("s3")),
        ("aggregator", "lb.jobs.normal.s3.BIOSSES"),
        ("evaluator", Subjects.cancelled("s3", private=True)),
        ("evaluator", Subjects.task_event("t3", "created", private=False)),
        ("submission", Subjects.result("s3", "t3", private=True)),
        ("aggregator", Subjects.status("s3", private=True)),
        ("aggregator", Subjects.task_event("t3", "deleted", private=True)),
        ("evaluator", f"$O.{BUCKET}.C.forged"),  # evaluators read task files, never write
        ("aggregator", f"$O.{BUCKET}.M.forged"),
    ],
)
async def test_each_service_publishes_only_what_it_produces(
    secured: tuple[str, dict[str, Login]], role: str, subject: str
) -> None:
    url, logins = secured
    service = Outsider()  # the same error collection, as another user
    client = await service.connect(url, logins[role])
    try:
        await client.publish(subject, b"{}")
        await client.flush()
        assert await service.violations(subject)
    finally:
        await client.close()


async def test_services_do_their_work_as_their_users(services: dict[str, Bus]) -> None:
    submission, evaluator, aggregator = (
        services[role] for role in ("submission", "evaluator", "aggregator")
    )
    accepted = SubmissionAccepted(submission_id="s4", model="o/m", revision="r", tasks=["BIOSSES"])
    await submission.publish(Subjects.accepted("s4"), accepted, "accepted:s4")
    job = Job(submission_id="s4", model="o/m", revision="r", task="BIOSSES")
    await submission.publish(Subjects.job(Priority.NORMAL, "s4", "BIOSSES"), job, "job:s4:BIOSSES")
    ack = await submission.js.publish(Subjects.rejected("s5"), b"{}")
    await submission.js.delete_msg(SUBMISSIONS.name, ack.seq)  # as the door forgets requests
    pull = await evaluator.pull(JOBS, "auth-test", "lb.jobs.normal.s4.>")
    [msg] = await pull.fetch(1, timeout=10)
    await msg.in_progress()
    await msg.ack()
    await evaluator.js.get_last_msg(SUBMISSIONS.name, Subjects.accepted("s4"))
    status = StatusEvent(submission_id="s4", task="BIOSSES", state=TaskState.DONE, evaluator_id="e")
    await evaluator.publish(Subjects.status("s4"), status, "status:s4")
    await aggregator.js.publish(Subjects.submission_status("s4"), b"{}")
    await aggregator.js.publish(Subjects.leaderboard_updated("task-BIOSSES"), b"{}")
    updates = await aggregator.pull(RESULTS, "auth-aggregator", "lb.status.s4")
    [update] = await updates.fetch(1, timeout=10)
    await update.ack()


async def anonymous_is_refused(url: str) -> bool:
    """Whether a connection without credentials to `url` is refused."""
    try:
        client = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0)
    except (NoServersError, nats.errors.Error, OSError):
        return True
    await client.close()
    return False


async def test_anonymous_connections_get_nothing(secured: tuple[str, dict[str, Login]]) -> None:
    url, _ = secured
    assert await anonymous_is_refused(url)


def test_credentials_and_configuration_are_owner_only_and_kept(tmp_path: Path) -> None:
    config, logins = prepare(tmp_path)
    again, same = prepare(tmp_path)
    assert same == logins and again == config
    files = [config, *(credentials_file(tmp_path, role) for role in ROLES)]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert read_login(credentials_file(tmp_path, "outside")) == logins["outside"]
    users = json.loads(config.read_text())["authorization"]["users"]
    assert sorted(user["user"] for user in users) == sorted(ROLES)


async def test_the_outside_user_never_sees_what_a_service_fetches(
    services: dict[str, Bus], outsider: Outsider
) -> None:
    """Fetched intake requests (keys, tokens) arrive in the submission service's own inboxes."""
    client = outsider.client
    assert client is not None
    seen = await client.subscribe("_INBOX.>")
    await client.subscribe("_INBOX_submission.>")
    await client.flush()
    assert await outsider.violations("_INBOX_submission.>")
    secret = b'{"hf_token": "hf_FetchedSecret0123456789"}'
    await client.jetstream().publish(Subjects.INTAKE, secret, headers={"Authorization": "k"})
    intake = await services["submission"].pull(SUBMISSIONS, "auth-intake", Subjects.INTAKE)
    fetched = await intake.fetch(10, timeout=10)
    assert secret in [msg.data for msg in fetched]
    for msg in fetched:
        await msg.ack()
    await asyncio.sleep(0.5)
    leaked = []
    while True:
        try:
            leaked.append((await seen.next_msg(timeout=0.2)).data)
        except nats.errors.TimeoutError:
            break
    assert not [data for data in leaked if b"FetchedSecret" in data]


REFUSED = (nats.errors.TimeoutError, nats.errors.NoRespondersError, asyncio.TimeoutError)
"""What a JetStream request the server refused raises: no answer comes."""


def task_files(folder: Path, size: int) -> tuple[Path, TaskSpec]:
    """A task folder of random bytes (`size` for the larger file) and its spec."""
    folder.mkdir(parents=True)
    (folder / "README.md").write_bytes(os.urandom(100))
    (folder / "test.jsonl").write_bytes(os.urandom(size))
    files = manifest(folder)
    spec = TaskSpec(
        name="auth-task",
        type=TaskType.STS,
        main_score="cosine_spearman",
        files=files,
        revision=TaskSpec.manifest_revision(files),
    )
    return folder, spec


async def test_the_outside_user_cannot_read_private_events_nor_task_files(
    services: dict[str, Bus], outsider: Outsider, tmp_path: Path
) -> None:
    private_result = Subjects.result("s7", "secret-task", private=True)
    await services["evaluator"].js.publish(private_result, b'{"main_score": 0.5}')
    folder, spec = task_files(tmp_path / "task", 1000)
    stored = await TaskData(services["submission"]).put(folder, spec.files)
    client = outsider.client
    assert client is not None
    js = client.jetstream(timeout=1.0)
    meta = f"$O.{BUCKET}.M.>"
    attempts: dict[str, Callable[[], Awaitable[object]]] = {
        f"STREAM.MSG.GET.{PRIVATE.name}": lambda: js.get_last_msg(PRIVATE.name, private_result),
        f"DIRECT.GET.{PRIVATE.name}": lambda: js.get_last_msg(
            PRIVATE.name, private_result, direct=True
        ),
        f"CREATE.{PRIVATE.name}": lambda: js.pull_subscribe("lb.private.>", stream=PRIVATE.name),
        f"STREAM.INFO.{TASK_DATA_STREAM}": lambda: js.object_store(BUCKET),
        f"STREAM.MSG.GET.{TASK_DATA_STREAM}": lambda: js.get_last_msg(TASK_DATA_STREAM, meta),
        f"DIRECT.GET.{TASK_DATA_STREAM}": lambda: js.get_last_msg(
            TASK_DATA_STREAM, meta, direct=True
        ),
        f"CREATE.{TASK_DATA_STREAM}": lambda: js.subscribe(
            f"$O.{BUCKET}.C.>", stream=TASK_DATA_STREAM, ordered_consumer=True
        ),
    }
    try:
        for subject, attempt in attempts.items():
            with pytest.raises(REFUSED):
                await attempt()
            assert await outsider.violations(subject), subject
        seen = []
        for subject in ("lb.private.>", f"$O.{BUCKET}.>", ">"):
            seen.append(await client.subscribe(subject))
            await client.flush()
            assert await outsider.violations(subject), (subject, outsider.errors)
        await services["evaluator"].js.publish(private_result, b'{"main_score": 0.5}')
        for subscription in seen:
            with pytest.raises(nats.errors.TimeoutError):
                await subscription.next_msg(timeout=0.5)
    finally:
        await TaskData(services["submission"]).delete(stored)


async def test_the_outside_user_reads_public_task_events_only(
    services: dict[str, Bus], outsider: Outsider
) -> None:
    submission = services["submission"]
    await submission.js.publish(Subjects.task_event("hidden", "created", private=True), b"{}")
    await submission.js.publish(Subjects.task_event("shown", "published", private=False), b"{}")
    client = outsider.client
    assert client is not None
    events = await client.jetstream().pull_subscribe(
        "lb.tasks.>", durable="outside-tasks", stream=TASKS.name
    )
    [event] = await events.fetch(1, timeout=30)
    assert event.subject == "lb.tasks.shown.published"
    await event.ack()
    live = await client.subscribe("lb.tasks.>")
    await client.flush()
    await submission.js.publish(Subjects.task_event("shown", "deleted", private=False), b"{}")
    assert (await live.next_msg(timeout=30)).subject == "lb.tasks.shown.deleted"


async def test_task_files_are_put_by_the_submission_service_and_fetched_by_evaluators(
    services: dict[str, Bus], tmp_path: Path
) -> None:
    """A file of many chunks: the evaluator's reads answer the object store's flow control."""
    folder, spec = task_files(tmp_path / "task", 4 * 2**20 + 3)
    stored = await TaskData(services["submission"]).put(folder, spec.files)
    assert sorted(stored) == sorted(spec.files.values())
    try:
        fetched = await asyncio.wait_for(
            TaskData(services["evaluator"]).fetch(spec, tmp_path / "cache"), timeout=60
        )
        assert manifest(fetched) == spec.files
        assert (fetched / "test.jsonl").read_bytes() == (folder / "test.jsonl").read_bytes()
    finally:
        await TaskData(services["submission"]).delete(stored)
    assert not await TaskData(services["evaluator"]).holds(spec.files["test.jsonl"])


async def test_services_publish_private_events_as_their_users(services: dict[str, Bus]) -> None:
    submission, evaluator, aggregator = (
        services[role] for role in ("submission", "evaluator", "aggregator")
    )
    published = [
        (submission, Subjects.accepted("s8", private=True)),
        (submission, Subjects.cancelled("s8", private=True)),
        (submission, Subjects.task_event("t8", "created", private=True)),
        (submission, Subjects.task_event("t8", "published", private=False)),
        (evaluator, Subjects.status("s8", private=True)),
        (evaluator, Subjects.result("s8", "t8", private=True)),
        (aggregator, Subjects.submission_status("s8", private=True)),
        (aggregator, Subjects.leaderboard_updated("task-t8", private=True)),
    ]
    for bus, subject in published:
        ack = await bus.js.publish(subject, b"{}")
        assert ack.stream == (TASKS.name if subject.startswith("lb.tasks.") else PRIVATE.name)
    accepted = await evaluator.js.get_last_msg(PRIVATE.name, Subjects.accepted("s8", True))
    assert accepted.subject == Subjects.accepted("s8", private=True)
    updates = await aggregator.pull(PRIVATE, "auth-private", "lb.private.results.s8.>")
    [update] = await updates.fetch(1, timeout=10)
    await update.ack()
