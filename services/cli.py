"""The `leaderboard` command: run the stack, submit models, follow them."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IMPORTED_PREFIX = "result:"
"""How the API names the holder of a duplicate that is an imported result, not a submission
(`services.submission.duplicates.IMPORTED`, not imported here: it pulls in the store's models)."""


def interrupt(*_: object) -> None:
    """SIGTERM stops `up` as Ctrl-C does."""
    raise KeyboardInterrupt


def say(message: str) -> None:
    print(f"up: {message}", flush=True)


class ApiUnreachable(Exception):
    """The submission API did not answer at all."""


class ApiError(Exception):
    """The submission API refused a request the command needs."""


def cmd_up(args: argparse.Namespace) -> int:
    from services.stack import PortsInUse, start_stack
    from shared.settings import get_settings

    settings = get_settings()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in background
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    print("starting the leaderboard stack…", flush=True)
    try:
        stack = start_stack(
            settings, evaluators=args.evaluators, log_dir=settings.data_dir / "logs", echo=True
        )
    except KeyboardInterrupt:
        print("stopped during start-up", flush=True)
        return 130
    except (PortsInUse, RuntimeError, TimeoutError, OSError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    print(f"web:            {stack.web_url}", flush=True)
    print(f"submission API: {stack.api_url}", flush=True)
    for process in stack.processes():
        say(f"{process.label} running (pid {process.pid})")
    print("Ctrl-C stops everything.", flush=True)
    try:
        while True:
            stack.supervise(say)
            time.sleep(0.5)
    except KeyboardInterrupt:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        print("stopping…", flush=True)
        stack.stop()
        print("stopped", flush=True)
        sys.stderr.flush()
        os._exit(0)  # nothing left to clean up; the interpreter's own teardown takes seconds


def api_key() -> str | None:
    """The key to send: LEADERBOARD_API_KEY, else the key file (`leaderboard up` writes one)."""
    from shared.settings import get_settings

    settings = get_settings()
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    if settings.api_key_file.is_file():
        return settings.api_key_file.read_text().strip() or None
    return None


@dataclass(frozen=True)
class Answer:
    """An answer of the submission API."""

    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def api(method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
    """The submission API's answer to a JSON request; raises ApiUnreachable when there is none.

    The standard library's client: the CLI's few calls need no more, and it keeps the light
    commands' start-up short (httpx alone takes longer to import than the budget allows)."""
    data = None if body is None else json.dumps(body).encode()
    return send(method, path, data, {"Content-Type": "application/json"})


def send(
    method: str, path: str, data: Any, headers: dict[str, str], timeout: float = 60.0
) -> Answer:
    """The API's answer to a request of `data` (bytes, an iterable of bytes, or None), sent
    with the API key."""
    from shared.settings import get_settings

    key = api_key()
    headers = headers | ({"Authorization": f"Bearer {key}"} if key else {})
    url = get_settings().submission_api_url()
    request = urllib.request.Request(f"{url}{path}", data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Answer(reply.status, reply.read().decode())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.read().decode())
    except OSError as error:  # refused, unreachable, timed out (URLError is an OSError)
        raise ApiUnreachable(f"cannot reach the submission API at {url}: {error}") from error


def fail(response: Answer) -> int:
    """Print the API's typed error (with the file, line and field it names) and return 1."""
    try:
        error = response.json()["error"]
        where = ", ".join(
            f"{name} {error[name]}" for name in ("file", "line", "field") if error.get(name)
        )
        suffix = f" ({where})" if where else ""
        print(
            f"error {response.status_code} {error['code']}: {error['message']}{suffix}",
            file=sys.stderr,
        )
    except (ValueError, KeyError, TypeError):
        print(f"error {response.status_code}: {response.text}", file=sys.stderr)
    return 1


def cmd_submit(args: argparse.Namespace) -> int:
    body = {
        "model": args.model,
        "revision": args.revision,
        "tasks": [task.strip() for task in args.tasks.split(",") if task.strip()]
        if args.tasks
        else None,
        "benchmark": args.benchmark,
    }
    response = api("POST", "/v1/submissions", body)
    if response.status_code == 409 and (existing := duplicate_of(response)):
        print(existing)
        print(f"every task asked for is covered by submission {existing}", file=sys.stderr)
        return wait_for(existing, args) if args.wait else 0
    if response.status_code != 202:
        return fail(response)
    created = response.json()
    print(created["id"], flush=True)
    print(
        f"{created['status']}: {created['model']}@{created['revision']}, "
        f"{len(created['tasks'])} task(s)",
        file=sys.stderr,
    )
    for task, holder in created.get("duplicates", {}).items():
        print(f"skipped {task}: {holder_text(holder)}", file=sys.stderr)
    return wait_for(created["id"], args) if args.wait else 0


def duplicate_of(response: Answer) -> str | None:
    """The submission a `duplicate` refusal names, if any."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return None
    return error.get("submission_id") if error.get("code") == "duplicate" else None


def holder_text(holder: str) -> str:
    if holder.startswith(IMPORTED_PREFIX):
        return f"an imported result holds it ({holder.removeprefix(IMPORTED_PREFIX)})"
    return f"submission {holder} holds it"


def read_submission(submission_id: str) -> dict[str, Any]:
    response = api("GET", f"/v1/submissions/{submission_id}")
    if response.status_code != 200:
        raise ApiError(
            f"reading submission {submission_id}: {response.status_code} {response.text}"
        )
    return response.json()  # type: ignore[no-any-return]


def wait_for(submission_id: str, args: argparse.Namespace) -> int:
    """Follow the submission to its end; its final status as the exit status."""
    from services.follow import EXIT_CODES, follow

    out = sys.stdout if args.format == "text" else sys.stderr
    try:
        final = follow(lambda: read_submission(submission_id), out, args.interval, args.timeout)
    except TimeoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(final, indent=2))
    else:
        reason = f" ({final['reason']})" if final.get("reason") else ""
        print(f"{submission_id} {final['status']}{reason}")
    return EXIT_CODES[final["status"]]


def cmd_status(args: argparse.Namespace) -> int:
    from services.follow import EXIT_CODES, task_line

    response = api("GET", f"/v1/submissions/{args.id}")
    if response.status_code != 200:
        return fail(response)
    submission = response.json()
    if args.format == "json":
        print(json.dumps(submission, indent=2))
    else:
        reason = f" ({submission['reason']})" if submission.get("reason") else ""
        print(
            f"{submission['id']}  {submission['model']}@{submission['revision']}  "
            f"{submission['status']}{reason}"
        )
        for task in submission["tasks"]:
            print(task_line(task))
    return EXIT_CODES.get(submission["status"], 0)


def cmd_cancel(args: argparse.Namespace) -> int:
    response = api("DELETE", f"/v1/submissions/{args.id}")
    if response.status_code != 202:
        return fail(response)
    print(f"cancelling {args.id}", file=sys.stderr)
    return 0


def cmd_worker(_: argparse.Namespace) -> int:
    from services.evaluator.__main__ import main as evaluator_main
    from shared.logs import configure_logging

    configure_logging()
    asyncio.run(evaluator_main())
    return 0


def add_format(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="json: the submission as the API returns it, on stdout (progress on stderr)",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="leaderboard", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    up = commands.add_parser(
        "up", help="start the whole stack (embedded servers unless URLs are set)"
    )
    up.add_argument(
        "--evaluators",
        type=int,
        default=1,
        help="evaluator processes to start (with LEADERBOARD_DEVICE=cuda and several GPUs, "
        "each gets its own GPU through CUDA_VISIBLE_DEVICES, round-robin)",
    )
    up.set_defaults(run=cmd_up)

    submit = commands.add_parser("submit", help="submit a model; prints the submission id")
    submit.add_argument("model", help="Hub model id org/name")
    submit.add_argument("--revision", help="branch, tag or commit (default: main)")
    which = submit.add_mutually_exclusive_group(required=True)
    which.add_argument("--tasks", help="comma-separated MTEB task names")
    which.add_argument("--benchmark", help="an MTEB benchmark name")
    submit.add_argument(
        "--wait",
        action="store_true",
        help="follow the run, print each task's score as it lands; exit 0 only when every "
        "task is done, 1 when any failed or was cancelled, 2 when it could not be followed",
    )
    submit.add_argument(
        "--interval", type=float, default=2.0, help="seconds between reads with --wait"
    )
    submit.add_argument(
        "--timeout",
        type=float,
        default=0.0,
        help="give up --wait after this many seconds (0: never)",
    )
    add_format(submit)
    submit.set_defaults(run=cmd_submit)

    status = commands.add_parser(
        "status",
        help="a submission's status and per-task progress; exit status 1 when it failed or "
        "was cancelled",
    )
    status.add_argument("id")
    add_format(status)
    status.set_defaults(run=cmd_status)

    worker = commands.add_parser("worker", help="run one evaluator against LEADERBOARD_NATS_URL")
    worker.set_defaults(run=cmd_worker)

    cancel = commands.add_parser("cancel", help="cancel a submission (admin or submitting key)")
    cancel.add_argument("id")
    cancel.set_defaults(run=cmd_cancel)

    from services.task_commands import add_parsers as add_task_parsers

    add_task_parsers(commands)

    from services.submission.keys import add_parser as add_keys_parser

    add_keys_parser(commands)

    from services.submission.reevaluate_command import add_parser as add_reevaluate_parser

    add_reevaluate_parser(commands)

    from services.aggregator.command_line import add_parsers as add_aggregation_parsers

    add_aggregation_parsers(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ApiUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
