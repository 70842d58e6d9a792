"""The web under load: 32 concurrent clients per page, before and after a code change, one run.

    python benchmarks/bench_web.py [--checkout ../shared/mteb-results] [--seconds 60]
        [--clients 32] [--baseline-root /work/main] [--baseline-seconds 60] [--churn-s 5]

The public results checkout is imported (as `leaderboard import-results` does) into a fresh
embedded Mongo-wire server; then the web service (`python -m services.web`, as `leaderboard up`
starts it, one process, logging at INFO) serves it from this checkout and, when
`--baseline-root` is given, from that one (say, the main branch before this change) against the
same store, one after the other. Each page is loaded by `hey -z SECONDS -c CLIENTS` (Go's client,
keep-alive, `Accept-Encoding: gzip` sent by hand so that it takes the compressed bytes as they
come instead of unpacking them), which leaves the machine's cores to the server more than a
Python client would. A page that is not served (404) by a checkout is replaced by its stand-in and
marked so. Reported per page: requests/s, p50/p90/p99 and slowest latency, non-200 answers and
errors, the first (uncached) answer's time, and the web process's RSS after the page's run and
its peak. With `--churn-s`, this checkout's pages are loaded once more while the store's data
version moves every CHURN_S seconds (as when results arrive), so every page is rendered again
that often. Prints a Markdown report; nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import mteb
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT = ROOT.parent / "shared" / "mteb-results"
DATABASE = "bench_web"
ENG_V2 = "MTEB(eng, v2)"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Target:
    """A page under load, with the page standing in for it where a checkout lacks it."""

    name: str
    path: str
    stand_in: str | None = None


def targets() -> list[Target]:
    benchmark = quote(ENG_V2)
    subset = [task.metadata.name for task in mteb.get_benchmark(ENG_V2).tasks][:8]
    return [
        Target("summary, 300+ rows", f"/benchmarks/{benchmark}"),
        Target("summary .json", f"/benchmarks/{benchmark}.json"),
        Target(
            "custom 8-task subset",
            f"/benchmarks/{benchmark}?{urlencode({'task': subset}, doseq=True)}",
        ),
        Target("model page", f"/models/{MINILM}", stand_in="/tasks/BIOSSES"),
        Target("chart page", f"/charts/size/{benchmark}", stand_in=None),
        Target("task page", "/tasks/BIOSSES"),
    ]


@dataclass
class Load:
    """What `hey` measured on one page."""

    page: str
    path: str
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    slowest_ms: float
    answered: int
    not_200: int
    errors: int
    first_ms: float
    rss_mib: float
    peak_rss_mib: float
    note: str = ""


def rss_mib(pid: int) -> tuple[float, float]:
    """The process's resident memory now and its peak, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    values = {
        key: int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]
        for key in ("VmRSS", "VmHWM")
    }
    return values["VmRSS"], values["VmHWM"]


def hey(url: str, seconds: int, clients: int) -> dict[str, float]:
    """`hey`'s summary of `url` under load, parsed."""
    out = subprocess.run(
        # asked for by name, gzip reaches hey as sent: it counts the bytes, unpacks nothing
        ["hey", "-z", f"{seconds}s", "-c", str(clients), "-H", "Accept-Encoding: gzip", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def number(pattern: str) -> float:
        found = re.search(pattern, out)
        return float(found.group(1)) if found else 0.0

    statuses = {int(code): int(n) for code, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out)}
    errors = sum(int(n) for n in re.findall(r"\[(\d+)\]\s+Get ", out))
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "p50": number(r"50%+ in ([\d.]+) secs") * 1000,
        "p90": number(r"90%+ in ([\d.]+) secs") * 1000,
        "p99": number(r"99%+ in ([\d.]+) secs") * 1000,
        "slowest": number(r"Slowest:\s+([\d.]+) secs") * 1000,
        "answered": sum(statuses.values()),
        "not_200": sum(n for code, n in statuses.items() if code != 200),
        "errors": errors,
    }


def start_web(root: Path, mongodb_url: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ) | {
        "PYTHONPATH": str(root),
        "LEADERBOARD_MONGODB_URL": mongodb_url,
        "LEADERBOARD_MONGODB_DATABASE": DATABASE,
        "LEADERBOARD_WEB_PORT": str(port),
    }
    web = subprocess.Popen(
        [sys.executable, "-m", "services.web"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return web
        except httpx.TransportError:
            time.sleep(0.2)
    web.kill()
    raise TimeoutError("the web did not start")


@contextmanager
def data_churn(mongodb_url: str, every_s: float | None) -> Iterator[None]:
    """Move the store's data version every `every_s` seconds meanwhile, as stored results do."""
    if every_s is None:
        yield
        return
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_url)
    stopped = threading.Event()

    def bump() -> None:
        while not stopped.wait(every_s):
            client[DATABASE]["meta"].update_one(
                {"_id": "data"}, {"$inc": {"version": 1}}, upsert=True
            )

    thread = threading.Thread(target=bump, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopped.set()
        thread.join()
        client.close()


def load_pages(
    root: Path,
    mongodb_url: str,
    seconds: int,
    clients: int,
    port: int,
    churn_s: float | None = None,
) -> list[Load]:
    web = start_web(root, mongodb_url, port)
    base = f"http://127.0.0.1:{port}"
    loads = []
    try:
        for target in targets():
            path, note = target.path, ""
            started = time.perf_counter()
            first = httpx.get(base + path, timeout=120)
            first_ms = (time.perf_counter() - started) * 1000
            if first.status_code == 404:
                if target.stand_in is None:
                    print(f"skipped {target.name}: {path} not served here", file=sys.stderr)
                    continue
                path, note = target.stand_in, f"stand-in: {path} not served"
                started = time.perf_counter()
                httpx.get(base + path, timeout=120).raise_for_status()
                first_ms = (time.perf_counter() - started) * 1000
            with data_churn(mongodb_url, churn_s):
                measured = hey(base + path, seconds, clients)
            rss, peak = rss_mib(web.pid)
            loads.append(
                Load(
                    target.name,
                    path,
                    measured["rps"],
                    measured["p50"],
                    measured["p90"],
                    measured["p99"],
                    measured["slowest"],
                    int(measured["answered"]),
                    int(measured["not_200"]),
                    int(measured["errors"]),
                    first_ms,
                    rss,
                    peak,
                    note,
                )
            )
            print(f"{root.name}: {target.name} {measured}", file=sys.stderr)
    finally:
        web.terminate()
        web.wait(10)
    return loads


async def import_results(mongodb_url: str, checkout: Path) -> None:
    from shared.store import Store
    from tests.support.aggregation_fixtures import run_import

    store = Store(mongodb_url, DATABASE)
    try:
        report = await run_import(store, checkout, resamples=1000)
        print(f"imported: {report}"[:300], file=sys.stderr)
    finally:
        await store.close()


def git_head(root: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def report(runs: dict[str, list[Load]], seconds: dict[str, int], clients: int) -> str:
    lines = [
        f"{platform.node()}, {os.cpu_count()} cores, load average before: "
        f"{os.getloadavg()[0]:.1f}; {clients} clients per page",
        "",
        "| code | page | s | requests/s | p50 ms | p90 ms | p99 ms | slowest ms | answered "
        "| non-200 | errors "
        "| first answer ms | RSS after MiB | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for code, loads in runs.items():
        for load in loads:
            page = load.page + (f" ({load.note})" if load.note else "")
            lines.append(
                f"| {code} | {page} | {seconds[code]} | {load.requests_per_s:.0f} "
                f"| {load.p50_ms:.1f} | {load.p90_ms:.1f} | {load.p99_ms:.1f} "
                f"| {load.slowest_ms:.0f} | {load.answered} "
                f"| {load.not_200} | {load.errors} | {load.first_ms:.0f} | {load.rss_mib:.0f} "
                f"| {load.peak_rss_mib:.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=CHECKOUT)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--baseline-root", type=Path, default=None)
    parser.add_argument("--baseline-seconds", type=int, default=60)
    parser.add_argument(
        "--churn-s",
        type=float,
        default=None,
        help="also load this checkout's pages while the data version moves every CHURN_S s",
    )
    args = parser.parse_args()
    if shutil.which("hey") is None:
        sys.exit("needs hey (apt-get install -y hey)")
    from shared.embedded import free_port, start_mongo_wire, stop

    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        server = start_mongo_wire(Path(data), port)
        mongodb_url = f"mongodb://127.0.0.1:{port}"
        try:
            asyncio.run(import_results(mongodb_url, args.checkout))
            runs: dict[str, list[Load]] = {}
            seconds: dict[str, int] = {}
            if args.baseline_root is not None:
                code = f"before ({args.baseline_root.name} {git_head(args.baseline_root)})"
                seconds[code] = args.baseline_seconds
                runs[code] = load_pages(
                    args.baseline_root,
                    mongodb_url,
                    args.baseline_seconds,
                    args.clients,
                    free_port(),
                )
            code = f"this checkout ({git_head(ROOT)})"
            seconds[code] = args.seconds
            runs[code] = load_pages(ROOT, mongodb_url, args.seconds, args.clients, free_port())
            if args.churn_s is not None:
                code = f"this checkout, data version moved every {args.churn_s:g} s"
                seconds[code] = args.seconds
                runs[code] = load_pages(
                    ROOT, mongodb_url, args.seconds, args.clients, free_port(), args.churn_s
                )
        finally:
            stop(server)
    print(report(runs, seconds, args.clients))


if __name__ == "__main__":
    main()
