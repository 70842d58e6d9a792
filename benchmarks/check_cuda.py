"""The evaluator on a CUDA GPU against the same evaluator on the CPU, in one run.

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python benchmarks/check_cuda.py \\
        --models MIRROR --datasets ../shared/datasets [--tasks BIOSSES STSBenchmark]

MIRROR holds sentence-transformers/all-MiniLM-L6-v2 (the evaluator's `LEADERBOARD_MODELS_DIR`
layout). For each task, the evaluator's `Runner` runs the job on the CPU (fp32) and on `cuda`
in fp32, fp16 and bf16: its main score, wall time, and what its result envelope reports
(device, dtype, GPU, peak GPU memory, encode throughput). Prints a Markdown report and a last
JSON line; nothing here is a test (CI has no GPU).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from services.evaluator.cache import ModelCache
from services.evaluator.runner import Runner
from shared.events import Dtype, Job

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
REVISION = "8b3219a92973c328a8e22fadcfa821b5dc75636a"
BATCH_SIZE = 32


def run(models: Path, datasets: Path, task: str, device: str, dtype: Dtype, batch: int) -> Any:
    runner = Runner(ModelCache(models, device, dtype), datasets, batch, "check")
    job = Job(submission_id="check", model=MODEL_ID, revision=REVISION, task=task)
    started = time.perf_counter()
    evaluation = runner.run(job, attempt=1)
    envelope = evaluation.envelope
    return {
        "task": task,
        "device": envelope.device,
        "dtype": envelope.dtype,
        "score": evaluation.main_score,
        "seconds": time.perf_counter() - started,
        "batch_size": envelope.batch_size,
        "gpu": envelope.hardware.gpu_name,
        "peak_gpu_mib": (envelope.efficiency.peak_gpu_memory_bytes or 0) / 2**20,
        "texts_per_s": envelope.efficiency.texts_per_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--datasets", type=Path, required=True)
    parser.add_argument("--tasks", nargs="+", default=["BIOSSES", "STSBenchmark"])
    args = parser.parse_args()
    assert torch.cuda.is_available(), "no CUDA device"
    rows = []
    for task in args.tasks:
        rows.append(run(args.models, args.datasets, task, "cpu", "fp32", BATCH_SIZE))
        for dtype in ("fp32", "fp16", "bf16"):
            rows.append(run(args.models, args.datasets, task, "cuda", dtype, BATCH_SIZE))
    cpu_scores = {row["task"]: row["score"] for row in rows if row["device"] == "cpu"}
    print("| task | device | dtype | main score | − CPU fp32 | s | texts/s | peak GPU MiB | GPU |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        difference = row["score"] - cpu_scores[row["task"]]
        print(
            f"| {row['task']} | {row['device']} | {row['dtype']} | {row['score']:.10f} | "
            f"{difference:+.1e} | {row['seconds']:.2f} | {row['texts_per_s']:.0f} | "
            f"{row['peak_gpu_mib']:.0f} | {row['gpu'] or '-'} |"
        )
    print(json.dumps({"runs": rows}))


if __name__ == "__main__":
    main()
