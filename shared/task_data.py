"""Custom tasks' files, content-addressed in the bus's JetStream object store.

Each file is one object named by the SHA-256 of its bytes, so a file shared by two tasks or
two revisions is kept once, and an evaluator on any machine that reaches the bus can fetch a
task's files without access to the store. (JetStream rather than GridFS: evaluators hold a
bus connection only, and the object store is chunked, replicated and checked by NATS.)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from nats.js.api import ObjectStoreConfig
from nats.js.errors import NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from shared.bus import Bus
from shared.custom_tasks.spec import TaskSpec
from shared.paths import confined

BUCKET = "LB_TASK_DATA"
"""The object store bucket (its stream is `OBJ_LB_TASK_DATA`)."""


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


class TaskData:
    """Puts and fetches task files by digest."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._store: ObjectStore | None = None

    async def bucket(self) -> ObjectStore:
        if self._store is None:
            try:
                self._store = await self.bus.js.object_store(BUCKET)
            except NotFoundError:
                config = ObjectStoreConfig(bucket=BUCKET, replicas=self.bus.replicas or 1)
                self._store = await self.bus.js.create_object_store(BUCKET, config=config)
        return self._store

    async def put(self, folder: Path, files: dict[str, str]) -> list[str]:
        """Store the files of `folder` listed in `files` (path → digest) that are not stored
        yet; the digests it stored (the caller's to delete again should it fail later)."""
        bucket = await self.bucket()
        stored = []
        for path, digest in sorted(files.items()):
            if await self.holds(digest):
                continue
            with (folder / path).open("rb") as file:
                await bucket.put(digest, file)  # type: ignore[arg-type]
            stored.append(digest)
        return stored

    async def holds(self, digest: str) -> bool:
        bucket = await self.bucket()
        try:
            info = await bucket.get_info(digest)
        except ObjectNotFoundError:
            return False
        return not info.deleted

    async def delete(self, digests: list[str]) -> None:
        bucket = await self.bucket()
        for digest in digests:
            try:
                await bucket.delete(digest)
            except ObjectNotFoundError:
                continue

    async def fetch(self, spec: TaskSpec, cache_dir: Path) -> Path:
        """The task's datasets folder `cache_dir/<revision>/`, fetched once and checked against
        the digests; a folder that exists is complete (it is renamed into place)."""
        folder = confined(cache_dir, spec.revision)
        if folder.is_dir():
            return folder
        cache_dir.mkdir(parents=True, exist_ok=True)
        bucket = await self.bucket()
        partial = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache_dir))
        try:
            for path, digest in spec.files.items():
                target = confined(partial, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as file:
                    await bucket.get(digest, writeinto=file)  # type: ignore[arg-type]
                if sha256_of(target) != digest:
                    raise ValueError(f"{path} of task {spec.name} does not match its digest")
            os.replace(partial, folder)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return folder
