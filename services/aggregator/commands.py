"""`leaderboard import-results`, `export` and `show`: the aggregator's store from the command line.

They use LEADERBOARD_MONGODB_URL (default: the embedded server of `leaderboard up`); an import
announces the leaderboards it changed on LEADERBOARD_NATS_URL when that is set.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from services.aggregator.leaderboards.benchmarks import BenchmarkUpdater
from services.aggregator.results.checkout import ImportSourceError
from services.aggregator.results.export import NothingToExportError, export_model
from services.aggregator.results.importer import Importer, ImportReport, Progress
from shared.bus import Bus
from shared.custom_tasks import catalogue
from shared.documents import BenchmarkLeaderboardDoc, benchmark_leaderboard_id
from shared.memory import collect_cycles_rarely, keep_freed_memory
from shared.settings import Settings, get_settings
from shared.store import Store
from shared.summary.display import Format, Pool, in_pool, render
from shared.summary.table import BenchmarkTable
from shared.summary.tasks import UnknownBenchmarkError, benchmark_named

BUS_CONNECT_TIMEOUT_S = 10.0


def store_of(settings: Settings) -> Store:
    url = settings.mongodb_url or f"mongodb://127.0.0.1:{settings.embedded_mongodb_port}"
    return Store(url, settings.mongodb_database)


def print_progress(progress: Progress) -> None:
    print(
        f"\rimport: {progress.folders_done}/{progress.folders} folders, "
        f"{progress.stored} results stored, {progress.skipped} skipped",
        end="",
        file=sys.stderr,
        flush=True,
    )


def print_report(report: ImportReport) -> None:
    print(file=sys.stderr)
    print(
        f"{report.files} files: {report.stored} results stored, {report.unchanged} unchanged, "
        f"{len(report.skipped)} skipped; {report.models_stored} models stored; "
        f"{len(report.benchmarks)} benchmark leaderboards updated; "
        f"{report.seconds:.1f} s ({report.store_seconds:.1f} s to store)"
    )
    if report.replaced_evaluated:
        print(f"  replaced {report.replaced_evaluated} results evaluated here (--replace)")
    for reason, count in Counter(skip.reason for skip in report.skipped).most_common():
        print(f"  skipped {count}× {reason}")
    for skip in report.skipped:
        print(f"  {skip.path}: {skip.reason}", file=sys.stderr)


async def import_results(path: Path, recompute: bool, replace: bool) -> int:
    keep_freed_memory()
    collect_cycles_rarely()
    settings = get_settings()
    store = store_of(settings)
    bus = None
    if settings.nats_url and recompute:
        bus = await asyncio.wait_for(
            Bus.connect(settings.nats_url, "import", **settings.nats_login("aggregator")),
            BUS_CONNECT_TIMEOUT_S,
        )
    try:
        await store.ensure_indexes()
        await store.ensure_aggregation_indexes()
        await catalogue.refresh(store)  # custom benchmarks holding imported tasks
        updater = (
            BenchmarkUpdater(
                store,
                bus,
                bootstrap_resamples=settings.bootstrap_resamples,
                snapshot_retention_days=settings.snapshot_retention_days,
            )
            if recompute
            else None
        )
        importer = Importer(store, updater, print_progress, replace=replace)
        print_report(await importer.run(path))
        if bus is None and recompute:
            print("LEADERBOARD_NATS_URL unset: updates stored, not announced", file=sys.stderr)
        return 0
    finally:
        await store.close()
        if bus is not None:
            await bus.close()


async def export(model: str, out: Path, everything: bool) -> int:
    store = store_of(get_settings())
    try:
        report = await export_model(store, model, out, everything)
    finally:
        await store.close()
    for path in report.files:
        print(path)
    return 0


async def load_table(
    store: Store, benchmark: str, tasks: list[str] | None, bootstrap_resamples: int
) -> tuple[BenchmarkTable, BenchmarkLeaderboardDoc | None]:
    """The stored table of `benchmark`, or one computed from the stored results for a custom
    task subset (or a benchmark that has no stored table); the stored document if used."""
    await catalogue.refresh(store)  # custom benchmarks too
    chosen = benchmark_named(benchmark)
    if tasks is None:
        stored = await store.get_benchmark_leaderboard(benchmark_leaderboard_id(chosen.name))
        if stored is not None:
            return stored.table, stored
    updater = BenchmarkUpdater(store, None, bootstrap_resamples=bootstrap_resamples)
    await updater.prime()
    return await asyncio.to_thread(updater.table, chosen, tasks), None


async def show(benchmark: str, tasks: list[str] | None, fmt: Format, pool: Pool) -> int:
    keep_freed_memory()
    settings = get_settings()
    store = store_of(settings)
    try:
        table, stored = await load_table(store, benchmark, tasks, settings.bootstrap_resamples)
    finally:
        await store.close()
    table = in_pool(table, pool)
    about: dict[str, Any] = (
        {"version": stored.version, "generated_at": stored.generated_at.isoformat()}
        if stored
        else {"version": None, "computed": "now, from the stored results"}
    )
    sys.stdout.write(render(table, fmt, about))
    return 0


def cmd_import_results(args: argparse.Namespace) -> int:
    return asyncio.run(import_results(Path(args.path), not args.no_recompute, args.replace))


def cmd_export(args: argparse.Namespace) -> int:
    return asyncio.run(export(args.model, Path(args.out), args.all))


def cmd_show(args: argparse.Namespace) -> int:
    tasks = [task.strip() for task in args.tasks.split(",") if task.strip()] if args.tasks else None
    return asyncio.run(show(args.benchmark, tasks, Format(args.format), Pool(args.pool)))


def run_reporting_errors(args: argparse.Namespace) -> int:
    """Run the chosen command; bad input is one line on stderr and exit status 2."""
    try:
        return int(args.command_run(args))
    except (ImportSourceError, NothingToExportError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
    except UnknownBenchmarkError as error:
        print(f"error: unknown benchmark {error.args[0]!r}", file=sys.stderr)
    return 2
