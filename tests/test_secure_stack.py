"""`leaderboard up`'s embedded NATS with its users: a real submission runs to its result with
every service on its own credentials, while the outside user reads the result and cannot forge
one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest

from services.stack import Stack, start_stack
from shared.embedded import free_port
from shared.events import Subjects
from shared.nats_auth import credentials_file, read_login
from shared.settings import Settings
from tests.conftest import MODEL_ID
from tests.shared.test_nats_auth import Outsider
from tests.support.helpers import wait_for_submission


@pytest.fixture(scope="module")
def secured_stack(
    models_dir: Path, datasets_dir: Path | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The stack as `leaderboard up` starts it with embedded servers (so NATS has users)."""
    home = tmp_path_factory.mktemp("secured-stack")
    settings = Settings(
        data_dir=home / "data",
        api_port=free_port(),
        web_port=free_port(),
        aggregator_metrics_port=free_port(),
        evaluator_metrics_port=free_port(),
        embedded_nats_port=free_port(),
        embedded_mongodb_port=free_port(),
        models_dir=models_dir,
        datasets_dir=datasets_dir,
        api_key_file=home / "api-key",
    )
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"} if datasets_dir else {}
    running = start_stack(
        settings, log_dir=home / "logs", extra_env={"HF_HOME": str(home / "hf")} | offline
    )
    yield running
    running.stop()
    for log in sorted((home / "logs").glob("*.log")):
        text = log.read_text()
        assert "permissions violation" not in text.lower(), f"{log.name}: {text[-5000:]}"


async def test_a_submission_runs_with_every_service_on_its_own_user(
    secured_stack: Stack,
) -> None:
    stack = secured_stack
    login = read_login(credentials_file(stack.settings.data_dir, "outside"))
    url = stack.settings.nats_url or ""
    outside = Outsider()
    client = await outside.connect(url, login)
    try:
        results = await client.subscribe("lb.results.>")
        await client.flush()
        async with httpx.AsyncClient(base_url=stack.api_url) as api:
            response = await api.post(
                "/v1/submissions",
                json={"model": MODEL_ID, "tasks": ["BIOSSES"]},
                headers={"Authorization": f"Bearer {stack.api_key}"},
            )
        assert response.status_code == 202, response.text
        submission_id = response.json()["id"]
        finished = await wait_for_submission(stack.api_url, submission_id)
        assert finished["status"] == "completed", finished
        seen = await results.next_msg(timeout=30)
        assert seen.subject == Subjects.result(submission_id, "BIOSSES")
        forged = Subjects.result(submission_id, "BIOSSES")
        await client.publish(forged, seen.data, headers={"Nats-Msg-Id": "forged"})
        await client.flush()
        assert await outside.violations(forged)
    finally:
        await client.close()
    with pytest.raises((nats.errors.Error, OSError)):
        await asyncio.wait_for(nats.connect(url, allow_reconnect=False), 10)
