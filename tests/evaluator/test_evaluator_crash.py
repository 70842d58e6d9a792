"""`kill -9` of an evaluator mid-task, with two evaluators: the task runs again on the other one,
exactly one result is stored, and no task is lost. A stack of its own, with a short lease."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import mteb
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from services.stack import Stack, start_stack
from shared.bus import RESULTS, Bus
from shared.documents import result_id
from shared.embedded import free_port, start_nats, stop
from shared.events import ResultEvent, StatusEvent, Subjects, TaskState
from shared.settings import Settings
from shared.store import Store
from tests.conftest import MODEL_ID
from tests.support.helpers import wait_for_submission
from tests.test_e2e import OFFICIAL

ACK_WAIT = 4.0


@pytest.fixture(scope="module")
def two_evaluators(
    mongodb_url: str,
    models_dir: Path,
    datasets_dir: Path | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    if datasets_dir is None:
        pytest.skip("needs the offline task data")
    home = tmp_path_factory.mktemp("crash")
    port = free_port()
    nats = start_nats(home / "nats", port)
    settings = Settings(
        nats_url=f"nats://127.0.0.1:{port}",
        mongodb_url=mongodb_url,
        mongodb_database=f"crash_{uuid.uuid4().hex[:12]}",
        data_dir=home / "data",
        api_port=free_port(),
        web_port=free_port(),
        aggregator_metrics_port=free_port(),
        evaluator_metrics_port=free_port(),
        models_dir=models_dir,
        datasets_dir=datasets_dir,
        job_ack_wait_s=ACK_WAIT,
        api_key_file=home / "config" / "api-key",
    )
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(home / "hf")}
    running = start_stack(
        settings, evaluators=2, log_dir=home / "logs", extra_env=offline, operator_key=True
    )
    yield running
    running.stop()
    stop(nats)
    for log in sorted((home / "logs").glob("evaluator-*.log")):
        print(f"----- {log.name}\n{log.read_text()[-10000:]}")


@pytest.fixture
async def crash_bus(two_evaluators: Stack) -> AsyncIterator[Bus]:
    bus = await Bus.connect(two_evaluators.settings.nats_url or "", "crash-test")
    yield bus
    await bus.close()


async def test_kill_9_mid_task_reruns_it_elsewhere_once(
    two_evaluators: Stack, crash_bus: Bus
) -> None:
    stack = two_evaluators
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    body = {"model": MODEL_ID, "revision": "crash-test", "tasks": ["STSBenchmark", "BIOSSES"]}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers) as api:
        response = await api.post("/v1/submissions", json=body)
    assert response.status_code == 202, response.text
    submission_id = response.json()["id"]

    statuses = await crash_bus.js.subscribe(
        Subjects.status(submission_id),
        stream=RESULTS.name,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    seen: list[StatusEvent] = []

    async def next_status(
        task: str, state: TaskState, attempt: int, timeout: float = 120.0
    ) -> StatusEvent:
        async with asyncio.timeout(timeout):
            while True:
                event = StatusEvent.model_validate_json((await statuses.next_msg(timeout)).data)
                seen.append(event)
                if (event.task, event.state, event.attempt) == (task, state, attempt):
                    return event

    first = await next_status("STSBenchmark", TaskState.RUNNING, 1)
    victim = int(first.evaluator_id.rsplit("-", 1)[1])
    stack.services["evaluator"][victim].kill()  # SIGKILL: no goodbye, the lease must expire
    killed_at = time.monotonic()
    again = await next_status("STSBenchmark", TaskState.RUNNING, 2)
    recovered_after = time.monotonic() - killed_at
    await statuses.unsubscribe()
    assert again.evaluator_id != first.evaluator_id

    finished = await wait_for_submission(stack.api_url, submission_id)
    assert finished["status"] == "completed", finished
    tasks = {task["task"]: task for task in finished["tasks"]}
    for name, official in OFFICIAL.items():
        assert tasks[name]["state"] == "done"
        assert tasks[name]["main_score"] == pytest.approx(official, abs=1e-6)

    subject = Subjects.result(submission_id, "STSBenchmark")
    info = await crash_bus.js.stream_info(RESULTS.name, subjects_filter=subject)
    assert info.state.subjects == {subject: 1}  # one result published, by the second holder
    result = ResultEvent.model_validate_json(
        (await crash_bus.js.get_last_msg(RESULTS.name, subject)).data
    )
    assert (result.envelope.attempt, result.envelope.evaluator_id) == (2, again.evaluator_id)
    store = Store(stack.settings.mongodb_url or "", stack.settings.mongodb_database)
    try:
        stored = await store.results.count_documents({"task": "STSBenchmark"})
        assert stored == 1
        key = result_id(MODEL_ID, "crash-test", "STSBenchmark", mteb.__version__)
        assert (await store.results.find_one({"_id": key})) is not None
    finally:
        await store.close()
    print(f"recovered {recovered_after:.1f} s after kill -9 (ack wait {ACK_WAIT} s)")
