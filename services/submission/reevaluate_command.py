"""The `leaderboard reevaluate` subcommand; its work (`reevaluation`) is imported when it runs."""

from __future__ import annotations

import argparse
import asyncio
import sys


def cmd_reevaluate(args: argparse.Namespace) -> int:
    if args.benchmark is None and args.model is None and args.tasks is None and not args.stale:
        print("say what to re-evaluate: --stale, --benchmark, --tasks or --model", file=sys.stderr)
        return 2
    from services.submission.reevaluation import reevaluate

    return asyncio.run(reevaluate(args))


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `reevaluate` subcommand (talks to the store and the bus directly)."""
    parser = commands.add_parser(
        "reevaluate",
        help="queue stored results again at low priority (stale ones with --stale)",
    )
    parser.add_argument("--benchmark", help="only the tasks of this mteb benchmark")
    parser.add_argument("--model", help="only this model (org/name)")
    parser.add_argument("--tasks", help="only these tasks (comma-separated)")
    parser.add_argument(
        "--stale",
        action="store_true",
        help="only results made by an older mteb or on another dataset revision than installed",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be queued")
    parser.set_defaults(run=cmd_reevaluate)
