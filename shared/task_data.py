"""Custom tasks' files, content-addressed in the bus's JetStream object store.

Each file is one object named by the SHA-256 of its bytes, so a file shared by two tasks or
two revisions is kept once, and an evaluator on any machine that reaches the bus can fetch a
task's files without access to the store. (JetStream rather than GridFS: evaluators hold a
bus connection only, and the object store is chunked, replicated and checked by NATS.)
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from nats.js.api import ObjectStoreConfig
from nats.js.errors import DigestMismatchError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from shared.bus import Bus
from shared.custom_tasks.spec import TaskSpec
from shared.paths import OutsideFolderError, confined

BUCKET = "LB_TASK_DATA"
"""The object store bucket (its stream is `OBJ_LB_TASK_DATA`, its subjects `$O.LB_TASK_DATA.>`)."""


class TaskDataError(ValueError):
    """A task's files cannot be stored or fetched as listed: one is missing from the object
    store, its bytes do not match its digest, or its path leaves the task's folder."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative POSIX path) → the SHA-256 of its bytes."""
    return {
        path.relative_to(folder).as_posix(): sha256_of(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def object_digest(hex_digest: str) -> str:
    """A SHA-256 as the object store writes it in an object's info (`SHA-256=<base64url>`)."""
    return "SHA-256=" + base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).decode()


class TaskData:
    """Puts and fetches task files by digest."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._store: ObjectStore | None = None

    async def bucket(self) -> ObjectStore:
        """The bucket, created (with the bus's stream replicas) when it does not exist yet."""
        if self._store is None:
            try:
                self._store = await self.bus.js.object_store(BUCKET)
            except NotFoundError:
                config = ObjectStoreConfig(bucket=BUCKET, replicas=self.bus.replicas or 1)
                self._store = await self.bus.js.create_object_store(BUCKET, config=config)
        return self._store

    async def put(self, folder: Path, files: dict[str, str]) -> list[str]:
        """Store the files of `folder` listed in `files` (path → digest) that are not stored
        yet; the digests it stored (the caller's to delete again should it fail later).

        A file whose bytes do not match its digest is refused (`TaskDataError`); on any failure
        what this call stored is deleted again.
        """
        try:
            paths = {path: confined(folder, path) for path in files}
        except OutsideFolderError as error:
            raise TaskDataError(str(error)) from None
        bucket = await self.bucket()
        stored: list[str] = []
        try:
            for path, digest in sorted(files.items()):
                if await self.holds(digest):
                    continue
                with paths[path].open("rb") as file:
                    info = await bucket.put(digest, file)  # type: ignore[arg-type]
                stored.append(digest)
                if info.digest != object_digest(digest):
                    raise TaskDataError(f"{path} does not match its digest {digest}")
        except Exception:
            await self.delete(stored)
            raise
        return stored

    async def holds(self, digest: str) -> bool:
        """Whether the object store has the file of `digest` (deleted ones do not count)."""
        bucket = await self.bucket()
        try:
            info = await bucket.get_info(digest)
        except ObjectNotFoundError:
            return False
        return not info.deleted

    async def delete(self, digests: list[str]) -> None:
        """Delete the files of `digests`; those not stored are skipped."""
        bucket = await self.bucket()
        for digest in digests:
            try:
                await bucket.delete(digest)
            except ObjectNotFoundError:
                continue

    async def fetch(self, spec: TaskSpec, cache_dir: Path) -> Path:
        """The task's datasets folder `cache_dir/<revision>/`, fetched once and checked against
        the digests; a folder that exists is complete (it is renamed into place).

        Raises `TaskDataError` when a file is missing, altered or outside the folder; the bus's
        own errors (timeouts, a lost connection) pass through.
        """
        folder = confined(cache_dir, spec.revision)
        if folder.is_dir():
            return folder
        cache_dir.mkdir(parents=True, exist_ok=True)
        bucket = await self.bucket()
        partial = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache_dir))
        try:
            for path, digest in sorted(spec.files.items()):
                await self._fetch_file(bucket, spec, path, digest, partial)
            try:
                os.replace(partial, folder)
            except OSError:
                if not folder.is_dir():  # else another process put the same revision there
                    raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return folder

    @staticmethod
    async def _fetch_file(
        bucket: ObjectStore, spec: TaskSpec, path: str, digest: str, folder: Path
    ) -> None:
        try:
            target = confined(folder, path)
        except OutsideFolderError:
            raise TaskDataError(f"task {spec.name}: {path!r} leads outside its folder") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with target.open("wb") as file:
                await bucket.get(digest, writeinto=file)  # type: ignore[arg-type]
        except ObjectNotFoundError:
            raise TaskDataError(f"task {spec.name}: {path} ({digest}) is not stored") from None
        except DigestMismatchError:
            raise TaskDataError(f"task {spec.name}: {path} is damaged in the store") from None
        if sha256_of(target) != digest:
            raise TaskDataError(f"task {spec.name}: {path} does not match its digest")
