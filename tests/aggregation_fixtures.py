"""A small copy of the public results checkout, and an importer over it, for the issue-5 tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from services.aggregator.benchmarks import BenchmarkUpdater
from services.aggregator.importer import Importer, ImportReport
from shared.bus import Bus
from shared.store import Store

PUBLIC_RESULTS = Path(__file__).resolve().parents[2] / "shared" / "mteb-results" / "results"

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MODELS = (
    MINILM,  # one revision, all 41 MTEB(eng, v2) tasks
    "Alibaba-NLP/gte-Qwen1.5-7B-instruct",  # a sha, `no_revision_available`, an empty `external`
    "Alibaba-NLP/gte-Qwen2-1.5B-instruct",  # a sha and `external`
    "BAAI/bge-base-en-v1.5",  # `external` and a sha
    "codefuse-ai/F2LLM-v2-80M",  # an `experiments/` folder
)


def copy_checkout(target: Path, models: tuple[str, ...] = MODELS) -> Path:
    """A checkout holding `models`' folders of the public results (copied: tests may edit it)."""
    for model in models:
        folder = model.replace("/", "__")
        shutil.copytree(PUBLIC_RESULTS / folder, target / "results" / folder)
    return target


async def run_import(
    store: Store, checkout: Path, bus: Bus | None = None, resamples: int = 100
) -> ImportReport:
    """Import `checkout` into `store` as `leaderboard import-results` does."""
    await store.ensure_aggregation_indexes()
    updater = BenchmarkUpdater(store, bus, bootstrap_resamples=resamples)
    return await Importer(store, updater, workers=2).run(checkout)
