"""The parsers of `leaderboard import-results`, `export` and `show`: light to import, so that
`leaderboard --help` and the other commands start at once; each command's code (mteb, numpy)
is imported when it runs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from shared.table_choices import Format, Pool

Command = Callable[[argparse.Namespace], int]


def lazily(name: str) -> Command:
    """`services.aggregator.commands.<name>`, imported when called."""

    def run(args: argparse.Namespace) -> int:
        from services.aggregator import commands

        command: Command = getattr(commands, name)
        return int(command(args))

    return run


def add_parsers(commands: Any) -> None:
    """Add `import-results`, `export` and `show` to the `leaderboard` command."""
    run = lazily("run_reporting_errors")
    imports = commands.add_parser(
        "import-results", help="import a checkout of the MTEB results repository"
    )
    imports.add_argument("path", help="the checkout (or its results/ folder)")
    imports.add_argument(
        "--no-recompute", action="store_true", help="store only; leave the leaderboards as they are"
    )
    imports.add_argument(
        "--replace",
        action="store_true",
        help="let files replace results evaluated here with the same model, revision, task and "
        "mteb version (kept by default)",
    )
    imports.set_defaults(run=run, command_run=lazily("cmd_import_results"))

    exports = commands.add_parser(
        "export", help="write a model's results in the results-repository layout"
    )
    exports.add_argument("model", help="model id org/name")
    exports.add_argument("--out", required=True, help="folder to write into")
    exports.add_argument(
        "--all", action="store_true", help="imported results too, not only those evaluated here"
    )
    exports.set_defaults(run=run, command_run=lazily("cmd_export"))

    shows = commands.add_parser("show", help="print a benchmark's summary table")
    shows.add_argument("benchmark", help='an mteb benchmark name, e.g. "MTEB(eng, v2)"')
    shows.add_argument("--tasks", help="comma-separated subset of its tasks, computed on the fly")
    shows.add_argument("--format", choices=[f.value for f in Format], default=Format.TABLE.value)
    shows.add_argument(
        "--pool",
        choices=[p.value for p in Pool],
        default=Pool.ALL.value,
        help="official: only mteb's model pool, without models evaluated here that it lacks",
    )
    shows.set_defaults(run=run, command_run=lazily("cmd_show"))
