"""Live results of models outside mteb's registry store their metadata in `models`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from typing import Any

from mteb.models import ModelMeta

from services.aggregator.benchmarks import BenchmarkUpdater
from services.aggregator.handlers import Aggregator
from services.aggregator.live_models import Measured, live_meta, with_live_revision
from services.stack import Stack
from services.submission.validation import safetensors_parameters
from shared.bus import RESULTS, Bus
from shared.documents import (
    ModelDoc,
    ModelFacts,
    ModelRevision,
    SubmissionDoc,
    TaskProgress,
    benchmark_leaderboard_id,
)
from shared.events import Efficiency, ResultEvent, Subjects
from shared.store import Store
from shared.summary import models as model_columns
from shared.summary.models import model_meta
from shared.summary.table import BenchmarkRow
from tests.conftest import MODEL_ID
from tests.support.helpers import make_envelope, wait_for_submission

NEW_MODEL = "org/unregistered-minilm"
FACTS = ModelFacts(
    parameters=22_713_216,
    license="apache-2.0",
    languages=["en"],
    base_model=["nreimers/MiniLM-L6-H384-uncased"],
)
IMPORTED = {
    "name": NEW_MODEL,
    "revision": "r1",
    "n_parameters": 22_700_000,
    "embed_dim": None,
    "license": "mit",
    "training_datasets": {"MSMARCO": ["train"]},
}


def efficiency(parameters: int = 22_713_344, embedding_dim: int = 384) -> Efficiency:
    return Efficiency(
        texts_encoded=200,
        tokens_encoded=6000,
        encode_time_s=0.5,
        texts_per_s=400.0,
        tokens_per_s=12000.0,
        peak_rss_bytes=10**9,
        parameters=parameters,
        embedding_dim=embedding_dim,
    )


def biosses_result(score: float) -> dict[str, Any]:
    """A BIOSSES TaskResult JSON as mteb writes it, main score `score`."""
    subset = {"hf_subset": "default", "languages": ["eng-Latn"], "main_score": score}
    return {
        "dataset_revision": "d3fb88f8f02e40887cd149695127462bbcf29b4a",
        "evaluation_time": 0.4,
        "mteb_version": "2.26.24",
        "scores": {"test": [subset | {"cosine_spearman": score}]},
        "task_name": "BIOSSES",
    }


async def submit(store: Store, model: str, revision: str, facts: ModelFacts = FACTS) -> str:
    submission_id = uuid.uuid4().hex
    await store.insert_submission(
        SubmissionDoc(
            _id=submission_id,
            model=model,
            revision=revision,
            facts=facts,
            tasks=[TaskProgress(task="BIOSSES")],
        )
    )
    return submission_id


async def deliver_result(
    bus: Bus, aggregator: Aggregator, submission_id: str, model: str, revision: str
) -> None:
    """Publish a BIOSSES result of the submission and hand it (again) to `on_result`."""
    event = ResultEvent(
        submission_id=submission_id,
        model=model,
        revision=revision,
        task="BIOSSES",
        main_score=0.8,
        task_result=biosses_result(0.8),
        envelope=make_envelope(model=model, revision=revision, efficiency=efficiency()),
    )
    subject = Subjects.result(submission_id, "BIOSSES")
    await bus.publish(subject, event, f"result:{submission_id}:BIOSSES")
    pull = await bus.pull(RESULTS, f"test-{uuid.uuid4().hex[:8]}", subject)
    [msg] = await pull.fetch(1, timeout=10)
    await aggregator.on_result(msg)


async def benchmark_row(
    store: Store, benchmark: str, model: str, timeout: float = 30.0
) -> BenchmarkRow:
    """`model`'s row of the benchmark's table, once there (it follows the submission's end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        board = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(benchmark))
        rows = [row for row in board.table.rows if row.model == model] if board else []
        if rows:
            return rows[0]
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no row of {model} on {benchmark}")


def metas(model: ModelDoc) -> dict[str, dict[str, Any]]:
    return {entry.revision: json.loads(entry.meta_json or "null") for entry in model.revisions}


def test_live_metadata_is_an_mteb_model_meta_the_table_reads() -> None:
    fields = live_meta(NEW_MODEL, "r1", FACTS, Measured(22_713_344, 384, 512))

    validated = ModelMeta.model_validate(fields)
    assert validated.n_parameters == 22_713_216  # the safetensors header's count comes first
    assert (validated.embed_dim, validated.max_tokens) == (384, 512)
    assert validated.languages == ["eng-Latn"]
    assert validated.adapted_from == "nreimers/MiniLM-L6-H384-uncased"
    assert validated.open_weights is True and validated.license == "apache-2.0"
    assert validated.training_datasets is None
    meta = model_meta(NEW_MODEL, [json.dumps(fields)])
    assert model_columns.parameters_b(meta.n_parameters) == 0.023
    assert model_columns.embedding_size(meta.embed_dim) == 384
    assert model_columns.max_tokens(meta.max_tokens) == 512
    assert model_columns.zero_shot(meta, frozenset({"BIOSSES"})) == -1


def test_unknown_figures_stay_unknown() -> None:
    mirrored = ModelFacts(source="mirror", license="other")

    fields = live_meta(NEW_MODEL, "r1", mirrored, Measured())

    unknown = ("n_parameters", "memory_usage_mb", "embed_dim", "max_tokens", "license")
    assert all(fields[name] is None for name in unknown)
    assert fields["open_weights"] is None and fields["reference"] is None


def test_stored_fields_are_kept_and_missing_ones_filled() -> None:
    live = live_meta(NEW_MODEL, "r1", FACTS, Measured(22_713_344, 384, None))
    old = IMPORTED | {"revision": "a-old"}
    imported = ModelDoc(
        _id=NEW_MODEL,
        revisions=[
            ModelRevision(revision="a-old", meta_json=json.dumps(old)),
            ModelRevision(revision="r1", meta_json=None),  # a results folder without one
        ],
    )

    old_live = live | {"revision": "a-old"}
    merged = metas(with_live_revision(imported, NEW_MODEL, "a-old", old_live))["a-old"]
    assert {k: merged[k] for k in old} == old | {"embed_dim": 384}
    assert merged["languages"] == ["eng-Latn"]
    assert list(merged)[: len(old)] == list(old)  # the file's own order first

    new = metas(with_live_revision(imported, NEW_MODEL, "r1", live))["r1"]
    assert new["n_parameters"] == 22_713_216 and new["license"] == "apache-2.0"  # its own
    assert new["training_datasets"] == {"MSMARCO": ["train"]}  # the model's, as mteb's registry
    assert new["revision"] == "r1"

    once = with_live_revision(imported, NEW_MODEL, "r1", live)
    assert with_live_revision(once, NEW_MODEL, "r1", live) == once


async def test_a_live_result_of_an_unregistered_model_stores_its_metadata_for_the_table(
    store: Store, bus: Bus
) -> None:
    await store.ensure_aggregation_indexes()
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=0)
    aggregator = Aggregator(bus, store, updater)
    submission_id = await submit(store, NEW_MODEL, "r1")

    await deliver_result(bus, aggregator, submission_id, NEW_MODEL, "r1")

    stored = (await store.get_models([NEW_MODEL]))[NEW_MODEL]
    [(revision, meta)] = metas(stored).items()
    assert revision == "r1"
    assert (meta["n_parameters"], meta["embed_dim"], meta["license"]) == (
        22_713_216,
        384,
        "apache-2.0",
    )
    board = await store.get_benchmark_leaderboard(benchmark_leaderboard_id("MTEB(eng, v2)"))
    assert board is not None
    [row] = [row for row in board.table.rows if row.model == NEW_MODEL]
    assert (row.n_parameters_b, row.embed_dim, row.zero_shot) == (0.023, 384, -1)
    assert row.task_scores["BIOSSES"] == 0.8

    await deliver_result(bus, aggregator, submission_id, NEW_MODEL, "r1")  # redelivered
    assert (await store.get_models([NEW_MODEL]))[NEW_MODEL] == stored  # not even restamped

    later = await submit(store, NEW_MODEL, "r2")
    await deliver_result(bus, aggregator, later, NEW_MODEL, "r2")
    both = (await store.get_models([NEW_MODEL]))[NEW_MODEL]
    assert metas(both)["r1"] == meta
    assert metas(both)["r2"] == meta | {"revision": "r2"}


async def test_a_live_result_fills_but_never_overwrites_an_imported_model_meta(
    store: Store, bus: Bus
) -> None:
    imported = ModelDoc(
        _id=NEW_MODEL, revisions=[ModelRevision(revision="r1", meta_json=json.dumps(IMPORTED))]
    )
    assert await store.replace_models([(imported, None)]) == set()
    aggregator = Aggregator(bus, store, BenchmarkUpdater(store, None, bootstrap_resamples=0))
    submission_id = await submit(store, NEW_MODEL, "r1")

    await deliver_result(bus, aggregator, submission_id, NEW_MODEL, "r1")

    meta = metas((await store.get_models([NEW_MODEL]))[NEW_MODEL])["r1"]
    assert {k: meta[k] for k in IMPORTED} == IMPORTED | {"embed_dim": 384}
    assert meta["languages"] == ["eng-Latn"]


async def test_a_registry_model_gets_no_models_document(store: Store, bus: Bus) -> None:
    aggregator = Aggregator(bus, store, BenchmarkUpdater(store, None, bootstrap_resamples=0))
    submission_id = await submit(store, MODEL_ID, "r1")

    await deliver_result(bus, aggregator, submission_id, MODEL_ID, "r1")

    assert await store.get_models([MODEL_ID]) == {}
    assert await store.results.count_documents({"model": MODEL_ID}) == 1


async def test_a_guarded_model_write_loses_to_a_concurrent_one(store: Store) -> None:
    first = ModelDoc(_id=NEW_MODEL, revisions=[ModelRevision(revision="r1")])
    second = ModelDoc(_id=NEW_MODEL, revisions=[ModelRevision(revision="r2")])

    assert await store.replace_model(first, None)
    assert not await store.replace_model(second, None)  # one exists now
    stamp = (await store.get_models([NEW_MODEL]))[NEW_MODEL].stored_us
    assert await store.replace_model(second, stamp)
    assert not await store.replace_model(first, stamp)  # stamped anew by the write before
    assert (await store.get_models([NEW_MODEL]))[NEW_MODEL].revisions == second.revisions


async def test_end_to_end_an_unregistered_model_shows_its_measured_sizes(
    stack: Stack, stack_store: Store
) -> None:
    """The mirrored all-MiniLM-L6-v2 under a name mteb does not know, evaluated for real."""
    assert stack.settings.models_dir is not None
    alias = stack.settings.models_dir / NEW_MODEL
    alias.parent.mkdir(parents=True, exist_ok=True)
    alias.symlink_to((stack.settings.models_dir / MODEL_ID).resolve(), target_is_directory=True)
    submitted = subprocess.run(
        [sys.executable, "-m", "services.cli", "submit", NEW_MODEL, "--tasks", "BIOSSES"],
        env=stack.env | {"LEADERBOARD_API_URL": stack.api_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert submitted.returncode == 0, submitted.stderr

    finished = await wait_for_submission(stack.api_url, submitted.stdout.strip())

    assert finished["status"] == "completed", finished
    stored = (await stack_store.get_models([NEW_MODEL]))[NEW_MODEL]
    [meta] = metas(stored).values()
    header = safetensors_parameters(alias / "model.safetensors")
    assert (meta["n_parameters"], meta["embed_dim"], meta["max_tokens"]) == (header, 384, 256)
    assert meta["open_weights"] is None and meta["training_datasets"] is None  # not known
    row = await benchmark_row(stack_store, "MTEB(eng, v2)", NEW_MODEL)
    assert (row.n_parameters_b, row.embed_dim, row.max_tokens, row.zero_shot) == (
        0.023,
        384,
        256,
        -1,
    )
