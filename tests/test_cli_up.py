"""`leaderboard up`: embedded servers and the four services start, and Ctrl-C stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shared.embedded import free_port
from shared.nats_auth import ROLES, credentials_file
from tests.shared.test_nats_auth import anonymous_is_refused

NATS_PORT = "LEADERBOARD_EMBEDDED_NATS_PORT"


def test_up_starts_everything_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    web_port, api_port = free_port(), free_port()
    env = dict(os.environ) | {
        "LEADERBOARD_DATA_DIR": str(tmp_path / "data"),
        "LEADERBOARD_WEB_PORT": str(web_port),
        "LEADERBOARD_API_PORT": str(api_port),
        NATS_PORT: str(free_port()),
        "LEADERBOARD_EMBEDDED_MONGODB_PORT": str(free_port()),
        "HF_HOME": str(tmp_path / "hf"),
        "LEADERBOARD_API_KEY_FILE": str(tmp_path / "config" / "api-key"),
    }
    for name in ("LEADERBOARD_NATS_URL", "LEADERBOARD_MONGODB_URL"):
        env.pop(name, None)
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        printed = []
        assert up.stdout is not None
        for line in up.stdout:
            printed.append(line)
            if "Ctrl-C" in line:
                break
        output = "".join(printed)
        assert f"http://127.0.0.1:{web_port}" in output, output
        assert f"http://127.0.0.1:{api_port}" in output, output
        assert httpx.get(f"http://127.0.0.1:{web_port}/healthz").json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{api_port}/healthz").json()["bus"] == "connected"
        assert (tmp_path / "data" / "nats" / "jetstream").is_dir()
        assert any((tmp_path / "data" / "mongo").glob("*.db"))
        # the operator key the local CLI uses, and the secret key sealing Hub tokens: owner-only
        for made in (tmp_path / "config" / "api-key", tmp_path / "data" / "secret.key"):
            assert stat.S_IMODE(made.stat().st_mode) == 0o600, made
        # the embedded NATS: a user per service, owner-only credentials, nothing for anonymous
        for role in ROLES:
            made = credentials_file(tmp_path / "data", role)
            assert stat.S_IMODE(made.stat().st_mode) == 0o600, made
        assert asyncio.run(anonymous_is_refused(f"nats://127.0.0.1:{env[NATS_PORT]}"))
        key = (tmp_path / "config" / "api-key").read_text().strip()
        listed = httpx.get(
            f"http://127.0.0.1:{api_port}/v1/submissions",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert listed.status_code == 200
        unknown = httpx.delete(
            f"http://127.0.0.1:{api_port}/v1/submissions/nope",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert unknown.json()["error"]["code"] == "submission_not_found"  # the key was accepted

        os.killpg(up.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground group
        assert up.wait(timeout=60) == 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(up.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("processes of `leaderboard up` outlived it")
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
