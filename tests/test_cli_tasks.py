"""`leaderboard tasks …` and `leaderboard benchmarks …` as a user runs them, against the API
served by uvicorn on a real port (a real nats-server, the Mongo-wire server)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from services.submission.operator import ensure_operator_key
from shared.embedded import free_port
from tests.conftest import MODEL_ID, SHARED_DATASETS
from tests.submission.test_gate import uvicorn_serving
from tests.support.hub_server import running_hub, sha_of
from tests.support.service import own_nats_url, service_settings
from tests.test_cli import HEAVY

__all__ = ["own_nats_url"]  # fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def served(
    own_nats_url: str, mongodb_url: str, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The API under uvicorn; the environment the CLI runs with (its URL and an admin key)."""
    settings = service_settings(
        own_nats_url, mongodb_url, tmp_path_factory.mktemp("cli-tasks"), models_dir=models_dir
    )
    key = ensure_operator_key(settings)
    with running_hub() as hub_url, uvicorn_serving(settings, HfApi(endpoint=hub_url)) as (url, _):
        yield {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "HOME": str(settings.data_dir),
            "LEADERBOARD_API_URL": url,
            "LEADERBOARD_API_KEY": key,
        }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_task_commands_import_nothing_heavy(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import sys
        from services.cli import main
        print(main(["tasks", "list"]), main(["tasks", "create", "x", "--type", "STS",
                                               "--pairs", "{tmp_path / "p.tsv"}"]))
        print([name for name in {HEAVY!r} if name in sys.modules])
        """
    )
    (tmp_path / "p.tsv").write_text("sentence1\tsentence2\tscore\na\tb\t1\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "LEADERBOARD_API_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    codes, imported = done.stdout.splitlines()
    assert codes == "2 2" and "cannot reach the submission API" in done.stderr
    assert imported == "[]"


@pytest.mark.skipif(not (SHARED_DATASETS / "BIOSSES").is_dir(), reason="needs shared datasets")
def test_create_from_a_datasets_folder_list_show_publish_delete(served: dict[str, str]) -> None:
    name = fresh("biosses")
    created = cli(
        served, "tasks", "create", name, "--type", "STS",
        "--data", str(SHARED_DATASETS / "BIOSSES"), "--score-range", "0,4",
        "--description", "BIOSSES as a custom task", "--license", "unknown",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == name
    assert "private STS task, revision" in created.stderr

    listed = cli(served, "tasks", "list")
    assert listed.returncode == 0
    assert f"{name}\tSTS\tprivate\t" in listed.stdout
    shown = json.loads(cli(served, "tasks", "show", name).stdout)
    assert shown["spec"]["score_range"] == [0.0, 4.0]
    assert shown["spec"]["description"] == "BIOSSES as a custom task"

    again = cli(served, "tasks", "create", name, "--type", "STS",
                "--data", str(SHARED_DATASETS / "BIOSSES"), "--score-range", "0,4")  # fmt: skip
    assert again.returncode == 1 and "duplicate_task" in again.stderr

    published = cli(served, "tasks", "publish", name)
    assert published.returncode == 0, published.stderr
    assert json.loads(cli(served, "tasks", "show", name).stdout)["visibility"] == "public"

    best = cli(served, "tasks", "best", name, "--models", MODEL_ID, "--priority", "low")
    assert best.returncode == 0, best.stderr
    submission_id, model = best.stdout.split()
    assert model == MODEL_ID and submission_id

    unasked = cli(served, "tasks", "delete", name)  # no terminal: asks for --yes
    assert unasked.returncode == 1
    assert "confirmation" in unasked.stderr or "--yes" in unasked.stderr
    assert "0 result(s)" in unasked.stderr
    deleted = cli(served, "tasks", "delete", name, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == f"deleted {name}: 0 result(s) went with it"
    gone = cli(served, "tasks", "show", name)
    assert gone.returncode == 1 and "task_not_found" in gone.stderr


@pytest.mark.skipif(not (SHARED_DATASETS / "SciFact").is_dir(), reason="needs shared datasets")
def test_create_a_retrieval_task_from_files(served: dict[str, str]) -> None:
    scifact = SHARED_DATASETS / "SciFact"
    name = fresh("scifact")
    created = cli(
        served, "tasks", "create", name, "--type", "Retrieval",
        "--corpus", str(scifact / "corpus.jsonl"), "--queries", str(scifact / "queries.jsonl"),
        "--qrels", str(scifact / "qrels" / "test.jsonl"), "--domains", "Academic,Medical",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    shown = json.loads(cli(served, "tasks", "show", name).stdout)
    assert shown["spec"]["type"] == "Retrieval"
    assert shown["spec"]["main_score"] == "ndcg_at_10"


@pytest.mark.skipif(not (SHARED_DATASETS / "BIOSSES").is_dir(), reason="needs shared datasets")
def test_create_from_a_hub_dataset_and_revision(served: dict[str, str]) -> None:
    name = fresh("hubsts")
    created = cli(
        served, "tasks", "create", name, "--type", "STS", "--score-range", "0,4",
        "--hub-dataset", "hub-test/biosses", "--hub-revision", "main",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert f"from hub-test/biosses@{sha_of('dataset-biosses')}" in created.stderr
    local = cli(
        served, "tasks", "create", fresh("localsts"), "--type", "STS", "--score-range", "0,4",
        "--data", str(SHARED_DATASETS / "BIOSSES"),
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    shown = json.loads(cli(served, "tasks", "show", name).stdout)
    revision = shown["spec"]["revision"]
    assert f"revision {revision[:12]}" in local.stderr

    missing = cli(
        served, "tasks", "create", fresh("hubsts"), "--type", "STS", "--score-range", "0,4",
        "--hub-dataset", "hub-test/biosses", "--hub-revision", "no-such-tag",
    )  # fmt: skip
    assert missing.returncode == 1 and "revision_not_found" in missing.stderr
    unpinned = cli(served, "tasks", "create", fresh("hubsts"), "--type", "STS",
                   "--hub-dataset", "hub-test/biosses")  # fmt: skip
    assert unpinned.returncode == 1 and "--hub-revision" in unpinned.stderr


def test_a_broken_file_prints_the_typed_error_with_file_line_and_field(
    served: dict[str, str], tmp_path: Path
) -> None:
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("sentence1\tsentence2\tscore\na\tb\t1\nc\td\t7\n")
    name = fresh("broken")
    done = cli(served, "tasks", "create", name, "--type", "STS", "--pairs", str(pairs),
               "--score-range", "0,5")  # fmt: skip
    assert done.returncode == 1
    assert "score_out_of_range" in done.stderr
    assert "file pairs.tsv" in done.stderr and "line 3" in done.stderr
    assert "field score" in done.stderr
    assert cli(served, "tasks", "show", name).returncode == 1


def test_benchmark_commands(served: dict[str, str], tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(
            json.dumps({"sentence1": f"a{i}", "sentence2": f"b{i}", "score": i}) + "\n"
            for i in range(5)
        )
    )
    task = fresh("mine")
    assert cli(served, "tasks", "create", task, "--type", "STS", "--pairs", str(pairs),
               "--score-range", "0,5").returncode == 0  # fmt: skip
    public = cli(served, "benchmarks", "create", fresh("b"), "--tasks", f"{task},BIOSSES",
                 "--public")  # fmt: skip
    assert public.returncode == 1 and "private_task_in_public_benchmark" in public.stderr
    name = fresh("b")
    created = cli(served, "benchmarks", "create", name, "--tasks", f"{task},BIOSSES")
    assert created.returncode == 0, created.stderr
    assert f"{name}\tprivate\t" in cli(served, "benchmarks", "list").stdout
    assert json.loads(cli(served, "benchmarks", "show", name).stdout)["tasks"] == [task, "BIOSSES"]
    assert cli(served, "tasks", "publish", task).returncode == 0
    assert cli(served, "benchmarks", "publish", name).returncode == 0
    deleted = cli(served, "benchmarks", "delete", name)
    assert deleted.returncode == 0 and deleted.stdout.strip() == f"deleted {name}"
