"""Live results of models outside mteb's registry store their metadata in `models`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import mteb
import pytest
from mteb.models import ModelMeta

from services.aggregator.handlers import Aggregator
from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.aggregator.results.models import Measured, live_meta, with_live_revision
from services.stack import Stack
from services.submission.model_files import ModelDetails, config_details, folder_reader
from services.submission.validation import ModelResolver, safetensors_parameters
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
from tests.support.hub_server import ORG, SMALL_PARAMETERS, sha_of
from tests.support.service import hub_url, own_nats_url, service

__all__ = ["hub_url", "own_nats_url"]  # fixtures

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


def test_declared_sizes_come_before_measured_ones_and_give_active_parameters() -> None:
    declared = FACTS.model_copy(
        update={
            "embed_dim": 256,
            "max_tokens": 128,
            "embedding_parameters": 11_720_448,
            "release_date": "2021-08-30",
        }
    )

    meta = ModelMeta.model_validate(live_meta(NEW_MODEL, "r1", declared, Measured(1, 384, 512)))

    assert (meta.embed_dim, meta.max_tokens, meta.release_date) == (256, 128, "2021-08-30")
    assert meta.n_active_parameters == 22_713_216 - 11_720_448
    measured_only = live_meta(NEW_MODEL, "r1", ModelFacts(), Measured(7, 384, 512))
    assert (measured_only["n_parameters"], measured_only["embed_dim"]) == (7, 384)
    assert measured_only["max_tokens"] == 512


async def test_a_mirrored_models_files_say_what_mtebs_registry_says_of_it(
    models_dir: Path,
) -> None:
    """all-MiniLM-L6-v2's folder read as any mirrored model's: its registry entry's figures."""
    registry = mteb.get_model_meta(MODEL_ID)
    resolver = ModelResolver(models_dir)
    described = await resolver.describe(MODEL_ID, None)

    details = await resolver.details(MODEL_ID, described)

    assert (details.embed_dim, details.max_tokens, details.embedding_parameters) == (
        registry.embed_dim,
        registry.max_tokens,
        registry.n_embedding_parameters,
    )
    assert details.release_date is None  # a folder has no history
    assert described.license == registry.license
    assert described.languages == ["en"] and described.base_model == []


def write_json(folder: Path, files: dict[str, Any]) -> None:
    for name, body in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(body if isinstance(body, str) else json.dumps(body))


TRANSFORMER = {"type": "sentence_transformers.models.Transformer", "path": "0_Transformer"}
POOLING = {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "modules.json": [TRANSFORMER, POOLING],
                "0_Transformer/config.json": {"hidden_size": 768, "vocab_size": 10},
                "0_Transformer/sentence_bert_config.json": {"max_seq_length": 384},
                "1_Pooling/config.json": {
                    "word_embedding_dimension": 768,
                    "pooling_mode_cls_token": True,
                    "pooling_mode_mean_tokens": True,
                },
            },
            ModelDetails(embed_dim=1536, max_tokens=384, embedding_parameters=7680),
            id="module-folders-and-two-pooling-modes",
        ),
        pytest.param(
            {
                "config_sentence_transformers.json": {},
                "config.json": {"hidden_size": 1024, "max_position_embeddings": 8192},
            },
            ModelDetails(embed_dim=1024, max_tokens=8192),
            id="no-modules-mtebs-config-fields",
        ),
        pytest.param(
            {"modules.json": "{not json", "config.json": {"hidden_size": True}},
            ModelDetails(),
            id="unreadable",
        ),
    ],
)
def test_sizes_are_read_as_sentence_transformers_builds_the_model(
    tmp_path: Path, files: dict[str, Any], expected: ModelDetails
) -> None:
    write_json(tmp_path, files)

    assert config_details(NEW_MODEL, folder_reader(tmp_path)) == expected


async def test_a_broken_card_leaves_a_mirrored_models_card_facts_unknown(tmp_path: Path) -> None:
    folder = tmp_path / NEW_MODEL
    folder.mkdir(parents=True)
    write_json(folder, {"modules.json": [], "README.md": "---\nlicense: [mit\n---\n"})

    described = await ModelResolver(tmp_path).describe(NEW_MODEL, None)

    assert (described.license, described.languages, described.base_model) == (None, [], [])


async def test_a_hub_failure_reading_sizes_and_date_leaves_them_unknown(
    own_nats_url: str, mongodb_url: str, hub_url: str, tmp_path: Path
) -> None:
    async with service(own_nats_url, mongodb_url, hub_url, tmp_path) as svc:
        body = {"model": f"{ORG}/flaky", "tasks": ["BIOSSES"]}
        response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
        assert response.status_code == 202, response.text  # not refused for them
        validated = await svc.store.get_submission(response.json()["id"])

    assert validated is not None and validated.facts.parameters == SMALL_PARAMETERS
    unknown = (validated.facts.embed_dim, validated.facts.max_tokens, validated.facts.release_date)
    assert unknown == (None, None, None)


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


async def test_a_hub_models_validated_facts_make_its_model_document_and_table_row(
    store: Store,
    bus: Bus,
    own_nats_url: str,
    mongodb_url: str,
    hub_url: str,
    tmp_path: Path,
) -> None:
    """A Hub model's card, configuration and history, read by validation (the fake Hub)."""
    model = f"{ORG}/public"
    async with service(own_nats_url, mongodb_url, hub_url, tmp_path) as svc:
        body = {"model": model, "tasks": ["BIOSSES"]}
        response = await svc.api.post("/v1/submissions", json=body, headers=svc.auth())
        assert response.status_code == 202, response.text
        validated = await svc.store.get_submission(response.json()["id"])
    assert validated is not None
    await store.ensure_aggregation_indexes()
    aggregator = Aggregator(bus, store, BenchmarkUpdater(store, None, bootstrap_resamples=0))
    sha = sha_of("public")
    submission_id = await submit(store, model, sha, validated.facts)

    await deliver_result(bus, aggregator, submission_id, model, sha)

    meta = ModelMeta.model_validate(metas((await store.get_models([model]))[model])[sha])
    assert (meta.n_parameters, meta.n_embedding_parameters) == (SMALL_PARAMETERS, 1000 * 384)
    assert (meta.embed_dim, meta.max_tokens) == (256, 128)  # the Dense layer's; not measured
    assert (meta.release_date, meta.license, meta.languages) == (
        "2023-05-17",
        "mit",
        ["deu-Latn", "eng-Latn"],
    )
    assert meta.adapted_from == "org/base" and meta.training_datasets is None
    row = await benchmark_row(store, "MTEB(eng, v2)", model)
    assert (row.n_parameters_b, row.embed_dim, row.max_tokens, row.zero_shot) == (
        0.001,
        256,
        128,
        -1,
    )


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
    assert meta["n_parameters"] == header
    registry = mteb.get_model_meta(MODEL_ID).to_dict()  # what mteb says of the original
    same = ("n_embedding_parameters", "embed_dim", "max_tokens", "license", "languages")
    assert {name: meta[name] for name in same} == {name: registry[name] for name in same}
    assert meta["release_date"] is None  # a mirrored folder has no history
    assert meta["open_weights"] is None and meta["training_datasets"] is None  # not known
    row = await benchmark_row(stack_store, "MTEB(eng, v2)", NEW_MODEL)
    assert (row.n_parameters_b, row.n_active_parameters_b, row.embed_dim, row.max_tokens) == (
        0.023,
        0.011,
        384,
        256,
    )
    assert row.zero_shot == -1
