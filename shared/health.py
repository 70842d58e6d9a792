"""Whether the store answers, known at once: a background ping, one log line per change."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pymongo
from pymongo.errors import PyMongoError

from shared.store import Store

log = logging.getLogger(__name__)

PING_INTERVAL_S = 1.0


class StoreWatch:
    """Pings the store every `PING_INTERVAL_S`; `up` is how the last ping (or a failed
    operation reported with `failed`) went, so that requests can answer 503 without waiting."""

    def __init__(self, store: Store, timeout_s: float) -> None:
        self.store = store
        self.timeout_s = timeout_s
        self.up = True
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> str:
        return "up" if self.up else "down"

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def check(self) -> bool:
        """Ping now; whether the store answered."""
        try:
            with pymongo.timeout(self.timeout_s):
                await self.store.ping()
        except PyMongoError as error:
            self.failed(error)
            return False
        if not self.up:
            self.up = True
            log.warning("the store answers again")
        return True

    def failed(self, error: Exception) -> None:
        """An operation failed for want of the store: it is down until a ping answers."""
        if self.up:
            self.up = False
            log.warning("the store is unavailable: %s", type(error).__name__)

    async def _watch(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(PING_INTERVAL_S)
