"""Export of a model's results evaluated here in the results-repository layout, ready for
upstream (imported results too when asked).

`<out>/<org>__<name>/<revision>/<Task>.json` written by mteb's own `TaskResult.to_disk`, and
`model_meta.json` beside them when the model's metadata is known.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mteb.results import TaskResult
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError

from services.aggregator.results.intake import stored_task_json
from shared.documents import ModelDoc, ResultDoc
from shared.paths import confined
from shared.store import Store
from shared.summary.models import registered


class NothingToExportError(LookupError):
    """The store holds no result of the model to export."""


@dataclass
class ExportReport:
    """The files an export wrote."""

    files: list[Path] = field(default_factory=list)


def model_folder(model: str) -> str:
    """`org/name` as the results repository names its folder: `org__name`."""
    return model.replace("/", "__")


def meta_file_json(name: str, model: ModelDoc | None, revision: str) -> str | None:
    """The revision's `model_meta.json` as mteb's `save_to_cache` writes it.

    The stored one (imported with the results), else mteb's registry entry for the model at
    this revision; None for a model mteb does not know and that came without one.
    """
    entry = model.revision(revision) if model else None
    if entry is not None and entry.meta_json is not None:
        meta = json.loads(entry.meta_json)
    elif (registry_meta := registered(name)) is not None:
        meta = registry_meta.model_copy(update={"revision": revision}).to_dict()
    else:
        return None
    return json.dumps(meta, default=str, indent=4)


def write_as_mteb(task_result: dict[str, Any], path: Path) -> None:
    """Write a TaskResult's JSON to `path` exactly as mteb's `TaskResult.to_disk` does."""
    try:
        TaskResult.model_validate(task_result).to_disk(path)
    except ValidationError:
        # an old file that mteb converted on reading into a TaskResult its own validation
        # refuses (no dataset revision): the stored JSON is that object's dump, written as
        # `to_disk` writes a dump (scores rounded to 6 decimals, indented by 2)
        data = copy.deepcopy(task_result)
        TaskResult.model_construct()._round_scores(data["scores"], 6)
        with path.open("w", encoding="utf-8") as file:
            json.dump(data, file, indent=2)


def newest_first(result: ResultDoc) -> tuple[bool, Version]:
    """Sort key: results of the newest mteb version first (unparsable versions last)."""
    try:
        return True, Version(result.mteb_version or "")
    except InvalidVersion:
        return False, Version("0")


async def export_model(
    store: Store, model: str, out: Path, everything: bool = False
) -> ExportReport:
    """Write the results of `model` evaluated here (`everything`: every stored one, imported
    too) under `out`; one file per (revision, task).

    Of several mteb versions' results of one (revision, task), the newest mteb's is written.
    """
    results = await store.results_of_model(model, None if everything else "evaluator")
    if not results:
        if everything:
            raise NothingToExportError(f"no stored results of {model}")
        raise NothingToExportError(
            f"no results of {model} evaluated here (--all exports imported ones too)"
        )
    stored_model = (await store.get_models([model])).get(model)
    report = ExportReport()
    for revision in sorted({result.revision for result in results}):
        folder = confined(out, model_folder(model), revision)
        folder.mkdir(parents=True, exist_ok=True)
        by_task: dict[str, ResultDoc] = {}
        for result in sorted(results, key=newest_first, reverse=True):
            if result.revision == revision:
                by_task.setdefault(result.task, result)
        for task, result in sorted(by_task.items()):
            path = confined(folder, f"{task}.json")
            write_as_mteb(stored_task_json(result), path)
            report.files.append(path)
        meta = meta_file_json(model, stored_model, revision)
        if meta is not None:
            (folder / "model_meta.json").write_text(meta, encoding="utf-8")
            report.files.append(folder / "model_meta.json")
    return report
