"""A service process under `leaderboard up`: restarted with backoff when it exits, reported with
its last lines when it keeps crashing, its output kept in its log file."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from services.supervision import CRASH_LOOP, ServiceProcess, stop_all

CRASHING = "import sys; print('loading the settings'); print('boom: bad setting'); sys.exit(3)"


def test_a_crashing_service_is_restarted_with_backoff_and_reported(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "crashing-0.log"
    process = ServiceProcess("crashing", [sys.executable, "-c", CRASHING], {}, log)
    said: list[str] = []
    process.start()
    first_pid = process.pid
    deadline = time.monotonic() + 60
    while sum("keeps crashing" in line for line in said) < 1:
        assert time.monotonic() < deadline, said
        process.supervise(said.append)
        time.sleep(0.05)
    stop_all([process], 1.0)

    exits = [line for line in said if "exited with status 3" in line]
    assert len(exits) == CRASH_LOOP
    assert [line.rsplit("restarting in ", 1)[1] for line in exits] == ["1 s", "2 s", "4 s"]
    restarts = [line for line in said if line.startswith("crashing restarted (pid ")]
    assert len(restarts) == CRASH_LOOP - 1
    assert process.pid != first_pid
    report = next(line for line in said if "keeps crashing" in line)
    assert "its last lines:\n" in report
    assert report.endswith("\n    loading the settings\n    boom: bad setting")
    assert log.read_text().count("boom: bad setting") == CRASH_LOOP


def test_stop_all_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    process = ServiceProcess("stubborn", [sys.executable, "-c", stubborn], {})
    process.start()
    time.sleep(0.5)
    started = time.monotonic()
    stop_all([process], 1.0)
    assert process.poll() == -9
    assert time.monotonic() - started < 10
