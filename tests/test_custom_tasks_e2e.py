"""Custom tasks end to end through the running stack, as a user drives it with the CLI: a task
made from the shared datasets scores all-MiniLM-L6-v2 as mteb's own task of that data does, and
its result names the task's data revision."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from services.stack import Stack
from shared.store import Store
from tests.conftest import MODEL_ID
from tests.test_e2e import OFFICIAL

SCIFACT_NDCG_AT_10 = 0.64508
"""mteb's SciFact main score of all-MiniLM-L6-v2 (its test split)."""


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI against the stack, given time for an evaluation on a busy machine."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=stack.env | {"LEADERBOARD_API_URL": stack.api_url},
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )


def create_and_submit(stack: Stack, name: str, *create: str) -> dict[str, Any]:
    """Make the task with the CLI, submit MiniLM on it and wait: its one task's progress."""
    made = cli(stack, "tasks", "create", name, *create)
    assert made.returncode == 0, made.stderr
    done = cli(stack, "submit", MODEL_ID, "--tasks", name, "--wait", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    final = json.loads(done.stdout[done.stdout.index("{") :])
    [task] = final["tasks"]
    assert isinstance(task, dict)
    return task


async def revision_of_result(stack_store: Store, name: str) -> tuple[str | None, str]:
    stored = await stack_store.get_custom_task(name)
    assert stored is not None
    [result] = await stack_store.results_for_task(name)
    return result.dataset_revision, stored.spec.revision


async def test_an_sts_task_from_the_biosses_folder_scores_as_biosses(
    stack: Stack, stack_store: Store, datasets_dir: Path | None
) -> None:
    if datasets_dir is None:
        pytest.skip("needs the shared datasets")
    name = f"biosses-{uuid.uuid4().hex[:6]}"
    task = create_and_submit(
        stack, name, "--type", "STS", "--data", str(datasets_dir / "BIOSSES"),
        "--score-range", "0,4",
    )  # fmt: skip
    assert task["state"] == "done"
    assert abs(task["main_score"] - OFFICIAL["BIOSSES"]) < 1e-6
    result_revision, spec_revision = await revision_of_result(stack_store, name)
    assert result_revision == spec_revision


@pytest.mark.timeout(1800)  # SciFact's 5,183 documents on the CPU
async def test_a_retrieval_task_from_the_scifact_files_scores_as_scifact(
    stack: Stack, stack_store: Store, datasets_dir: Path | None
) -> None:
    if datasets_dir is None:
        pytest.skip("needs the shared datasets")
    scifact = datasets_dir / "SciFact"
    name = f"scifact-{uuid.uuid4().hex[:6]}"
    task = create_and_submit(
        stack, name, "--type", "Retrieval",
        "--corpus", str(scifact / "corpus.jsonl"), "--queries", str(scifact / "queries.jsonl"),
        "--qrels", str(scifact / "qrels" / "test.jsonl"),
    )  # fmt: skip
    assert task["state"] == "done"
    assert abs(task["main_score"] - SCIFACT_NDCG_AT_10) <= 5e-6  # the published value, rounded
    result_revision, spec_revision = await revision_of_result(stack_store, name)
    assert result_revision == spec_revision
