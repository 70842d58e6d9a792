"""MongoDB through `pymongo.AsyncMongoClient`, limited to the subset of DESIGN §6."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, InsertOne, ReplaceOne, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.documents import (
    ApiKeyDoc,
    BenchmarkLeaderboardDoc,
    CustomBenchmarkDoc,
    CustomTaskDoc,
    Document,
    KeyUsageDoc,
    LeaderboardDoc,
    ModelDoc,
    ResultDoc,
    SnapshotDoc,
    SubmissionDoc,
    SubmissionStatus,
    TaskClaimDoc,
    now_us,
    task_leaderboard_id,
)
from shared.events import TaskState, utcnow

DocumentT = TypeVar("DocumentT", bound=Document)

DATA_VERSION = "data"
"""The `meta` document whose `version` `Store.bump_data_version` increments."""
RESULT_LISTING = {"task_result": 0, "task_result_z": 0}
"""Projection of results without mteb's full TaskResult."""
UNLISTED: dict[str, Any] = {"task_result": {}, "task_result_z": ""}
"""What the fields `RESULT_LISTING` leaves out read as."""


class ConflictError(RuntimeError):
    """A guarded update lost to a concurrent writer too many times."""


class Store:
    """The collections of DESIGN §6 and the operations the services use on them."""

    def __init__(self, url: str, database: str, timeout_s: float | None = None) -> None:
        """`timeout_s`: how long an operation waits to reach the server (pymongo's default,
        30 s, when None); services give a short one, so that an outage fails fast."""
        options: dict[str, Any] = {}
        if timeout_s is not None:
            options["serverSelectionTimeoutMS"] = int(timeout_s * 1000)
            options["connectTimeoutMS"] = int(timeout_s * 1000)
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, tz_aware=True, **options
        )
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

    @property
    def api_keys(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["api_keys"]

    @property
    def key_usage(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["key_usage"]

    @property
    def task_claims(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["task_claims"]

    @property
    def meta(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["meta"]

    @property
    def result_history(self) -> AsyncCollection[dict[str, Any]]:
        """Results replaced by a result of the same id and other content, as they were."""
        return self.db["result_history"]

    @property
    def custom_tasks_collection(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["custom_tasks"]

    @property
    def custom_benchmarks_collection(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["custom_benchmarks"]

    async def ensure_indexes(self) -> None:
        await self.results.create_index([("task", ASCENDING)])
        await self.submissions.create_index([("status", ASCENDING)])
        await self.submissions.create_index([("created_at", ASCENDING)])
        await self.api_keys.create_index([("name", ASCENDING)], unique=True)

    async def ping(self) -> None:
        await self.db.command("ping")

    async def close(self) -> None:
        await self.client.close()

    # the data version: bumped by every write of what the pages show

    async def data_version(self) -> int:
        """A number that changes whenever results, models, leaderboards or snapshots are
        written (0 before the first write): a cheap test of whether a page may have changed."""
        found = await self.meta.find_one({"_id": DATA_VERSION})
        return int(found["version"]) if found else 0

    async def bump_data_version(self) -> None:
        await self.meta.update_one({"_id": DATA_VERSION}, {"$inc": {"version": 1}}, upsert=True)

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

    async def list_submissions(
        self, query: dict[str, Any], skip: int, limit: int
    ) -> tuple[list[SubmissionDoc], int]:
        """One page of the submissions matching `query`, newest first, and how many match."""
        cursor = self.submissions.find(query).sort("created_at", DESCENDING).skip(skip).limit(limit)
        page = [SubmissionDoc.model_validate(doc) async for doc in cursor]
        return page, await self.submissions.count_documents(query)

    # task claims: which submission evaluates (model, sha, task)

    async def claim_task(self, claim: TaskClaimDoc) -> TaskClaimDoc:
        """Store `claim` unless one exists for its key; the claim that holds is returned."""
        try:
            await self.task_claims.insert_one(claim.to_mongo())
            return claim
        except DuplicateKeyError:
            found = await self.task_claims.find_one({"_id": claim.id})
            return TaskClaimDoc.model_validate(found) if found else await self.claim_task(claim)

    async def take_over_claim(self, claim_id: str, holder: str, submission_id: str) -> bool:
        """Hand a stale claim from `holder` to `submission_id`; False if another was faster."""
        stored = await self.task_claims.find_one_and_update(
            {"_id": claim_id, "submission_id": holder}, {"$set": {"submission_id": submission_id}}
        )
        return stored is not None

    async def release_claims(self, claim_ids: list[str], submission_id: str) -> None:
        await self.task_claims.delete_many(
            {"_id": {"$in": claim_ids}, "submission_id": submission_id}
        )

    async def get_claims(self, claim_ids: list[str]) -> list[TaskClaimDoc]:
        cursor = self.task_claims.find({"_id": {"$in": claim_ids}})
        return [TaskClaimDoc.model_validate(doc) async for doc in cursor]

    # api keys

    async def insert_api_key(self, key: ApiKeyDoc) -> None:
        await self.api_keys.insert_one(key.to_mongo())

    async def ensure_api_key(self, key: ApiKeyDoc) -> None:
        """Store `key` unless its hash is already there."""
        fields = key.to_mongo()
        del fields["_id"]
        await self.api_keys.update_one({"_id": key.id}, {"$setOnInsert": fields}, upsert=True)

    async def get_api_key(self, key_hash: str) -> ApiKeyDoc | None:
        found = await self.api_keys.find_one({"_id": key_hash})
        return ApiKeyDoc.model_validate(found) if found else None

    async def list_api_keys(self) -> list[ApiKeyDoc]:
        cursor = self.api_keys.find({}).sort("name", ASCENDING)
        return [ApiKeyDoc.model_validate(doc) async for doc in cursor]

    async def revoke_api_key(self, name: str) -> bool:
        updated = await self.api_keys.update_one({"name": name}, {"$set": {"revoked": True}})
        return updated.matched_count > 0

    async def count_key_use(self, key_hash: str, day: str) -> int:
        """Count one more use of a key on `day`; the day's count so far, this one included.

        Raised and read in one operation, so concurrent uses each get their own count.
        """
        found = await self.key_usage.find_one_and_update(
            {"_id": f"{key_hash}|{day}"},
            {"$inc": {"count": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return KeyUsageDoc.model_validate(found).count

    # results

    async def find_result(self, model: str, revision: str, task: str) -> ResultDoc | None:
        """Any stored result of `model` at `revision` on `task`."""
        found = await self.results.find_one(
            {"model": model, "revision": revision, "task": task}, RESULT_LISTING
        )
        return ResultDoc.model_validate(found) if found else None

    async def upsert_result(self, result: ResultDoc) -> int:
        """Store `result` (replacing one of the same id); the `stored_us` it was stamped with.

        A replaced result of other content (a re-evaluation on a changed dataset revision, say)
        is kept in `result_history` under `<id>|<its stored_us>`.
        """
        stamp = now_us()
        document = result.to_mongo() | {"stored_us": stamp}
        previous = await self.results.find_one({"_id": result.id})
        if previous is not None and previous.get("digest") != result.digest:
            kept = previous | {"_id": f"{result.id}|{previous.get('stored_us', 0)}"}
            await self.result_history.replace_one({"_id": kept["_id"]}, kept, upsert=True)
        await self.results.replace_one({"_id": result.id}, document, upsert=True)
        await self.bump_data_version()
        return stamp

    async def results_for_task(self, task: str) -> list[ResultDoc]:
        cursor = self.results.find({"task": task}, RESULT_LISTING)
        return [ResultDoc.model_validate(doc) async for doc in cursor]

    # custom tasks and benchmarks (issue 16)

    async def custom_tasks(self) -> list[CustomTaskDoc]:
        cursor = self.custom_tasks_collection.find({}).sort("_id", ASCENDING)
        return [CustomTaskDoc.model_validate(doc) async for doc in cursor]

    async def custom_benchmarks(self) -> list[CustomBenchmarkDoc]:
        cursor = self.custom_benchmarks_collection.find({}).sort("_id", ASCENDING)
        return [CustomBenchmarkDoc.model_validate(doc) async for doc in cursor]

    async def get_custom_task(self, name: str) -> CustomTaskDoc | None:
        found = await self.custom_tasks_collection.find_one({"_id": name})
        return CustomTaskDoc.model_validate(found) if found else None

    async def insert_custom_task(self, task: CustomTaskDoc) -> None:
        """Store a new task; DuplicateKeyError when one of its name exists."""
        await self.custom_tasks_collection.insert_one(task.to_mongo())

    async def replace_custom_task(self, task: CustomTaskDoc) -> None:
        await self.custom_tasks_collection.replace_one({"_id": task.id}, task.to_mongo())

    async def delete_custom_task(self, name: str) -> None:
        await self.custom_tasks_collection.delete_one({"_id": name})

    async def get_custom_benchmark(self, name: str) -> CustomBenchmarkDoc | None:
        found = await self.custom_benchmarks_collection.find_one({"_id": name})
        return CustomBenchmarkDoc.model_validate(found) if found else None

    async def insert_custom_benchmark(self, benchmark: CustomBenchmarkDoc) -> None:
        """Store a new benchmark; DuplicateKeyError when one of its name exists."""
        await self.custom_benchmarks_collection.insert_one(benchmark.to_mongo())

    async def replace_custom_benchmark(self, benchmark: CustomBenchmarkDoc) -> None:
        await self.custom_benchmarks_collection.replace_one(
            {"_id": benchmark.id}, benchmark.to_mongo()
        )

    async def delete_custom_benchmark(self, name: str) -> None:
        await self.custom_benchmarks_collection.delete_one({"_id": name})

    async def count_task_results(self, task: str) -> int:
        return await self.results.count_documents({"task": task})

    async def count_unfinished_evaluations(self, task: str) -> int:
        """How many unfinished submissions have `task` still queued or running."""
        unfinished = [status.value for status in SubmissionStatus if not status.terminal]
        cursor = self.submissions.find({"status": {"$in": unfinished}})
        return sum(
            [
                1
                async for doc in cursor
                if any(
                    progress.task == task
                    and progress.state in (TaskState.QUEUED, TaskState.RUNNING)
                    for progress in SubmissionDoc.model_validate(doc).tasks
                )
            ]
        )

    async def delete_task_results(self, task: str) -> int:
        """Delete every result of `task`, their history, its leaderboard and its claims; how
        many results went."""
        deleted = await self.results.delete_many({"task": task})
        await self.result_history.delete_many({"task": task})
        await self.delete_leaderboard(task_leaderboard_id(task))
        claims = self.task_claims.find({}, {"_id": 1})
        suffixes = (f"|{task}", f"|{task}@")  # a custom task's claims name its revision
        stale = [
            doc["_id"]
            async for doc in claims
            if str(doc["_id"]).endswith(suffixes[0]) or suffixes[1] in str(doc["_id"])
        ]
        if stale:
            await self.task_claims.delete_many({"_id": {"$in": stale}})
        return deleted.deleted_count

    # leaderboards

    async def replace_leaderboard(self, leaderboard: LeaderboardDoc) -> LeaderboardDoc:
        """Store `leaderboard` whole, one version above the stored one."""
        previous = await self.leaderboards.find_one({"_id": leaderboard.id}, {"rows": 0})
        stored = leaderboard.model_copy(
            update={"version": (previous["version"] + 1) if previous else 1}
        )
        await self.leaderboards.replace_one({"_id": stored.id}, stored.to_mongo(), upsert=True)
        await self.bump_data_version()
        return stored

    async def delete_leaderboard(self, leaderboard_id: str) -> None:
        await self.leaderboards.delete_one({"_id": leaderboard_id})

    async def get_leaderboard(self, leaderboard_id: str) -> LeaderboardDoc | None:
        found = await self.leaderboards.find_one({"_id": leaderboard_id})
        return LeaderboardDoc.model_validate(found) if found else None

    async def list_leaderboards(self, kind: str) -> list[LeaderboardDoc]:
        """The leaderboards of `kind`, without their rows or tables (a listing)."""
        cursor = self.leaderboards.find({"kind": kind}, {"rows": 0, "table": 0})
        cursor = cursor.sort("name", ASCENDING)
        return [LeaderboardDoc.model_validate(doc) async for doc in cursor]

    # imported results, models, benchmark leaderboards and snapshots (issue 5)

    @property
    def models(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["models"]

    @property
    def snapshots(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["snapshots"]

    async def ensure_aggregation_indexes(self) -> None:
        await self.results.create_index([("stored_us", ASCENDING)])
        await self.results.create_index([("model", ASCENDING)])
        await self.results.create_index([("source_file", ASCENDING)])
        await self.models.create_index([("stored_us", ASCENDING)])
        await self.snapshots.create_index([("benchmark", ASCENDING)])

    async def result_provenance(self, ids: list[str]) -> dict[str, ResultDoc]:
        """The stored results among `ids`, without scores or TaskResult: their content digest
        and where they came from."""
        cursor = self.results.find({"_id": {"$in": ids}}, RESULT_LISTING | {"scores_json": 0})
        return {doc.id: doc async for doc in _validated(cursor, ResultDoc)}

    async def imported_files(self, paths: list[str]) -> dict[str, tuple[str, str]]:
        """Of `paths` (inside a results folder), those stored: path → (file SHA-256, result id)."""
        cursor = self.results.find(
            {"source_file": {"$in": paths}}, RESULT_LISTING | {"scores_json": 0, "envelope": 0}
        )
        return {
            doc.source_file: (doc.source_sha or "", doc.id)
            async for doc in _validated(cursor, ResultDoc)
            if doc.source_file
        }

    async def holds_results(self) -> bool:
        """Whether any result is stored."""
        return await self.results.find_one({}, {"_id": 1}) is not None

    async def insert_result_documents(self, documents: list[dict[str, Any]]) -> set[str]:
        """Store results made by `ResultDoc.to_mongo` that are not stored yet, in one bulk insert
        (no lookup, no upsert); the ids of those already stored, which are left as they are."""
        if not documents:
            return set()
        stamp = {"stored_us": now_us()}
        try:
            await self.results.insert_many([doc | stamp for doc in documents], ordered=False)
        except BulkWriteError as error:
            return _already_stored(error, documents)
        finally:
            await self.bump_data_version()
        return set()

    async def write_result_documents(
        self, documents: list[dict[str, Any]], over_evaluated: bool
    ) -> set[str]:
        """Store results made by `ResultDoc.to_mongo` (in worker processes, say), in one bulk
        write over any stored under the same id; over results evaluated here (`source`
        `evaluator`) only when `over_evaluated`. The ids of the stored results left as they are.
        """
        if not documents:
            return set()
        stamp = {"stored_us": now_us()}
        only_imported = {} if over_evaluated else {"source": "import"}
        try:
            await self.results.bulk_write(
                [
                    ReplaceOne({"_id": doc["_id"]} | only_imported, doc | stamp, upsert=True)
                    for doc in documents
                ],
                ordered=False,
            )
        except BulkWriteError as error:
            # an upsert whose filter missed a result evaluated here collides with its id
            return _already_stored(error, documents)
        finally:
            await self.bump_data_version()
        return set()

    async def results_stored_since(
        self, since: int | None, source: str | None = None
    ) -> list[ResultDoc]:
        """Results stored at or after `since` (µs, see `now_us`; all when None), of `source`
        only when given, without their TaskResult, in no particular order."""
        query: dict[str, Any] = {"stored_us": {"$gte": since}} if since else {}
        if source is not None:
            query["source"] = source
        cursor = self.results.find(query, RESULT_LISTING)
        return [doc async for doc in _validated(cursor, ResultDoc)]

    async def result_stamps_since(self, since: int, source: str | None = None) -> dict[str, int]:
        """`stored_us` of each result stored at or after `since`, of `source` only when given,
        by result id: a cheap look at what changed."""
        query: dict[str, Any] = {"stored_us": {"$gte": since}}
        if source is not None:
            query["source"] = source
        cursor = self.results.find(query, {"stored_us": 1})
        return {str(doc["_id"]): int(doc["stored_us"]) async for doc in cursor}

    async def results_listed(self, ids: list[str]) -> list[ResultDoc]:
        """The stored results among `ids`, without their TaskResult, in no particular order."""
        cursor = self.results.find({"_id": {"$in": ids}}, RESULT_LISTING)
        return [doc async for doc in _validated(cursor, ResultDoc)]

    async def results_of_model(self, model: str, source: str | None = None) -> list[ResultDoc]:
        """Every stored result of `model` (of `source` only, when given), TaskResult included."""
        query = {"model": model} | ({"source": source} if source is not None else {})
        cursor = self.results.find(query).sort("_id", ASCENDING)
        return [doc async for doc in _validated(cursor, ResultDoc)]

    async def results_of_model_listed(self, model: str) -> list[ResultDoc]:
        """Every stored result of `model`, without its TaskResult."""
        cursor = self.results.find({"model": model}, RESULT_LISTING).sort("_id", ASCENDING)
        return [doc async for doc in _validated(cursor, ResultDoc)]

    async def get_models(self, names: list[str]) -> dict[str, ModelDoc]:
        cursor = self.models.find({"_id": {"$in": names}})
        return {doc.id: doc async for doc in _validated(cursor, ModelDoc)}

    async def replace_models(self, models: list[tuple[ModelDoc, int | None]]) -> set[str]:
        """`replace_model` of each (model, stamp of the document it replaces) in one bulk write;
        the names of those that another writer came first for (not written)."""
        if not models:
            return set()
        stamp = now_us()
        writes: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = [
            InsertOne(model.to_mongo() | {"stored_us": stamp})
            if stored_us is None
            else ReplaceOne(
                {"_id": model.id, "stored_us": stored_us}, model.to_mongo() | {"stored_us": stamp}
            )
            for model, stored_us in models
        ]
        try:
            await self.models.bulk_write(writes, ordered=False)
        except BulkWriteError as error:
            already_stored = 11000  # MongoDB's duplicate key error: a lost insert
            if error.details.get("writeConcernErrors") or any(
                e.get("code") != already_stored for e in error.details.get("writeErrors", [])
            ):
                raise
        finally:
            await self.bump_data_version()
        names = [model.id for model, _ in models]
        cursor = self.models.find({"_id": {"$in": names}}, {"stored_us": 1})
        written = {doc["_id"] async for doc in cursor if doc.get("stored_us") == stamp}
        return set(names) - written

    async def replace_model(self, model: ModelDoc, stored_us: int | None) -> bool:
        """Write `model` only over the document stamped `stored_us` (None: where there is none);
        whether it was written (False: another writer came first)."""
        document = model.to_mongo() | {"stored_us": now_us()}
        if stored_us is None:
            try:
                await self.models.insert_one(document)
            except DuplicateKeyError:
                return False
        else:
            replaced = await self.models.replace_one(
                {"_id": model.id, "stored_us": stored_us}, document
            )
            if replaced.matched_count != 1:
                return False
        await self.bump_data_version()
        return True

    async def models_stored_since(self, since: int | None) -> list[ModelDoc]:
        query = {"stored_us": {"$gte": since}} if since else {}
        return [doc async for doc in _validated(self.models.find(query), ModelDoc)]

    async def benchmark_leaderboard_head(self, leaderboard_id: str) -> tuple[int, datetime] | None:
        """The stored version of a benchmark leaderboard and when it was generated."""
        found = await self.leaderboards.find_one(
            {"_id": leaderboard_id}, {"version": 1, "generated_at": 1}
        )
        if found is None:
            return None
        return int(found["version"]), found["generated_at"]

    async def put_benchmark_leaderboard(self, leaderboard: BenchmarkLeaderboardDoc) -> bool:
        """Write `leaderboard` in one write if the stored one is its version − 1 (none for
        version 1); whether it was written."""
        if leaderboard.version == 1:
            try:
                await self.leaderboards.insert_one(leaderboard.to_mongo())
            except DuplicateKeyError:
                return False
        else:
            replaced = await self.leaderboards.replace_one(
                {"_id": leaderboard.id, "version": leaderboard.version - 1}, leaderboard.to_mongo()
            )
            if not replaced.matched_count:
                return False
        await self.bump_data_version()
        return True

    async def get_benchmark_leaderboard(
        self, leaderboard_id: str
    ) -> BenchmarkLeaderboardDoc | None:
        found = await self.leaderboards.find_one({"_id": leaderboard_id, "kind": "benchmark"})
        return BenchmarkLeaderboardDoc.model_validate(found) if found else None

    async def put_snapshot(self, snapshot: SnapshotDoc) -> None:
        """Store the day's snapshot; a later one of the same day replaces it."""
        await self.snapshots.replace_one({"_id": snapshot.id}, snapshot.to_mongo(), upsert=True)
        await self.bump_data_version()

    async def prune_snapshots(self, benchmark: str, before_day: str) -> int:
        """Delete `benchmark`'s snapshots of days before `before_day` (YYYY-MM-DD)."""
        deleted = await self.snapshots.delete_many(
            {"benchmark": benchmark, "day": {"$lt": before_day}}
        )
        if deleted.deleted_count:
            await self.bump_data_version()
        return deleted.deleted_count

    async def snapshots_of(self, benchmark: str) -> list[SnapshotDoc]:
        cursor = self.snapshots.find({"benchmark": benchmark}).sort("day", ASCENDING)
        return [doc async for doc in _validated(cursor, SnapshotDoc)]


def _already_stored(error: BulkWriteError, documents: list[dict[str, Any]]) -> set[str]:
    """The ids of `documents` an unordered bulk write failed on for their id being stored
    already; `error` raised again when it holds any other failure."""
    errors = error.details.get("writeErrors", [])
    already_stored = 11000  # MongoDB's duplicate key error
    if error.details.get("writeConcernErrors") or any(
        e.get("code") != already_stored for e in errors
    ):
        raise error
    return {documents[e["index"]]["_id"] for e in errors}


async def _validated(
    cursor: AsyncCursor[dict[str, Any]], model: type[DocumentT]
) -> AsyncIterator[DocumentT]:
    """The documents of `cursor`, read back through `model`."""
    async for found in cursor:
        yield model.model_validate(found)
