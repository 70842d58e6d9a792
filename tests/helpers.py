"""Small waits and reads shared by the integration tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from shared.bus import Bus, Stream


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
