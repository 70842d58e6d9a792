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
from services.supervision import Say, ServiceProcess, stop_all
from shared.embedded import port_taken, start_mongo_wire, start_nats
from shared.nats_auth import Login
from shared.nats_auth import prepare as prepare_nats_auth
from shared.nats_auth import service_env as nats_service_env
from shared.secrets import make_key_file
from shared.settings import Settings

SERVICES = ("aggregator", "evaluator", "submission", "web")
STOP_GRACE_S = 3.0
"""How long services, and then servers, have to exit on SIGTERM before they are killed."""


@dataclass
class Stack:
    """Running processes (servers first, services after) and the URLs to reach them."""

    settings: Settings
    web_url: str
    api_url: str
    env: dict[str, str]
    api_key: str | None = None
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    services: dict[str, list[ServiceProcess]] = field(default_factory=dict)

    def processes(self) -> list[ServiceProcess]:
        return [process for processes in self.services.values() for process in processes]

    def stop(self) -> None:
        """Services first, all at once (they flush what they publish), then the servers."""
        stop_all(self.processes(), STOP_GRACE_S)
        for server in self.servers:
            if server.poll() is None:
                server.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for server in self.servers:
            try:
                server.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def failed(self) -> list[str]:
        """The services that exited (and were not restarted yet)."""
        return [process.label for process in self.processes() if process.poll() is not None]

    def supervise(self, say: Say) -> None:
        """Restart, with backoff, the services that exited; `say` tells what happens."""
        for process in self.processes():
            process.supervise(say)


class PortsInUse(RuntimeError):
    """Ports the stack needs are taken; nothing was started."""


def needed_ports(settings: Settings, evaluators: int) -> list[tuple[str, int, str]]:
    """(host, port, setting) of every port the stack will listen on."""
    ports = [
        (settings.web_host, settings.web_port, "LEADERBOARD_WEB_PORT"),
        (settings.api_host, settings.api_port, "LEADERBOARD_API_PORT"),
    ]
    if settings.nats_url is None:
        ports.append(("127.0.0.1", settings.embedded_nats_port, "LEADERBOARD_EMBEDDED_NATS_PORT"))
    if settings.mongodb_url is None:
        setting = "LEADERBOARD_EMBEDDED_MONGODB_PORT"
        ports.append(("127.0.0.1", settings.embedded_mongodb_port, setting))
    if settings.aggregator_metrics_port:
        setting = "LEADERBOARD_AGGREGATOR_METRICS_PORT"
        ports.append((settings.metrics_host, settings.aggregator_metrics_port, setting))
    if settings.evaluator_metrics_port:
        for index in range(evaluators):
            setting = f"LEADERBOARD_EVALUATOR_METRICS_PORT (+{index}, evaluator {index})"
            ports.append((settings.metrics_host, settings.evaluator_metrics_port + index, setting))
    return ports


def check_ports(settings: Settings, evaluators: int) -> None:
    """Raise `PortsInUse`, naming each taken port and its setting, before anything starts."""
    taken = [
        f"{host}:{port} ({setting})"
        for host, port, setting in needed_ports(settings, evaluators)
        if port_taken(port, host)
    ]
    if taken:
        raise PortsInUse(
            f"port(s) in use: {', '.join(taken)}; stop what listens there or choose other ports "
            "with these settings. Nothing was started."
        )


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
        exited = [process for process in stack.processes() if process.poll() is not None]
        if exited:
            report = "\n".join(f"{p.label}, last lines:\n{p.last_lines()}" for p in exited)
            raise RuntimeError(f"services exited during start-up: {report}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def probe_urls(settings: Settings, evaluators: int) -> dict[str, str]:
    """The `/metrics` and `/healthz` base URL of the aggregator and of each evaluator."""
    host = settings.metrics_host
    urls = {}
    if settings.aggregator_metrics_port:
        urls["aggregator"] = f"http://{host}:{settings.aggregator_metrics_port}"
    if settings.evaluator_metrics_port:
        for index in range(evaluators):
            urls[f"evaluator-{index}"] = f"http://{host}:{settings.evaluator_metrics_port + index}"
    return urls


def start_servers(settings: Settings, stack: Stack) -> tuple[Settings, dict[str, Login]]:
    """Start the embedded servers `settings` has no URL for; the settings with their URLs, and
    the embedded nats-server's users (none for an external server, which has its own)."""
    logins: dict[str, Login] = {}
    if settings.nats_url is None:
        port = settings.embedded_nats_port
        config, logins = prepare_nats_auth(settings.data_dir)
        stack.servers.append(start_nats(settings.data_dir / "nats", port, config))
        settings = settings.model_copy(update={"nats_url": f"nats://127.0.0.1:{port}"})
    if settings.mongodb_url is None:
        port = settings.embedded_mongodb_port
        stack.servers.append(start_mongo_wire(settings.data_dir / "mongo", port))
        settings = settings.model_copy(update={"mongodb_url": f"mongodb://127.0.0.1:{port}"})
    return settings, logins


def start_stack(
    settings: Settings,
    *,
    evaluators: int = 1,
    log_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    operator_key: bool | None = None,
    echo: bool = False,
) -> Stack:
    """Check every port, start what `settings` does not point to elsewhere, then the four
    services; wait for them. Their output goes to `log_dir/<name>-<index>.log` when given and,
    with `echo`, to stdout.

    The secret key sealing Hub tokens is made in the data dir unless one is configured; the
    operator's admin key (`operator_key`; default: when the store is embedded) is made in
    `api_key_file` at first start and registered in the store.
    """
    if operator_key is None:
        operator_key = settings.mongodb_url is None
    check_ports(settings, evaluators)
    stack = Stack(
        settings=settings,
        web_url=f"http://{settings.web_host}:{settings.web_port}",
        api_url=f"http://{settings.api_host}:{settings.api_port}",
        env={},
    )
    try:
        settings, logins = start_servers(settings, stack)
        if settings.secret_key_file is None:
            key_file = make_key_file(settings.data_dir / "secret.key")
            settings = settings.model_copy(update={"secret_key_file": key_file})
        if operator_key:
            from services.submission.operator import ensure_operator_key  # the store's models

            stack.api_key = ensure_operator_key(settings)
        if settings.api_url is None:  # the web's submit form forwards to the API here
            settings = settings.model_copy(update={"api_url": stack.api_url})
        stack.settings = settings
        stack.env = service_env(settings, extra_env or {})
        gpus = gpu_ids(stack.env) if evaluators > 1 else []
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            count = evaluators if name == "evaluator" else 1
            env = stack.env | nats_service_env(name, logins)
            stack.services[name] = [
                service_process(name, index, env, log_dir, echo, gpus) for index in range(count)
            ]
        for process in stack.processes():
            process.start()
        for url in [stack.api_url, stack.web_url, *probe_urls(settings, evaluators).values()]:
            wait_healthy(url, stack)
    except BaseException:
        stack.stop()
        raise
    return stack


def service_process(
    name: str,
    index: int,
    env: dict[str, str],
    log_dir: Path | None,
    echo: bool = False,
    gpus: list[str] | None = None,
) -> ServiceProcess:
    """`python -m services.<name>` (not started yet); an evaluator gets its own id, metrics
    port and GPU."""
    label = name
    if name == "evaluator":
        label = f"evaluator-{index}"
        base = env.get("LEADERBOARD_EVALUATOR_ID", f"evaluator@{os.uname().nodename}")
        env = evaluator_env(index, env, gpus or []) | {
            "LEADERBOARD_EVALUATOR_ID": f"{base}-{index}"
        }
        port = int(env.get("LEADERBOARD_EVALUATOR_METRICS_PORT", "0"))
        if port:
            env["LEADERBOARD_EVALUATOR_METRICS_PORT"] = str(port + index)
    log_file = log_dir / f"{name}-{index}.log" if log_dir is not None else None
    return ServiceProcess(label, [sys.executable, "-m", f"services.{name}"], env, log_file, echo)
