"""A JetStream cluster of three nats-server processes on loopback, each with its own store."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.errors import Error as NatsError

from shared.embedded import executable, free_port, stop, wait_for_port

CLUSTER_NAME = "lb-test"


@dataclass
class Node:
    """One server of the cluster."""

    name: str
    client_port: int
    route_port: int
    store_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def route(self) -> str:
        return f"nats://127.0.0.1:{self.route_port}"


@dataclass
class Cluster:
    """The nodes and the URL list a client is given (`LEADERBOARD_NATS_URL`)."""

    nodes: list[Node]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL one node, as a crashed machine would go."""
        process = self.node(name).process
        assert process is not None
        process.kill()
        process.wait()


def start_node(node: Node, routes: list[str]) -> None:
    node.store_dir.mkdir(parents=True, exist_ok=True)
    arguments = [
        *("-js", "-a", "127.0.0.1", "-p", str(node.client_port), "-sd", str(node.store_dir)),
        *("--server_name", node.name, "--cluster_name", CLUSTER_NAME),
        *("--cluster", node.route, "--routes", ",".join(routes)),
    ]
    node.process = subprocess.Popen(
        [executable("nats-server"), *arguments],
        stdout=subprocess.DEVNULL,
        stderr=(node.store_dir.parent / f"{node.name}.stderr").open("ab"),
    )
    wait_for_port(node.client_port, node.process)


async def wait_for_jetstream(url: str, timeout: float = 60.0) -> None:
    """Wait until the cluster has a JetStream meta leader (account requests are answered)."""
    client = await nats.connect(url.split(","), max_reconnect_attempts=-1)
    try:
        js = client.jetstream(timeout=2.0)
        deadline = time.monotonic() + timeout
        while True:
            try:
                await js.account_info()
                return
            except (TimeoutError, NatsError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await client.close()


@contextmanager
def nats_cluster(folder: Path, size: int = 3) -> Iterator[Cluster]:
    """Start `size` clustered JetStream servers (full mesh of routes); stop them afterwards."""
    nodes = [
        Node(f"n{index}", free_port(), free_port(), folder / f"n{index}") for index in range(size)
    ]
    cluster = Cluster(nodes)
    try:
        for node in nodes:
            start_node(node, [other.route for other in nodes if other is not node])
        yield cluster
    finally:
        for node in nodes:
            if node.process is not None:
                stop(node.process)
