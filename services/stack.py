"""The whole stack on one machine: embedded servers when no URL is given, then the services."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from services.evaluator.placement import evaluator_env, gpu_ids
from services.submission.operator import ensure_operator_key
from shared.embedded import start_mongo_wire, start_nats, stop
from shared.nats_auth import Login
from shared.nats_auth import prepare as prepare_nats_auth
from shared.nats_auth import service_env as nats_service_env
from shared.secrets import make_key_file
from shared.settings import Settings

SERVICES = ("aggregator", "evaluator", "submission", "web")


@dataclass
class Stack:
    """Running processes (servers first, services after) and the URLs to reach them."""

    settings: Settings
    web_url: str
    api_url: str
    env: dict[str, str]
    api_key: str | None = None
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    services: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)

    def stop(self) -> None:
        """Services first (they flush what they publish), then the servers."""
        for processes in reversed(self.services.values()):
            for process in processes:
                stop(process)
        for process in reversed(self.servers):
            stop(process)

    def failed(self) -> list[str]:
        """The services that exited."""
        return [
            name
            for name, processes in self.services.items()
            for process in processes
            if process.poll() is not None
        ]


def service_env(settings: Settings, extra: dict[str, str]) -> dict[str, str]:
    """The environment of every service: this one's, the settings, and `extra`."""
    env = dict(os.environ) | extra
    for name, value in settings.model_dump(exclude_none=True).items():
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        env[f"LEADERBOARD_{name.upper()}"] = str(plain)
    return env


def wait_healthy(url: str, stack: Stack, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.failed():
            raise RuntimeError(f"services exited during start-up: {stack.failed()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def start_stack(
    settings: Settings,
    *,
    evaluators: int = 1,
    log_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    operator_key: bool | None = None,
) -> Stack:
    """Start what `settings` does not point to elsewhere, then the four services; wait for them.

    The secret key sealing Hub tokens is made in the data dir unless one is configured; the
    operator's admin key (`operator_key`; default: when the store is embedded) is made in
    `api_key_file` at first start and registered in the store.
    """
    if operator_key is None:
        operator_key = settings.mongodb_url is None
    stack = Stack(
        settings=settings,
        web_url=f"http://{settings.web_host}:{settings.web_port}",
        api_url=f"http://{settings.api_host}:{settings.api_port}",
        env={},
    )
    logins: dict[str, Login] = {}  # the embedded server's users; an external one has its own
    try:
        if settings.nats_url is None:
            port = settings.embedded_nats_port
            config, logins = prepare_nats_auth(settings.data_dir)
            stack.servers.append(start_nats(settings.data_dir / "nats", port, config))
            settings = settings.model_copy(update={"nats_url": f"nats://127.0.0.1:{port}"})
        if settings.mongodb_url is None:
            port = settings.embedded_mongodb_port
            stack.servers.append(start_mongo_wire(settings.data_dir / "mongo", port))
            settings = settings.model_copy(update={"mongodb_url": f"mongodb://127.0.0.1:{port}"})
        if settings.secret_key_file is None:
            key_file = make_key_file(settings.data_dir / "secret.key")
            settings = settings.model_copy(update={"secret_key_file": key_file})
        if operator_key:
            stack.api_key = ensure_operator_key(settings)
        if settings.api_url is None:  # the web's submit form forwards to the API here
            settings = settings.model_copy(update={"api_url": stack.api_url})
        stack.settings = settings
        stack.env = service_env(settings, extra_env or {})
        gpus = gpu_ids(stack.env) if evaluators > 1 else []
        for name in SERVICES:
            count = evaluators if name == "evaluator" else 1
            env = stack.env | nats_service_env(name, logins)
            stack.services[name] = [
                spawn(name, index, env, log_dir, gpus) for index in range(count)
            ]
        wait_healthy(stack.api_url, stack)
        wait_healthy(stack.web_url, stack)
    except BaseException:
        stack.stop()
        raise
    return stack


def spawn(
    name: str, index: int, env: dict[str, str], log_dir: Path | None, gpus: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """`python -m services.<name>`, its output in `log_dir/<name>-<index>.log` or inherited."""
    output = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        output = (log_dir / f"{name}-{index}.log").open("ab")
    if name == "evaluator":
        base = env.get("LEADERBOARD_EVALUATOR_ID", f"evaluator@{os.uname().nodename}")
        env = evaluator_env(index, env, gpus or [])
        env = env | {"LEADERBOARD_EVALUATOR_ID": f"{base}-{index}"}
    return subprocess.Popen(
        [sys.executable, "-m", f"services.{name}"],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
    )
