"""The `leaderboard` command: run the stack, submit models, follow them."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

import httpx

from shared.settings import get_settings


def interrupt(*_: object) -> None:
    """SIGTERM stops `up` as Ctrl-C does."""
    raise KeyboardInterrupt


def cmd_up(args: argparse.Namespace) -> int:
    from services.stack import start_stack

    settings = get_settings()
    print("starting the leaderboard stack…", flush=True)
    stack = start_stack(settings, evaluators=args.evaluators)
    print(f"web:            {stack.web_url}", flush=True)
    print(f"submission API: {stack.api_url}", flush=True)
    print("Ctrl-C stops everything.", flush=True)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        while not stack.failed():
            time.sleep(1.0)
        print(f"a service exited: {stack.failed()}; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping…", flush=True)
        return 0
    finally:
        stack.stop()


def api_key() -> str | None:
    """The key to send: LEADERBOARD_API_KEY, else the key file (`leaderboard up` writes one)."""
    settings = get_settings()
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    if settings.api_key_file.is_file():
        return settings.api_key_file.read_text().strip() or None
    return None


def api(method: str, path: str, **kwargs: Any) -> httpx.Response:
    key = api_key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(
        method,
        f"{get_settings().submission_api_url()}{path}",
        timeout=60.0,
        headers=headers,
        **kwargs,
    )


def fail(response: httpx.Response) -> int:
    try:
        error = response.json()["error"]
        print(f"error {response.status_code} {error['code']}: {error['message']}", file=sys.stderr)
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
    response = api("POST", "/v1/submissions", json=body)
    if response.status_code != 202:
        return fail(response)
    created = response.json()
    print(created["id"])
    print(
        f"{created['status']}: {created['model']}@{created['revision']}, "
        f"{len(created['tasks'])} task(s)",
        file=sys.stderr,
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    response = api("GET", f"/v1/submissions/{args.id}")
    if response.status_code != 200:
        return fail(response)
    submission = response.json()
    reason = f" ({submission['reason']})" if submission.get("reason") else ""
    print(
        f"{submission['id']}  {submission['model']}@{submission['revision']}  "
        f"{submission['status']}{reason}"
    )
    for task in submission["tasks"]:
        score = f"{task['main_score']:.7f}" if task.get("main_score") is not None else ""
        detail = f"  {task['reason']}" if task.get("reason") else ""
        print(f"  {task['task']:<40} {task['state']:<8} {score}{detail}")
    return 0


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
    submit.set_defaults(run=cmd_submit)

    status = commands.add_parser("status", help="a submission's status and per-task progress")
    status.add_argument("id")
    status.set_defaults(run=cmd_status)

    worker = commands.add_parser("worker", help="run one evaluator against LEADERBOARD_NATS_URL")
    worker.set_defaults(run=cmd_worker)

    cancel = commands.add_parser("cancel", help="cancel a submission (admin or submitting key)")
    cancel.add_argument("id")
    cancel.set_defaults(run=cmd_cancel)

    from services.submission.keys import add_parser as add_keys_parser

    add_keys_parser(commands)

    from services.submission.reevaluate_command import add_parser as add_reevaluate_parser

    add_reevaluate_parser(commands)

    from services.aggregator.commands import add_parsers as add_aggregation_parsers

    add_aggregation_parsers(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
