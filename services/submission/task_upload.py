"""A task upload (`multipart/form-data`) read to disk: its fields checked, its files saved.

Parts named by a file's role (`corpus`, `queries`, `qrels`, `pairs`, `train`, `test`, a split
after a colon: `qrels:dev`) carry the files as the field writes them; repeated `data` parts carry
a Hugging Face datasets folder, each named by its path inside the folder; or, instead of files,
`hub_dataset` and `hub_revision` name a Hub dataset repository to read. The parser spools
every file part to disk as it arrives; nothing is held in memory whole.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from fastapi import HTTPException, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from services.submission.hub_dataset import is_dataset_id
from services.submission.refusals import Refusal, RefusalCode
from shared.custom_tasks.spec import TASK_NAME, TaskMetadataFields, TaskType
from shared.events import Visibility
from shared.paths import OutsideFolderError, confined

ROLES = frozenset({"corpus", "queries", "qrels", "top_ranked", "pairs", "train", "test"})
"""The roles a file part may name (each may carry a split: `qrels:dev`)."""
DATA = "data"
"""The part name of a datasets folder's files (repeated, each named by its path)."""
HUB_DATASET, HUB_REVISION = "hub_dataset", "hub_revision"
FIELDS = frozenset({"name", "type", "metadata", "visibility", HUB_DATASET, HUB_REVISION})
SPLIT = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_PARTS = 200
"""File parts one upload may hold (a task has at most 100 files)."""
REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,199}")
SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}(\.gz)?$")


def invalid(message: str, name: str | None = None) -> Refusal:
    return Refusal(RefusalCode.INVALID_REQUEST, message, name)


@dataclass
class Upload:
    """What a task upload asks for, its files saved under the upload's folder."""

    name: str
    task_type: TaskType
    metadata: TaskMetadataFields
    visibility: Visibility | None
    files: dict[str, Path] = field(default_factory=dict)
    file_names: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None
    hub: tuple[str, str] | None = None
    """The Hub dataset id and revision to read the data from (no files then)."""


def role_of(part: str) -> str:
    """A file part's role, checked: `role` or `role:split`."""
    role, _, split = part.partition(":")
    if role not in ROLES or (split and not SPLIT.fullmatch(split)) or part.endswith(":"):
        raise invalid(
            f"unknown part {part!r}: name file parts by their role ({', '.join(sorted(ROLES))}, "
            "optionally `role:split`) or send a datasets folder as `data` parts",
            part,
        )
    return part


def text_field(value: str | UploadFile | None, name: str) -> str:
    if value is None:
        raise invalid(f"the form has no `{name}` field", name)
    if not isinstance(value, str):
        raise invalid(f"`{name}` must be a form field, not a file", name)
    return value


def metadata_of(value: str | UploadFile | None) -> TaskMetadataFields:
    if value is None:
        return TaskMetadataFields()
    try:
        return TaskMetadataFields.model_validate_json(text_field(value, "metadata") or "{}")
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise invalid(
            f"metadata: {first.get('msg', 'invalid')}", f"metadata.{where}" if where else "metadata"
        ) from None


def copy_file(source: BinaryIO, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


def folder_paths(names: list[str]) -> list[str]:
    """The paths inside the datasets folder: a folder chosen whole in a browser sends its own
    name first (`BIOSSES/README.md`), dropped when every path shares it and none is at the top."""
    parts = [PurePosixPath(name.replace("\\", "/")).parts for name in names]
    tops = {p[0] for p in parts if len(p) > 1}
    if len(tops) == 1 and all(len(p) > 1 for p in parts):
        parts = [p[1:] for p in parts]
    return ["/".join(p) for p in parts]


async def read_upload(request: Request, into: Path) -> Upload:
    """The upload's fields and files, saved under `into`; `invalid_request` for a malformed one."""
    try:
        form = await request.form(max_files=MAX_PARTS, max_fields=len(FIELDS) + 1)
    except HTTPException as error:  # the parser's own refusal (a malformed body, too many parts)
        raise invalid(f"not a valid multipart/form-data task upload: {error.detail}") from None
    try:
        return await saved_upload(form.multi_items(), into)
    finally:
        await form.close()


async def saved_upload(items: list[tuple[str, str | UploadFile]], into: Path) -> Upload:
    fields: dict[str, str | UploadFile] = {}
    role_files: dict[str, UploadFile] = {}
    data_files: list[UploadFile] = []
    for part, value in items:
        if part == DATA:
            if not isinstance(value, UploadFile) or not value.filename:
                raise invalid("each `data` part must be a file named by its path", DATA)
            data_files.append(value)
        elif part in FIELDS:
            if part in fields:
                raise invalid(f"`{part}` is given twice", part)
            fields[part] = value
        else:
            role = role_of(part)
            if not isinstance(value, UploadFile) or role in role_files:
                raise invalid(f"`{role}` must be one file", role)
            role_files[role] = value
    name = text_field(fields.get("name"), "name")
    if not re.fullmatch(TASK_NAME[1:-1], name):
        raise invalid(
            "a task name is letters, digits, `_` and `-`, a letter first, 64 at most", "name"
        )
    try:
        task_type = TaskType(text_field(fields.get("type"), "type"))
    except ValueError:
        types = ", ".join(t.value for t in TaskType)
        raise invalid(f"`type` must be one of {types}", "type") from None
    visibility = None
    if "visibility" in fields:
        try:
            visibility = Visibility(text_field(fields["visibility"], "visibility"))
        except ValueError:
            raise invalid("`visibility` is `private` or `public`", "visibility") from None
    upload = Upload(name, task_type, metadata_of(fields.get("metadata")), visibility)
    if HUB_DATASET in fields or HUB_REVISION in fields:
        upload.hub = hub_of(fields)
        if data_files or role_files:
            raise invalid("send either files or a Hub dataset, not both", HUB_DATASET)
        return upload
    if data_files and role_files:
        raise invalid("send either role files or a `data` folder, not both", DATA)
    if not data_files and not role_files:
        raise invalid("the upload holds no data files", DATA)
    await asyncio.to_thread(save_files, upload, role_files, data_files, into)
    return upload


def hub_of(fields: dict[str, str | UploadFile]) -> tuple[str, str]:
    """The Hub dataset id and revision, both required."""
    dataset = text_field(fields.get(HUB_DATASET), HUB_DATASET)
    if not is_dataset_id(dataset):
        raise invalid("`hub_dataset` is a Hub dataset id such as `org/name`", HUB_DATASET)
    revision = text_field(fields.get(HUB_REVISION), HUB_REVISION)
    if not REVISION.fullmatch(revision) or ".." in revision:
        raise invalid("`hub_revision` is a branch, tag or commit of the dataset", HUB_REVISION)
    return dataset, revision


def save_files(
    upload: Upload, role_files: dict[str, UploadFile], data_files: list[UploadFile], into: Path
) -> None:
    """Copy the spooled parts to `into` (role files under `parts/`, a folder under `folder/`)."""
    for index, (role, part) in enumerate(sorted(role_files.items())):
        original = part.filename or role
        suffix = match.group(0) if (match := SUFFIX.search(original)) else ""
        target = into / "parts" / f"{index}{suffix}"
        copy_file(part.file, target)
        upload.files[role] = target
        upload.file_names[role] = PurePosixPath(original.replace("\\", "/")).name or role
    if not data_files:
        return
    folder = into / "folder"
    paths = folder_paths([part.filename or "" for part in data_files])
    if len(set(paths)) != len(paths):
        raise invalid("two `data` parts name the same path", DATA)
    for path, part in zip(paths, data_files, strict=True):
        try:
            target = confined(folder, path)
        except OutsideFolderError:
            raise invalid(f"`data` part {path!r} leads outside the folder", DATA) from None
        copy_file(part.file, target)
    upload.folder = folder
