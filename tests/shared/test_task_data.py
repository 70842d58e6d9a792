"""Task files in the JetStream object store of a real nats-server: stored once by digest,
fetched into a checked folder, refused when altered or when a path leaves the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.bus import Bus
from shared.custom_tasks.spec import TaskSpec, TaskType
from shared.task_data import TaskData, TaskDataError, manifest, sha256_of

BIOSSES = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "BIOSSES"


def spec_of(files: dict[str, str], name: str = "my-task") -> TaskSpec:
    return TaskSpec(
        name=name,
        type=TaskType.STS,
        main_score="cosine_spearman",
        score_range=(0, 4),
        files=files,
        revision=TaskSpec.manifest_revision(files),
    )


def task_folder(root: Path, size: int = 1000) -> Path:
    """A folder of random files (unique to this test run), one of them in a subfolder."""
    root.mkdir(parents=True)
    (root / "README.md").write_bytes(os.urandom(size))
    (root / "data").mkdir()
    (root / "data" / "test.jsonl").write_bytes(os.urandom(size))
    (root / "empty.txt").write_bytes(b"")
    return root


def contents(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


async def test_put_holds_fetch_and_delete(bus: Bus, tmp_path: Path) -> None:
    folder = task_folder(tmp_path / "task")
    files = manifest(folder)
    assert sorted(files) == ["README.md", "data/test.jsonl", "empty.txt"]
    data = TaskData(bus)

    stored = await data.put(folder, files)
    assert sorted(stored) == sorted(set(files.values()))
    assert [await data.holds(digest) for digest in files.values()] == [True] * 3
    assert await data.put(folder, files) == []  # held already: nothing stored twice

    fetched = await data.fetch(spec_of(files), tmp_path / "cache")
    assert fetched == tmp_path / "cache" / spec_of(files).revision
    assert contents(fetched) == contents(folder)
    assert [path.name for path in (tmp_path / "cache").iterdir()] == [fetched.name]

    await data.delete(stored)
    assert [await data.holds(digest) for digest in files.values()] == [False] * 3
    await data.delete(stored)  # deleting again is a no-op
    with pytest.raises(TaskDataError, match="is not stored"):
        await data.fetch(spec_of(files), tmp_path / "elsewhere")
    assert list((tmp_path / "elsewhere").iterdir()) == []  # no partial folder left


async def test_a_file_larger_than_many_chunks_comes_back_whole(bus: Bus, tmp_path: Path) -> None:
    folder = task_folder(tmp_path / "task", size=3 * 2**20 + 7)  # the store's chunks: 128 KiB
    files = manifest(folder)
    data = TaskData(bus)
    stored = await data.put(folder, files)
    try:
        fetched = await data.fetch(spec_of(files), tmp_path / "cache")
        assert contents(fetched) == contents(folder)
    finally:
        await data.delete(stored)


async def test_a_revision_fetched_once_is_reused(bus: Bus, tmp_path: Path) -> None:
    folder = task_folder(tmp_path / "task")
    files = manifest(folder)
    data = TaskData(bus)
    stored = await data.put(folder, files)
    first = await data.fetch(spec_of(files), tmp_path / "cache")
    await data.delete(stored)  # the store no longer has it: only the cached folder can answer
    again = await data.fetch(spec_of(files, name="same-data-other-name"), tmp_path / "cache")
    assert again == first
    assert contents(again) == contents(folder)


async def test_a_stored_object_not_matching_its_digest_is_refused(bus: Bus, tmp_path: Path) -> None:
    folder = task_folder(tmp_path / "task")
    files = manifest(folder)
    data = TaskData(bus)
    bucket = await data.bucket()
    forged = files["data/test.jsonl"]
    await bucket.put(forged, b"other bytes stored under the file's digest")
    stored = await data.put(folder, files)
    assert forged not in stored
    try:
        with pytest.raises(TaskDataError, match=r"data/test\.jsonl does not match its digest"):
            await data.fetch(spec_of(files), tmp_path / "cache")
        assert list((tmp_path / "cache").iterdir()) == []
    finally:
        await data.delete([*stored, forged])


async def test_a_file_not_matching_the_manifest_is_not_stored(bus: Bus, tmp_path: Path) -> None:
    folder = task_folder(tmp_path / "task")
    files = manifest(folder)
    (folder / "data" / "test.jsonl").write_bytes(os.urandom(100))  # changed after listing
    data = TaskData(bus)
    with pytest.raises(TaskDataError, match=r"data/test\.jsonl does not match its digest"):
        await data.put(folder, files)
    assert [await data.holds(digest) for digest in files.values()] == [False] * 3


@pytest.mark.parametrize("path", ["../outside.txt", "data/../../outside.txt", "/tmp/outside.txt"])
async def test_a_path_leaving_the_folder_is_refused(bus: Bus, tmp_path: Path, path: str) -> None:
    folder = task_folder(tmp_path / "task")
    digest = sha256_of(folder / "README.md")
    data = TaskData(bus)
    stored = await data.put(folder, {"README.md": digest})
    try:
        with pytest.raises(TaskDataError, match="leads outside"):
            await data.fetch(spec_of({"README.md": digest, path: digest}), tmp_path / "cache")
        with pytest.raises(TaskDataError, match="leads outside"):
            await data.put(folder / "data", {path: "f" * 64})
    finally:
        await data.delete(stored)
    assert not (tmp_path / "outside.txt").exists()
    assert not Path("/tmp/outside.txt").exists()
    assert [path.name for path in (tmp_path / "cache").iterdir()] == []
    assert not await data.holds("f" * 64)


async def test_the_shared_biosses_folder_round_trips(bus: Bus, tmp_path: Path) -> None:
    files = manifest(BIOSSES)
    data = TaskData(bus)
    await data.put(BIOSSES, files)
    fetched = await data.fetch(spec_of(files, name="BIOSSES-copy"), tmp_path / "cache")
    assert manifest(fetched) == files
