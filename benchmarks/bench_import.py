"""Import of the public results and live leaderboard updates, beside mteb's own load, in one run.

    python benchmarks/bench_import.py [--checkout ../shared/mteb-results] [--repeats 20]

1. Load: mteb 2.26's `ResultCache.load_results` of the checkout as its leaderboard rebuild calls
   it (registry models, main scores, experiments by name), against our `import-results` of the
   same files into a fresh embedded Mongo-wire server: validation, conversion, bulk writes of
   the results and model documents (the store part), then the recompute of every affected
   benchmark while the task leaderboards are written (the leaderboard part).
2. A second import of the same files (nothing changes, nothing is written).
3. One new result → updated leaderboard documents: a BIOSSES result of a model outside mteb's
   pool stored (a new score each repeat) and mirrored, then `BenchmarkUpdater.refresh` as the
   aggregator's result handler calls it: the mirror synced (what others stored) and the
   benchmarks containing BIOSSES (MTEB(eng, v1), MTEB(eng, v2)) recomputed with 1,000
   bootstrap resamples (and with none) and their documents replaced; median over repeats, with
   its parts.

Each part runs in a process of its own, so each peak RSS (the process's high-water mark, worker
processes reported apart) is that part's alone. Prints a Markdown report; nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from shared.memory import collect_cycles_rarely, freeze_loaded_objects, keep_freed_memory

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT = ROOT.parent / "shared" / "mteb-results"
DATABASE = "bench"
MIB = 1024  # ru_maxrss is in KiB


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / MIB


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (worker processes)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def server_cpu_s(pid: int) -> float:
    """CPU seconds the Mongo-wire server (process `pid`) has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def part_mteb(checkout: Path) -> dict[str, Any]:
    from mteb.cache import ResultCache
    from mteb.cache.result_cache import LoadExperimentEnum
    from mteb.models.get_model_meta import get_model_metas

    names = [meta.name for meta in get_model_metas() if meta.name is not None]
    started, cpu = time.perf_counter(), cpu_s()
    results = ResultCache(checkout).load_results(
        models=names,
        only_main_score=True,
        require_model_meta=False,
        include_remote=False,
        load_experiments=LoadExperimentEnum.MATCH_NAME,
    )
    seconds, cpu = time.perf_counter() - started, cpu_s() - cpu
    loaded = sum(len(model.task_results) for model in results.model_results)
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "task_results": loaded,
        "peak_rss_mib": peak_rss_mib(),
    }


async def part_import(checkout: Path, url: str) -> dict[str, Any]:
    from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
    from services.aggregator.results.importer import Importer
    from shared.store import Store

    store = Store(url, DATABASE)
    await store.ensure_indexes()
    await store.ensure_aggregation_indexes()
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=1000)
    refresh = updater.refresh
    timing: dict[str, float] = {}

    async def timed_refresh(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        stored = await refresh(*args, **kwargs)
        timing["recompute_s"] = time.perf_counter() - started
        return stored

    updater.refresh = timed_refresh  # type: ignore[method-assign]
    cpu = cpu_s()
    report = await Importer(store, updater).run(checkout)
    cpu = cpu_s() - cpu
    await store.close()
    return {
        "cpu_s": cpu,
        "seconds": report.seconds,
        "store_s": report.store_seconds,
        "recompute_s": timing.get("recompute_s", 0.0),
        "files": report.files,
        "stored": report.stored,
        "unchanged": report.unchanged,
        "skipped": len(report.skipped),
        "benchmarks": len(report.benchmarks),
        "peak_rss_mib": peak_rss_mib(),
        "workers_peak_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN),
    }


async def part_update(url: str, repeats: int, resamples: int) -> dict[str, Any]:
    from mteb.results import TaskResult

    from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
    from services.aggregator.results.intake import result_doc
    from shared.store import Store
    from shared.summary.tasks import benchmarks_containing

    store = Store(url, DATABASE)
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=resamples)
    started = time.perf_counter()
    await updater.prime()
    prime_s = time.perf_counter() - started
    freeze_loaded_objects()  # as the aggregator does after its start
    source = next((CHECKOUT / "results" / "sentence-transformers__all-MiniLM-L6-v2").glob("*"))
    task_result = TaskResult.from_disk(source / "BIOSSES.json")
    parts: dict[str, list[float]] = {"store": [], "sync": [], "table": [], "write": []}
    table, publish, sync = updater.table, updater.publish, updater.mirror.sync

    def timed_table(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        built = table(*args, **kwargs)
        parts["table"].append(time.perf_counter() - began)
        return built

    async def timed_publish(*args: Any) -> Any:
        began = time.perf_counter()
        stored = await publish(*args)
        parts["write"].append(time.perf_counter() - began)
        return stored

    async def timed_sync(*args: Any) -> Any:
        began = time.perf_counter()
        changed = await sync(*args)
        parts["sync"].append(time.perf_counter() - began)
        return changed

    updater.table = timed_table  # type: ignore[method-assign]
    updater.publish = timed_publish  # type: ignore[method-assign]
    updater.mirror.sync = timed_sync  # type: ignore[method-assign]
    totals = []
    for repeat in range(repeats):
        task_result.scores["test"][0]["main_score"] = 0.5 + repeat / 1000
        began = time.perf_counter()
        model = f"bench/new-model-{resamples}"  # outside mteb's pool, a new score each time
        doc = result_doc(task_result, model, "r1", source="evaluator")
        updater.note_stored(doc, await store.upsert_result(doc))
        parts["store"].append(time.perf_counter() - began)
        stored = await updater.refresh({"BIOSSES"})  # as the aggregator's result handler does
        totals.append(time.perf_counter() - began)
        assert len(stored) == 2
        assert all(model in {row.model for row in board.table.rows} for board in stored)
    await store.close()
    n_benchmarks = len(benchmarks_containing(["BIOSSES"]))
    return {
        "prime_s": prime_s,
        "median_ms": statistics.median(totals) * 1000,
        "p90_ms": sorted(totals)[int(0.9 * (len(totals) - 1))] * 1000,
        "store_ms": statistics.median(parts["store"]) * 1000,
        "sync_ms": statistics.median(parts["sync"]) * 1000,
        "table_ms_each": statistics.median(parts["table"]) * 1000,
        "write_ms_each": statistics.median(parts["write"]) * 1000,
        "benchmarks": n_benchmarks,
        "repeats": repeats,
        "resamples": resamples,
        "peak_rss_mib": peak_rss_mib(),
    }


def run_part(*args: str) -> dict[str, Any]:
    """Run one part in a fresh Python process; its JSON report."""
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def server_peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> str:
    from services.evaluator.hardware import cpu_model

    cpu = cpu_model()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, load average {load:.1f} at start"


def report(checkout: Path, repeats: int) -> None:
    from shared.embedded import free_port, start_mongo_wire, stop

    files = [p for p in checkout.glob("results/*/*/*.json") if p.name != "model_meta.json"]
    for path in files:  # the page cache warm for both sides
        path.read_bytes()
    print(f"machine: {machine()}")
    print(f"checkout: {checkout} ({len(files)} result files)\n")
    mteb_load = run_part("--part", "mteb", "--checkout", str(checkout))
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        server = start_mongo_wire(Path(data), port)
        url = f"mongodb://127.0.0.1:{port}"
        try:
            server_cpu = server_cpu_s(server.pid)
            first = run_part("--part", "import", "--checkout", str(checkout), "--url", url)
            first["server_cpu_s"] = server_cpu_s(server.pid) - server_cpu
            server_cpu = server_cpu_s(server.pid)
            second = run_part("--part", "import", "--checkout", str(checkout), "--url", url)
            second["server_cpu_s"] = server_cpu_s(server.pid) - server_cpu
            updates = [
                run_part(
                    "--part", "update", "--url", url, "--repeats", str(repeats), "--resamples", n
                )
                for n in ("1000", "0")
            ]
            server_mib = server_peak_mib(server.pid)
        finally:
            stop(server)
    print("| step | time | CPU | peak RSS |")
    print("|---|---|---|---|")
    print(
        f"| mteb `ResultCache.load_results` ({mteb_load['task_results']} task results) "
        f"| {mteb_load['seconds']:.1f} s | {mteb_load['cpu_s']:.1f} s "
        f"| {mteb_load['peak_rss_mib']:.0f} MiB |"
    )
    for label, run in (("first import", first), ("second import", second)):
        print(
            f"| {label}, store part ({run['stored']} written, {run['unchanged']} unchanged, "
            f"{run['skipped']} skipped) | {run['store_s']:.1f} s "
            f"| {run['cpu_s']:.1f} s + server {run['server_cpu_s']:.1f} s "
            f"| {run['peak_rss_mib']:.0f} MiB, workers {run['workers_peak_rss_mib']:.0f} MiB |"
        )
        print(
            f"| {label}, recompute of {run['benchmarks']} benchmarks (1,000 resamples), "
            f"task leaderboards written meanwhile | {run['recompute_s']:.1f} s | | |"
        )
        print(f"| {label}, total | {run['seconds']:.1f} s | | |")
    for update in updates:
        print(
            f"| one new result → {update['benchmarks']} leaderboard documents, "
            f"{update['resamples']} resamples, median of {update['repeats']} "
            f"(p90 {update['p90_ms']:.0f} ms) | {update['median_ms']:.0f} ms "
            f"| | {update['peak_rss_mib']:.0f} MiB |"
        )
        print(
            f"|   of which: store the result {update['store_ms']:.1f} ms, read what others "
            f"stored {update['sync_ms']:.1f} ms, per benchmark: table "
            f"{update['table_ms_each']:.0f} ms, "
            f"document write and announcement {update['write_ms_each']:.1f} ms (one table after "
            "the other in a worker thread, from the task parts kept since the last update) | | | |"
        )
    print(f"| aggregator start (mirror the store) | {updates[0]['prime_s']:.1f} s | | |")
    print(f"\nembedded Mongo-wire server peak RSS: {server_mib:.0f} MiB")
    print("\n```json")
    parts = {"mteb": mteb_load, "import": first, "reimport": second, "updates": updates}
    print(json.dumps(parts))
    print("```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkout", type=Path, default=CHECKOUT)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--part", choices=["mteb", "import", "update"])
    parser.add_argument("--url")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    keep_freed_memory()  # as the aggregator and the import command do; for mteb's load too
    collect_cycles_rarely()
    if args.part == "mteb":
        result = part_mteb(args.checkout)
    elif args.part == "import":
        result = asyncio.run(part_import(args.checkout, args.url))
    elif args.part == "update":
        result = asyncio.run(part_update(args.url, args.repeats, args.resamples))
    else:
        report(args.checkout, args.repeats)
        return
    print(json.dumps(result))


if __name__ == "__main__":
    main()
