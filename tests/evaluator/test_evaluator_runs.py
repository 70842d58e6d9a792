"""The evaluator's runs on real mteb: official scores, a true envelope, failure classes, cache."""

from __future__ import annotations

import json
import weakref
from pathlib import Path

import datasets
import mteb
import pytest
import torch
from sentence_transformers import SentenceTransformer

from services.evaluator.cache import ModelCache
from services.evaluator.failures import JobFailure
from services.evaluator.hardware import cpu_model
from services.evaluator.runner import Runner
from shared.events import FailureKind, Job
from tests.conftest import MODEL_ID
from tests.support.offline_data import data, offline_datasets
from tests.test_e2e import OFFICIAL, REVISION

__all__ = ["data", "offline_datasets"]  # fixtures


class MemoryCappedModel(SentenceTransformer):
    """all-MiniLM-L6-v2 on a device that holds only `max_batch` texts at once: a larger forward
    pass runs out of memory, raising what torch raises on a full GPU."""

    max_batch = 16

    def forward(self, input: dict, **kwargs: object) -> dict:  # type: ignore[override]
        if input["input_ids"].shape[0] > self.max_batch:
            raise torch.OutOfMemoryError(f"out of memory: {self.max_batch} texts fit")
        return super().forward(input, **kwargs)


@pytest.fixture(scope="module")
def runner(models_dir: Path, data: Path) -> Runner:
    return Runner(ModelCache(models_dir, "cpu"), data, 32, "runs-test")


def job(task: str, model: str = MODEL_ID) -> Job:
    return Job(submission_id="s-runs", model=model, revision=REVISION, task=task)


@pytest.mark.parametrize("task", sorted(OFFICIAL))
def test_scores_equal_the_official_ones(runner: Runner, task: str) -> None:
    evaluation = runner.run(job(task), attempt=1)
    assert evaluation.main_score == pytest.approx(OFFICIAL[task], abs=1e-9)


def test_envelope_fields_are_present_and_true(runner: Runner, data: Path) -> None:
    evaluation = runner.run(job("BIOSSES"), attempt=2)
    envelope, measured = evaluation.envelope, evaluation.envelope.efficiency
    assert envelope.attempt == 2
    assert (envelope.dtype, envelope.batch_size, envelope.device) == ("fp32", 32, "cpu")
    assert envelope.versions["mteb"] == mteb.__version__
    assert envelope.versions["torch"] == torch.__version__
    assert envelope.hardware is not None
    assert envelope.hardware.cpu_model == cpu_model()
    assert envelope.hardware.torch_threads == torch.get_num_threads()
    assert envelope.hardware.gpu_name is None

    rows = [json.loads(line) for line in (data / "BIOSSES" / "test.jsonl").open()]
    texts = [row["sentence1"] for row in rows] + [row["sentence2"] for row in rows]
    model = runner.models.get(MODEL_ID, REVISION).encoder.model
    tokens = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)
    assert measured is not None
    assert measured.texts_encoded == len(texts) == 200
    assert measured.tokens_encoded == sum(len(ids) for ids in tokens["input_ids"])
    assert 0 < measured.encode_time_s <= envelope.evaluation_time_s
    assert measured.texts_per_s == pytest.approx(measured.texts_encoded / measured.encode_time_s)
    assert measured.tokens_per_s == pytest.approx(measured.tokens_encoded / measured.encode_time_s)
    assert measured.parameters == sum(p.numel() for p in model.parameters()) == 22_713_216
    assert measured.embedding_dim == 384
    assert measured.max_tokens == 256
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    assert weights < measured.peak_rss_bytes < 64 * 2**30
    assert measured.peak_gpu_memory_bytes is None


def test_out_of_memory_retries_once_with_half_the_batch(models_dir: Path, data: Path) -> None:
    cache = ModelCache(models_dir, "cpu", model_class=MemoryCappedModel)
    evaluation = Runner(cache, data, 32, "oom-test").run(job("BIOSSES"), attempt=1)
    assert evaluation.envelope.batch_size == 16
    assert evaluation.main_score == pytest.approx(OFFICIAL["BIOSSES"], abs=1e-6)

    cache.get(MODEL_ID, REVISION).encoder.model.max_batch = 8
    with pytest.raises(JobFailure) as failed:
        Runner(cache, data, 32, "oom-test").run(job("BIOSSES"), attempt=1)
    assert failed.value.kind == FailureKind.OUT_OF_MEMORY
    assert not failed.value.transient
    assert "32 and 16" in failed.value.reason
    assert failed.value.trace_id


def test_broken_task_data_is_a_data_failure(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a cache of its own: the datasets library would serve the good BIOSSES copy cached earlier
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf")
    folder = tmp_path / "BIOSSES"
    folder.mkdir()
    header = "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n"
    (folder / "README.md").write_text(header + "    path: test.jsonl\n---\n")
    (folder / "test.jsonl").write_text('{"sentence1": "a", "sentence2": \n')
    runner = Runner(ModelCache(models_dir, "cpu"), tmp_path, 32, "broken-data-test")
    with pytest.raises(JobFailure) as failed:
        runner.run(job("BIOSSES"), attempt=1)
    assert failed.value.kind == FailureKind.DATA_LOAD
    assert not failed.value.transient


def test_data_neither_local_nor_on_the_hub_is_unavailable(runner: Runner) -> None:
    with pytest.raises(JobFailure) as failed:
        runner.run(job("STS12"), attempt=1)
    assert failed.value.kind == FailureKind.DATA_UNAVAILABLE
    assert failed.value.reason.startswith("STS12: no local copy")


def test_an_unloadable_model_is_a_model_load_failure(runner: Runner) -> None:
    with pytest.raises(JobFailure) as failed:
        runner.run(job("BIOSSES", model="nobody/no-such-model"), attempt=1)
    assert failed.value.kind == FailureKind.MODEL_LOAD


def test_a_task_past_its_time_limit_times_out(models_dir: Path, data: Path) -> None:
    runner = Runner(ModelCache(models_dir, "cpu"), data, 32, "timeout-test", timeout_s=1e-6)
    with pytest.raises(JobFailure) as failed:
        runner.run(job("BIOSSES"), attempt=1)
    assert failed.value.kind == FailureKind.TIMEOUT


def test_bf16_weights_are_used_and_recorded(models_dir: Path, data: Path) -> None:
    cache = ModelCache(models_dir, "cpu", dtype="bf16")
    evaluation = Runner(cache, data, 32, "bf16-test").run(job("BIOSSES"), attempt=1)
    model = cache.get(MODEL_ID, REVISION).encoder.model
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert evaluation.envelope.dtype == "bf16"
    assert evaluation.main_score == pytest.approx(OFFICIAL["BIOSSES"], abs=0.02)


def test_cache_keeps_n_models_and_frees_the_evicted(models_dir: Path, tmp_path: Path) -> None:
    for name in ("org/a", "org/b"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).symlink_to(models_dir / MODEL_ID, target_is_directory=True)
    kept = ModelCache(tmp_path, "cpu", size=2)
    first = kept.get("org/a", "r")
    kept.get("org/b", "r")
    assert kept.get("org/a", "r") is first
    assert list(kept.loaded) == [("org/b", "r"), ("org/a", "r")]

    single = ModelCache(tmp_path, "cpu", size=1)
    evicted = weakref.ref(single.get("org/a", "r").encoder.model)
    single.get("org/b", "r")
    assert list(single.loaded) == [("org/b", "r")]
    assert evicted() is None
