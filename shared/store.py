"""MongoDB through `pymongo.AsyncMongoClient`, limited to the subset of DESIGN §6."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.documents import (
    LeaderboardDoc,
    ResultDoc,
    SubmissionDoc,
)
from shared.events import utcnow


class ConflictError(RuntimeError):
    """A guarded update lost to a concurrent writer too many times."""


class Store:
    """The collections of DESIGN §6 and the operations the services use on them."""

    def __init__(self, url: str, database: str) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, tz_aware=True)
        self.db: AsyncDatabase[dict[str, Any]] = self.client[database]

    @property
    def submissions(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["submissions"]

    @property
    def results(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["results"]

    @property
    def leaderboards(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["leaderboards"]

    async def ensure_indexes(self) -> None:
        await self.results.create_index([("task", ASCENDING)])
        await self.submissions.create_index([("status", ASCENDING)])

    async def ping(self) -> None:
        await self.db.command("ping")

    async def close(self) -> None:
        await self.client.close()

    # submissions

    async def insert_submission(self, submission: SubmissionDoc) -> None:
        await self.submissions.insert_one(submission.to_mongo())

    async def get_submission(self, submission_id: str) -> SubmissionDoc | None:
        found = await self.submissions.find_one({"_id": submission_id})
        return SubmissionDoc.model_validate(found) if found else None

    async def update_submission(
        self, submission_id: str, change: Callable[[SubmissionDoc], None], attempts: int = 10
    ) -> SubmissionDoc | None:
        """Apply `change` to the stored submission, guarded by its version (optimistic lock)."""
        for _ in range(attempts):
            current = await self.get_submission(submission_id)
            if current is None:
                return None
            updated = current.model_copy(deep=True)
            change(updated)
            updated.version = current.version + 1
            updated.updated_at = utcnow()
            fields = updated.to_mongo()
            del fields["_id"]
            stored = await self.submissions.find_one_and_update(
                {"_id": submission_id, "version": current.version},
                {"$set": fields},
                return_document=ReturnDocument.AFTER,
            )
            if stored is not None:
                return SubmissionDoc.model_validate(stored)
        raise ConflictError(f"submission {submission_id} kept changing under the update")

    # results

    async def upsert_result(self, result: ResultDoc) -> None:
        await self.results.replace_one({"_id": result.id}, result.to_mongo(), upsert=True)

    async def results_for_task(self, task: str) -> list[ResultDoc]:
        cursor = self.results.find({"task": task}, {"task_result": 0})
        return [ResultDoc.model_validate(doc) async for doc in cursor]

    # leaderboards

    async def replace_leaderboard(self, leaderboard: LeaderboardDoc) -> LeaderboardDoc:
        """Store `leaderboard` whole, one version above the stored one."""
        previous = await self.leaderboards.find_one({"_id": leaderboard.id}, {"rows": 0})
        stored = leaderboard.model_copy(
            update={"version": (previous["version"] + 1) if previous else 1}
        )
        await self.leaderboards.replace_one({"_id": stored.id}, stored.to_mongo(), upsert=True)
        return stored

    async def get_leaderboard(self, leaderboard_id: str) -> LeaderboardDoc | None:
        found = await self.leaderboards.find_one({"_id": leaderboard_id})
        return LeaderboardDoc.model_validate(found) if found else None

    async def list_leaderboards(self, kind: str) -> list[LeaderboardDoc]:
        cursor = self.leaderboards.find({"kind": kind}, {"rows": 0}).sort("name", ASCENDING)
        return [LeaderboardDoc.model_validate(doc) async for doc in cursor]
