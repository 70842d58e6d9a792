"""Start-up time of the `leaderboard` commands that need no evaluation, beside a bare Python.

    python benchmarks/bench_cli.py [--repeats 10]

Each command runs in a fresh interpreter (`python -m services.cli …`) against an address where
nothing listens, so the time is the start-up, the parser and the command's own imports, and the
one refused connection. CPU time (user + system) is reported beside wall time: on a shared,
loaded machine it is the steadier figure. Prints a Markdown table; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from shared.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "python -c pass (baseline)": ["-c", "pass"],
    "leaderboard --help": ["-m", "services.cli", "--help"],
    "leaderboard status ID": ["-m", "services.cli", "status", "0" * 32],
    "leaderboard submit … --tasks BIOSSES": [
        *("-m", "services.cli", "submit", "org/model", "--tasks", "BIOSSES"),
    ],
}


def seconds(arguments: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *arguments], env=env, cwd=ROOT, capture_output=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--repeats", type=int, default=10)
    repeats = options.parse_args().repeats
    env = dict(os.environ) | {
        "PYTHONPATH": str(ROOT),
        "LEADERBOARD_API_URL": f"http://127.0.0.1:{free_port()}",
    }
    print("| command | wall, median | wall, min | CPU, median |\n|---|---|---|---|")
    for name, arguments in COMMANDS.items():
        walls, cpus = zip(*(seconds(arguments, env) for _ in range(repeats)), strict=True)
        print(
            f"| `{name}` | {statistics.median(walls):.3f} s | {min(walls):.3f} s "
            f"| {statistics.median(cpus):.3f} s |"
        )


if __name__ == "__main__":
    main()
