"""Small waits and reads shared by the integration tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from shared.bus import Bus, Stream
from shared.events import Envelope


async def wait_for_submission(
    api_url: str, submission_id: str, timeout: float = 300.0
) -> dict[str, Any]:
    """Poll the API until the submission is completed, failed or cancelled."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=api_url) as client:
        while time.monotonic() < deadline:
            submission: dict[str, Any] = (
                await client.get(f"/v1/submissions/{submission_id}")
            ).json()
            if submission["status"] in {"completed", "failed", "cancelled"}:
                return submission
            await asyncio.sleep(0.5)
    raise TimeoutError(f"submission {submission_id} still {submission['status']}: {submission}")


async def last_sequence(bus: Bus, stream: Stream) -> int:
    """The sequence of the last message ever stored in `stream` (it only grows)."""
    info = await bus.js.stream_info(stream.name)
    return int(info.state.last_seq)


def make_envelope(**fields: Any) -> Envelope:
    """A plausible envelope of a BIOSSES run; `fields` override any part of it."""
    defaults: dict[str, Any] = {
        "model": "org/model",
        "revision": "r1",
        "task": "BIOSSES",
        "task_type": "STS",
        "main_metric": "cosine_spearman",
        "dataset_revision": "d" * 40,
        "eval_splits": ["test"],
        "hf_subsets": ["default"],
        "versions": {"mteb": "2.26.24", "python": "3.11"},
        "device": "cpu",
        "evaluator_id": "ev-1",
        "attempt": 1,
        "evaluation_time_s": 1.5,
        "model_load_time_s": 0.25,
    }
    return Envelope(**(defaults | fields))
