"""The `leaderboard` command as a pipeline uses it: light to start, `submit --wait` with exit
codes, `status` exit codes, duplicates answered with the submission that holds them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from services.stack import Stack
from shared.embedded import free_port
from tests.conftest import MODEL_ID
from tests.test_e2e import OFFICIAL

HEAVY = ("mteb", "torch", "sentence_transformers", "numpy", "shared.summary", "httpx")
"""Modules the light commands never import (httpx: its import alone outlasts the start-up
budget; the CLI speaks to the API through the standard library)."""


def test_help_status_and_submit_import_nothing_heavy(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import contextlib, io, sys
        from services.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main(["--help"])
            except SystemExit:
                pass
        print(main(["status", "abc"]), main(["submit", "org/model", "--tasks", "BIOSSES"]))
        print([name for name in {HEAVY!r} if name in sys.modules])
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "HOME": str(tmp_path),
        "LEADERBOARD_API_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    codes, imported = done.stdout.splitlines()
    assert codes == "2 2"  # the API is unreachable: said in one line each, no traceback
    assert "cannot reach the submission API" in done.stderr and "Traceback" not in done.stderr
    assert imported == "[]"


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=stack.env | {"LEADERBOARD_API_URL": stack.api_url},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_submit_wait_status_and_duplicates(stack: Stack, datasets_dir: Path | None) -> None:
    if datasets_dir is None or (datasets_dir / "STS12").exists():
        pytest.skip("needs offline task data without STS12, so that STS12 fails")
    revision = f"cli-{uuid.uuid4().hex[:8]}"

    done = cli(stack, "submit", MODEL_ID, "--revision", revision, "--tasks", "BIOSSES", "--wait")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    first_id = lines[0]
    assert lines[1].split() == ["BIOSSES", "done", f"{OFFICIAL['BIOSSES']:.7f}"]
    assert lines[-1] == f"{first_id} completed"
    assert cli(stack, "status", first_id).returncode == 0

    partly = cli(
        stack, "submit", MODEL_ID, "--revision", revision, "--tasks", "BIOSSES,STS12",
        "--wait", "--format", "json",
    )  # fmt: skip
    assert partly.returncode == 1, partly.stderr
    assert f"skipped BIOSSES: submission {first_id} holds it" in partly.stderr
    failed = json.loads(partly.stdout[partly.stdout.index("{") :])
    assert failed["status"] == "failed"
    assert [task["task"] for task in failed["tasks"]] == ["STS12"]
    status = cli(stack, "status", failed["id"], "--format", "json")
    assert status.returncode == 1
    assert json.loads(status.stdout)["id"] == failed["id"]

    again = cli(stack, "submit", MODEL_ID, "--revision", revision, "--tasks", "BIOSSES")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == first_id  # the existing submission's id, which status reads
    assert cli(stack, "status", again.stdout.strip()).returncode == 0
