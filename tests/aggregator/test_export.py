"""`export`: stored results back in the results-repository layout, byte for byte as mteb writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mteb.results import TaskResult

from services.aggregator.results.export import NothingToExportError, export_model
from services.cli import main
from shared.bus import Bus
from shared.paths import OutsideFolderError
from shared.settings import get_settings
from shared.store import Store
from tests.support.aggregation_fixtures import LIVE_TASKS, evaluate_here, run_import
from tests.support.synthetic_results import MINILM, QWEN15, synthetic_checkout

QWEN = QWEN15  # old files too, which mteb converts on reading


def mteb_written(original: Path, scratch: Path) -> bytes:
    """What mteb's own `to_disk` writes for the TaskResult it reads from `original`."""
    target = scratch / original.name
    TaskResult.from_disk(original).to_disk(target)
    return target.read_bytes()


@pytest.mark.parametrize("model", [MINILM, QWEN])
async def test_exported_task_files_are_mtebs_own_to_disk_output(
    store: Store, tmp_path: Path, model: str
) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (model,))
    await run_import(store, checkout, resamples=0)
    out = tmp_path / "out"

    report = await export_model(store, model, out, everything=True)

    folder = model.replace("/", "__")
    originals = sorted(
        p for p in (checkout / "results" / folder).glob("*/*.json") if p.name != "model_meta.json"
    )
    assert originals
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for original in originals:
        exported = out / folder / original.parent.name / original.name
        assert exported.read_bytes() == mteb_written(original, scratch), original
    task_files = [p for p in report.files if p.name != "model_meta.json"]
    assert len(task_files) == len(originals)


async def test_model_meta_is_exported_beside_the_results(store: Store, tmp_path: Path) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM,))
    await run_import(store, checkout, resamples=0)

    await export_model(store, MINILM, tmp_path / "out", everything=True)

    [original] = checkout.glob("results/*/*/model_meta.json")
    exported = tmp_path / "out" / original.relative_to(checkout / "results")
    assert json.loads(exported.read_text()) == json.loads(original.read_text())


async def test_a_model_without_results_is_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NothingToExportError):
        await export_model(store, "org/never-evaluated", tmp_path / "out")
    assert not (tmp_path / "out").exists()


async def test_only_results_evaluated_here_are_exported_unless_all(
    store: Store, bus: Bus, tmp_path: Path
) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM,))
    await evaluate_here(store, bus, checkout, 0.5)
    await run_import(store, checkout, resamples=0)
    [folder] = checkout.glob("results/*/*/")
    exported = tmp_path / "ours" / folder.relative_to(checkout / "results")

    report = await export_model(store, MINILM, tmp_path / "ours")

    tasks = sorted(path.name for path in report.files if path.name != "model_meta.json")
    assert tasks == [f"{task}.json" for task in LIVE_TASKS]
    assert sorted(path.name for path in exported.iterdir()) == [*tasks, "model_meta.json"]
    biosses = TaskResult.from_disk(exported / "BIOSSES.json")
    assert biosses.scores["test"][0]["main_score"] == 0.5

    everything = await export_model(store, MINILM, tmp_path / "all", everything=True)

    originals = [p for p in folder.glob("*.json") if p.name != "model_meta.json"]
    assert len(everything.files) == len(originals) + 1
    all_biosses = tmp_path / "all" / exported.relative_to(tmp_path / "ours") / "BIOSSES.json"
    assert all_biosses.read_bytes() == (exported / "BIOSSES.json").read_bytes()  # the live one


async def test_a_model_with_imported_results_only_is_refused_without_all(
    store: Store, tmp_path: Path
) -> None:
    await run_import(store, synthetic_checkout(tmp_path / "checkout", (MINILM,)), resamples=0)

    with pytest.raises(NothingToExportError, match="--all"):
        await export_model(store, MINILM, tmp_path / "out")
    assert not (tmp_path / "out").exists()


async def test_the_export_command_writes_the_layout(
    store: Store, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM,))
    await run_import(store, checkout, resamples=0)
    monkeypatch.setenv("LEADERBOARD_MONGODB_URL", mongodb_url)
    monkeypatch.setenv("LEADERBOARD_MONGODB_DATABASE", store.db.name)
    get_settings.cache_clear()
    try:
        code = await asyncio_to_thread(["export", MINILM, "--out", str(tmp_path / "out"), "--all"])
        refused = await asyncio_to_thread(["export", "org/none", "--out", str(tmp_path / "x")])
        imported_only = await asyncio_to_thread(["export", MINILM, "--out", str(tmp_path / "y")])
    finally:
        get_settings.cache_clear()

    assert code == 0
    assert len(list((tmp_path / "out").glob("*/*/*.json"))) == 42  # 41 tasks and model_meta
    assert refused == imported_only == 2
    assert not (tmp_path / "y").exists()


async def asyncio_to_thread(argv: list[str]) -> int:
    """The CLI runs its own event loop: run it beside the test's."""
    import asyncio

    return await asyncio.to_thread(main, argv)


async def test_a_revision_leading_out_of_the_folder_is_refused(
    store: Store, tmp_path: Path
) -> None:
    """A stored revision like `../../x` (taken before revisions were checked) writes nothing
    outside `--out`."""
    checkout = synthetic_checkout(tmp_path / "checkout", (MINILM,))
    await run_import(store, checkout, resamples=0)
    await store.results.update_many({"model": MINILM}, {"$set": {"revision": "../../../escaped"}})
    out = tmp_path / "deep" / "er" / "out"

    with pytest.raises(OutsideFolderError):
        await export_model(store, MINILM, out, everything=True)

    assert not list(tmp_path.rglob("escaped"))
