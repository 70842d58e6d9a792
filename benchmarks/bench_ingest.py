"""Benchmark custom task ingest: reading, checking and writing a task's data.

Run from the repository root: `python -m benchmarks.bench_ingest [--rows N]`.

Times `prepare_task` on SciFact (files by role, then the datasets folder) and on a synthetic
Retrieval task of N documents given as CSV/TSV (N queries, one relevant document each), against
the reference of reading the same files once with `json`/`csv` and nothing else, so the ratio is
what checking and writing cost on top of one plain read. Prints a Markdown table with the
process's peak RSS; nothing here is a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from shared.custom_tasks.ingest import prepare_task
from shared.custom_tasks.spec import TaskMetadataFields, TaskType

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "SciFact"


def plain_read(paths: list[Path]) -> int:
    """The reference: every row parsed once, nothing checked or written."""
    rows = 0
    for path in paths:
        with path.open(encoding="utf-8", newline="") as stream:
            if path.suffix == ".jsonl":
                rows += sum(1 for line in stream if json.loads(line))
            else:
                rows += sum(
                    1 for _ in csv.reader(stream, delimiter="\t" if path.suffix == ".tsv" else ",")
                )
    return rows


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def synthetic(folder: Path, rows: int) -> dict[str, Path]:
    """A Retrieval task of `rows` documents of about 600 characters, as CSV and TSV files."""
    words = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "iota",
        "kappa",
        "lambda",
        "mu",
    ]
    text = " ".join(words * 8)
    files = {"corpus": folder / "corpus.csv", "queries": folder / "queries.tsv"}
    files["qrels"] = folder / "qrels.tsv"
    with files["corpus"].open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["_id", "title", "text"])
        writer.writerows([f"d{i}", f"title {i}", f"{i} {text}"] for i in range(rows))
    with files["queries"].open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter="\t")
        writer.writerow(["_id", "text"])
        writer.writerows([f"q{i}", f"question {i} {words[i % 12]}"] for i in range(rows))
    with files["qrels"].open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter="\t")
        writer.writerow(["query-id", "corpus-id", "score"])
        writer.writerows([f"q{i}", f"d{i}", 1] for i in range(rows))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    arguments = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| input | rows | plain read s | prepare_task s | ratio | MB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        into = Path(scratch) / "into"
        scifact = {
            "corpus": SCIFACT / "corpus.jsonl",
            "queries": SCIFACT / "queries.jsonl",
            "qrels": SCIFACT / "qrels" / "test.jsonl",
        }
        big = synthetic(Path(scratch), arguments.rows)
        cases: list[tuple[str, dict[str, Path], dict[str, Path] | None, Path | None]] = [
            ("SciFact files (JSONL)", scifact, scifact, None),
            ("SciFact datasets folder", scifact, None, SCIFACT),
            (f"synthetic Retrieval, {arguments.rows:,} docs (CSV/TSV)", big, big, None),
        ]
        for label, paths, files, folder in cases:
            size = sum(path.stat().st_size for path in paths.values()) / 1e6
            rows = plain_read(list(paths.values()))
            reference = timed(partial(plain_read, list(paths.values())))
            metadata = TaskMetadataFields()
            ours = timed(
                partial(
                    prepare_task,
                    "bench",
                    TaskType.RETRIEVAL,
                    metadata,
                    files=files,
                    folder=folder,
                    into=into,
                )
            )
            ratio = ours / reference
            print(
                f"| {label} | {rows:,} | {reference:.2f} | {ours:.2f} | {ratio:.1f} | {size:.0f} |"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
