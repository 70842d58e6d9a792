"""The service processes of `leaderboard up`: their output, and their restarts when they exit."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

TAIL_LINES = 20
"""Lines of a service's output kept to show when it keeps crashing."""
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0
"""A service that ran this long before exiting starts its backoff afresh."""
CRASH_LOOP = 3
"""Exits in a row (each sooner than STABLE_AFTER_S) that make a service reported as crashing."""

Say = Callable[[str], None]


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


class ServiceProcess:
    """One service process, started again with backoff whenever it exits.

    Its output (stdout and stderr) goes to `log_file` when given and, with `echo`, to this
    process's stdout prefixed with the service's label; the last lines are kept in memory.
    It runs in a session of its own, so a terminal's Ctrl-C reaches `up` alone, which stops
    the services before the servers they use.
    """

    def __init__(
        self,
        label: str,
        command: list[str],
        env: dict[str, str],
        log_file: Path | None = None,
        echo: bool = False,
    ) -> None:
        self.label = label
        self.command = command
        self.env = env | {"PYTHONUNBUFFERED": "1"}
        self.log_file = log_file
        self.echo = echo
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.process: subprocess.Popen[bytes] | None = None
        self.forwarder: threading.Thread | None = None
        self.started_at = 0.0
        self.failures = 0
        self.restart_at: float | None = None

    def start(self) -> None:
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        assert self.process.stdout is not None
        self.forwarder = threading.Thread(
            target=self._forward, args=(self.process.stdout,), daemon=True
        )
        self.forwarder.start()

    def _forward(self, output: IO[bytes]) -> None:
        log = self.log_file.open("ab") if self.log_file else None
        try:
            for raw in output:
                line = raw.decode(errors="replace").rstrip("\n")
                self.tail.append(line)
                if log:
                    log.write(raw)
                    log.flush()
                if self.echo:
                    sys.stdout.write(f"{self.label:<12}| {line}\n")
                    sys.stdout.flush()
        finally:
            output.close()
            if log:
                log.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def poll(self) -> int | None:
        """The exit status once the process exited, else None (also before it started)."""
        return self.process.poll() if self.process else None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()

    def terminate(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()

    def wait(self, deadline: float) -> None:
        """Wait for the process until `deadline` (monotonic), killing it then."""
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def last_lines(self) -> str:
        return "\n".join(f"    {line}" for line in self.tail) or "    (no output)"

    def supervise(self, say: Say) -> None:
        """Schedule a restart once the process exited (backoff doubling from FIRST_BACKOFF_S up
        to MAX_BACKOFF_S), and restart it when that time came; every step is reported."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
                say(f"{self.label} restarted (pid {self.pid})")
            return
        code = self.poll()
        if code is None:
            return
        ran = now - self.started_at
        self.failures = 1 if ran >= STABLE_AFTER_S else self.failures + 1
        delay = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (self.failures - 1))
        self.restart_at = now + delay
        say(
            f"{self.label} exited with {describe_exit(code)} after {ran:.0f} s; "
            f"restarting in {delay:.0f} s"
        )
        if self.failures % CRASH_LOOP == 0:
            say(
                f"{self.label} keeps crashing ({self.failures} exits in a row, each within "
                f"{STABLE_AFTER_S:.0f} s of its start); its last lines:\n{self.last_lines()}"
            )


def stop_all(processes: list[ServiceProcess], grace_s: float) -> None:
    """SIGTERM to all of them at once, SIGKILL to those still running after `grace_s`; then
    their last output, for at most a second in all."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + grace_s
    for process in processes:
        process.wait(deadline)
    drained = time.monotonic() + 1.0
    for process in processes:
        if process.forwarder:
            process.forwarder.join(max(0.0, drained - time.monotonic()))
