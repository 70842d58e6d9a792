"""Scale-out on a real 3-node JetStream cluster: replicated streams survive a node's death."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.stack import Stack, start_stack
from shared.bus import JOBS, RESULTS, STREAMS, Bus, servers
from shared.embedded import free_port
from shared.settings import Settings
from shared.store import Store
from tests.conftest import MODEL_ID
from tests.support.helpers import wait_for_submission
from tests.support.nats_cluster import Cluster, nats_cluster, wait_for_jetstream

# The official MTEB results of all-MiniLM-L6-v2 (results repository), as in tests/test_e2e.py.
OFFICIAL = {"BIOSSES": 0.8164041444909368, "STSBenchmark": 0.8203246731235654}


def test_servers_splits_a_comma_separated_list() -> None:
    assert servers("nats://a:4222, nats://b:4222,,nats://c:4222") == [
        "nats://a:4222",
        "nats://b:4222",
        "nats://c:4222",
    ]
    assert servers("nats://one:4222") == ["nats://one:4222"]
    with pytest.raises(ValueError, match="no NATS server"):
        servers(" , ")


@dataclass
class ClusterStack:
    cluster: Cluster
    stack: Stack
    bus: Bus


@pytest.fixture
async def cluster_stack(
    tmp_path: Path, mongodb_url: str, models_dir: Path, datasets_dir: Path | None
) -> AsyncIterator[ClusterStack]:
    """The services started as `leaderboard up` starts them, on a 3-node cluster, R3 streams."""
    with nats_cluster(tmp_path / "cluster") as cluster:
        await wait_for_jetstream(cluster.url)
        settings = Settings(
            nats_url=cluster.url,
            stream_replicas=3,
            mongodb_url=mongodb_url,
            mongodb_database=f"cluster_{uuid.uuid4().hex[:12]}",
            data_dir=tmp_path / "data",
            api_port=free_port(),
            web_port=free_port(),
            aggregator_metrics_port=free_port(),
            evaluator_metrics_port=free_port(),
            models_dir=models_dir,
            datasets_dir=datasets_dir,
            job_ack_wait_s=15.0,
            api_key_file=tmp_path / "config" / "api-key",
        )
        offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"} if datasets_dir else {}
        stack = await asyncio.to_thread(
            start_stack,
            settings,
            log_dir=tmp_path / "logs",
            extra_env={"HF_HOME": str(tmp_path / "hf")} | offline,
            operator_key=True,
        )
        bus = await Bus.connect(cluster.url, "cluster-test", replicas=3)
        try:
            yield ClusterStack(cluster, stack, bus)
        finally:
            await bus.close()
            stack.stop()
            for log in sorted((tmp_path / "logs").glob("*.log")):
                print(f"----- {log.name}\n{log.read_text()[-8000:]}")


def submit(stack: Stack, *tasks: str) -> str:
    """`leaderboard submit`, as a user runs it against the stack."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "submit", MODEL_ID, "--tasks", ",".join(tasks)],
        env=stack.env | {"LEADERBOARD_API_URL": stack.api_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def wait_until_running(api_url: str, submission_id: str, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=api_url) as client:
        while time.monotonic() < deadline:
            status = (await client.get(f"/v1/submissions/{submission_id}")).json()["status"]
            if status == "running":
                return
            assert status in {"accepted", "queued"}, status
            await asyncio.sleep(0.2)
    raise TimeoutError(f"submission {submission_id} never ran")


@pytest.mark.timeout(1500)
async def test_every_task_completes_once_when_the_jobs_leader_dies(
    cluster_stack: ClusterStack,
) -> None:
    stack, cluster, bus = cluster_stack.stack, cluster_stack.cluster, cluster_stack.bus
    names = {node.name for node in cluster.nodes}
    for stream in STREAMS:  # the services made every stream with 3 replicas, one per node
        info = await bus.js.stream_info(stream.name)
        assert info.config.num_replicas == 3
        assert info.cluster is not None
        peers = {info.cluster.leader} | {peer.name for peer in info.cluster.replicas or []}
        assert peers == names

    submission_id = submit(stack, *OFFICIAL)
    await wait_until_running(stack.api_url, submission_id)

    leader = (await bus.js.stream_info(JOBS.name)).cluster.leader  # type: ignore[union-attr]
    assert leader is not None
    cluster.kill(leader)

    finished = await wait_for_submission(stack.api_url, submission_id, timeout=900.0)
    assert finished["status"] == "completed", finished
    assert {task["task"]: task["state"] for task in finished["tasks"]} == dict.fromkeys(
        OFFICIAL, "done"
    )
    for task in finished["tasks"]:
        assert task["main_score"] == pytest.approx(OFFICIAL[task["task"]], abs=1e-6)

    # no job left behind: a job redelivered across the failover is taken and settled as well
    async with asyncio.timeout(120):
        while (await bus.js.stream_info(JOBS.name)).state.messages:
            await asyncio.sleep(1)
    # exactly once where it counts, one stored result per task; the (replicated) stream holds a
    # result event for every task, and one per run: a job whose ack the failover lost is
    # delivered again (at least once) and its second result, a new attempt's, is not stored
    results = await bus.js.stream_info(
        RESULTS.name, subjects_filter=f"lb.results.{submission_id}.>"
    )
    assert len(results.state.subjects or {}) == len(OFFICIAL)
    store = Store(stack.settings.mongodb_url or "", stack.settings.mongodb_database)
    try:
        for task in OFFICIAL:
            stored = await store.results.count_documents(
                {"submission_id": submission_id, "task": task}
            )
            assert stored == 1, task
    finally:
        await store.close()
