"""`leaderboard tasks …` and `leaderboard benchmarks …`: custom tasks and benchmarks through the
submission API, with the standard library only (uploads are streamed from disk)."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.cli import Answer, api, fail, send

ROLE_OPTIONS = ("corpus", "queries", "qrels", "top_ranked", "pairs", "train", "test")
TASK_TYPES = ("Retrieval", "Reranking", "STS", "PairClassification", "Classification", "Clustering")
UPLOAD_TIMEOUT_S = 3600.0
"""An upload is checked whole before the answer comes: large ones take a while."""


@dataclass(frozen=True)
class FilePart:
    """One file of an upload: its part name, the filename sent, and where it is read from."""

    name: str
    filename: str
    path: Path


class Multipart:
    """A `multipart/form-data` body streamed from disk, its length known up front."""

    def __init__(self, fields: dict[str, str], files: list[FilePart]) -> None:
        self.boundary = f"leaderboard-{uuid.uuid4().hex}"
        self.fields = fields
        self.files = files

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def head(self, name: str, filename: str | None = None) -> bytes:
        quoted = name.replace('"', "%22")
        disposition = f'form-data; name="{quoted}"'
        if filename is not None:
            disposition += f'; filename="{filename.replace(chr(34), "%22")}"'
            extra = "\r\nContent-Type: application/octet-stream"
        else:
            extra = ""
        return f"--{self.boundary}\r\nContent-Disposition: {disposition}{extra}\r\n\r\n".encode()

    def field_bytes(self) -> bytes:
        return b"".join(
            self.head(name) + value.encode() + b"\r\n" for name, value in self.fields.items()
        )

    def tail(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        files = sum(
            len(self.head(part.name, part.filename)) + part.path.stat().st_size + 2
            for part in self.files
        )
        return len(self.field_bytes()) + files + len(self.tail())

    def __iter__(self) -> Iterator[bytes]:
        yield self.field_bytes()
        for part in self.files:
            yield self.head(part.name, part.filename)
            with part.path.open("rb") as file:
                while block := file.read(1 << 20):
                    yield block
            yield b"\r\n"
        yield self.tail()


def listed(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def metadata_of(args: argparse.Namespace) -> dict[str, Any]:
    """The metadata options given (the API defaults the rest)."""
    metadata: dict[str, Any] = {}
    if args.description is not None:
        metadata["description"] = args.description
    if args.languages:
        metadata["languages"] = listed(args.languages)
    if args.domains:
        metadata["domains"] = listed(args.domains)
    if args.main_score:
        metadata["main_score"] = args.main_score
    if args.splits:
        metadata["eval_splits"] = listed(args.splits)
    if args.license:
        metadata["license"] = args.license
    if args.score_range:
        low, _, high = args.score_range.partition(",")
        metadata["score_range"] = [float(low), float(high)]
    return metadata


def upload_files(args: argparse.Namespace) -> list[FilePart]:
    """The files to send: by role, or every file of the `--data` folder by its path inside."""
    files = [
        FilePart(role, Path(path).name, Path(path))
        for role in ROLE_OPTIONS
        if (path := getattr(args, role)) is not None
    ]
    for given in args.file or []:
        role, _, path = given.partition("=")
        files.append(FilePart(role, Path(path).name, Path(path)))
    if args.data is not None:
        folder = Path(args.data)
        files += [
            FilePart("data", path.relative_to(folder).as_posix(), path)
            for path in sorted(folder.rglob("*"))
            if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts)
        ]
    return files


def cmd_create(args: argparse.Namespace) -> int:
    try:
        metadata = metadata_of(args)
    except ValueError:
        print("error: --score-range is LOW,HIGH (two numbers)", file=sys.stderr)
        return 1
    if args.data is not None and not Path(args.data).is_dir():
        print(f"error: no such folder: {args.data}", file=sys.stderr)
        return 1
    files = upload_files(args)
    missing = [str(part.path) for part in files if not part.path.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 1
    hub = {"hub_dataset": args.hub_dataset, "hub_revision": args.hub_revision}
    if args.hub_dataset is not None and (files or args.hub_revision is None):
        print("error: --hub-dataset takes --hub-revision and no files", file=sys.stderr)
        return 1
    if not files and args.hub_dataset is None:
        print(
            "error: give the data: files by role (--pairs, …), --data FOLDER or --hub-dataset ID",
            file=sys.stderr,
        )
        return 1
    fields = {"name": args.name, "type": args.type, "metadata": json.dumps(metadata)}
    if args.hub_dataset is not None:
        fields |= hub
    if args.public:
        fields["visibility"] = "public"
    body = Multipart(fields, files)
    headers = {"Content-Type": body.content_type, "Content-Length": str(len(body))}
    response = send("POST", "/v1/tasks", iter(body), headers, UPLOAD_TIMEOUT_S)
    if response.status_code != 201:
        return fail(response)
    task = response.json()
    print(task["name"])
    spec, source = task["spec"], task.get("source")
    print(
        f"{task['visibility']} {spec['type']} task, revision {spec['revision'][:12]}, "
        f"{len(spec['files'])} file(s), main score {spec['main_score']}"
        + (f", from {source['hub_dataset']}@{source['hub_commit']}" if source else ""),
        file=sys.stderr,
    )
    return 0


def show(response: Answer, expected: int = 200) -> int:
    """Print the JSON answer; its error when it is not `expected`."""
    if response.status_code != expected:
        return fail(response)
    print(json.dumps(response.json(), indent=2))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    response = api("GET", f"/v1/{args.kind}")
    if response.status_code != 200 or args.format == "json":
        return show(response)
    for entry in response.json():
        if args.kind == "tasks":
            spec = entry["spec"]
            print(f"{entry['name']}\t{spec['type']}\t{entry['visibility']}\t{entry['owner']}")
        else:
            tasks = ",".join(entry["tasks"])
            print(f"{entry['name']}\t{entry['visibility']}\t{entry['owner']}\t{tasks}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    return show(api("GET", f"/v1/{args.kind}/{args.name}"))


def cmd_publish(args: argparse.Namespace) -> int:
    response = api("POST", f"/v1/{args.kind}/{args.name}/publish")
    if response.status_code != 200:
        return fail(response)
    print(f"{args.name} is public", file=sys.stderr)
    return 0


def confirmed(name: str, message: str) -> bool:
    """Whether the user at the terminal types the name back."""
    if not sys.stdin.isatty():
        print(f"{message}\n(not a terminal: give --yes to delete)", file=sys.stderr)
        return False
    print(message, file=sys.stderr)
    return input(f"type {name} to delete it: ").strip() == name


def cmd_delete_task(args: argparse.Namespace) -> int:
    if not args.yes:
        asked = api("DELETE", f"/v1/tasks/{args.name}")
        error = error_of(asked)
        if error.get("code") != "confirmation_required":
            return fail(asked)
        if not confirmed(args.name, error["message"]):
            return 1
    response = api("DELETE", f"/v1/tasks/{args.name}?confirm={args.name}")
    if response.status_code != 200:
        return fail(response)
    answer = response.json()
    print(f"deleted {args.name}: {answer['results_deleted']} result(s) went with it")
    if unfinished := answer.get("unfinished_evaluations"):
        print(
            f"{unfinished} submission(s) still had it queued or running: "
            "an evaluator that must fetch its data fails them as data_unavailable",
            file=sys.stderr,
        )
    return 0


def error_of(response: Answer) -> dict[str, Any]:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return {}
    return error if isinstance(error, dict) else {}


def cmd_delete_benchmark(args: argparse.Namespace) -> int:
    response = api("DELETE", f"/v1/benchmarks/{args.name}")
    if response.status_code != 200:
        return fail(response)
    print(f"deleted {args.name}")
    return 0


def cmd_best(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"top": args.top, "priority": args.priority}
    if args.benchmark:
        body["benchmark"] = args.benchmark
    if args.max_parameters is not None:
        body["max_parameters"] = args.max_parameters
    if args.models:
        body["models"] = listed(args.models)
    response = api("POST", f"/v1/{args.kind}/{args.name}/best-models", body)
    if response.status_code != 202:
        return fail(response)
    answer = response.json()
    for entry in answer["submissions"]:
        print(f"{entry['submission_id']}\t{entry['model']}")
    for entry in answer["skipped"]:
        print(f"skipped {entry['model']}: {entry['reason']}", file=sys.stderr)
    return 0


def cmd_create_benchmark(args: argparse.Namespace) -> int:
    body = {
        "name": args.name,
        "description": args.description or "",
        "tasks": listed(args.tasks),
        "visibility": "public" if args.public else "private",
    }
    response = api("POST", "/v1/benchmarks", body)
    if response.status_code != 201:
        return fail(response)
    created = response.json()
    print(created["name"])
    print(f"{created['visibility']} benchmark of {len(created['tasks'])} task(s)", file=sys.stderr)
    return 0


def add_best(actions: argparse._SubParsersAction[argparse.ArgumentParser], kind: str) -> None:
    best = actions.add_parser(
        "best", help=f"queue the best models of a registry benchmark on a custom {kind}"
    )
    best.add_argument("name")
    best.add_argument("--benchmark", help="registry benchmark ranking the candidates")
    best.add_argument("--top", type=int, default=5, help="how many models (default 5)")
    best.add_argument("--max-parameters", type=int, help="size cap of the candidates")
    best.add_argument("--models", help="comma-separated model ids instead of the top")
    best.add_argument("--priority", choices=["normal", "low"], default="normal")
    best.set_defaults(run=cmd_best)


def add_common(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], kind: str, noun: str
) -> None:
    listing = actions.add_parser("list", help=f"the {noun}s this key may see")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    listing.set_defaults(run=cmd_list)
    for action, run, text in (
        ("show", cmd_show, f"a {noun} as JSON"),
        ("publish", cmd_publish, f"make a {noun} public (owner or admin key)"),
    ):
        command = actions.add_parser(action, help=text)
        command.add_argument("name")
        command.set_defaults(run=run)
    add_best(actions, noun)


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `tasks` and `benchmarks` subcommands."""
    tasks = commands.add_parser("tasks", help="custom tasks: your own data, ranked like MTEB's")
    tasks.set_defaults(kind="tasks")
    actions = tasks.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a task from files (or a new revision)")
    create.add_argument("name")
    create.add_argument("--type", required=True, choices=TASK_TYPES)
    for role in ROLE_OPTIONS:
        create.add_argument(f"--{role.replace('_', '-')}", dest=role, metavar="FILE")
    create.add_argument(
        "--file", action="append", metavar="ROLE=FILE", help="a file of another split (qrels:dev=F)"
    )
    create.add_argument("--data", metavar="DIR", help="a Hugging Face datasets folder")
    create.add_argument("--hub-dataset", metavar="ID", help="a public Hub dataset id instead")
    create.add_argument("--hub-revision", metavar="REV", help="its branch, tag or commit")
    create.add_argument("--description")
    create.add_argument("--languages", help="comma-separated, e.g. eng-Latn,fra-Latn")
    create.add_argument("--domains", help="comma-separated mteb domains")
    create.add_argument("--main-score", help="default: mteb's usual one for the type")
    create.add_argument("--splits", help="comma-separated evaluation splits (default test)")
    create.add_argument("--license")
    create.add_argument("--score-range", metavar="LOW,HIGH", help="STS: the scores' range")
    create.add_argument("--public", action="store_true", help="anyone may see it (default: you)")
    create.set_defaults(run=cmd_create)
    add_common(actions, "tasks", "task")
    delete = actions.add_parser("delete", help="delete a task with its data and results")
    delete.add_argument("name")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(run=cmd_delete_task)

    benchmarks = commands.add_parser("benchmarks", help="custom benchmarks: named sets of tasks")
    benchmarks.set_defaults(kind="benchmarks")
    actions = benchmarks.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a benchmark of registry and custom tasks")
    create.add_argument("name")
    create.add_argument("--tasks", required=True, help="comma-separated task names")
    create.add_argument("--description")
    create.add_argument("--public", action="store_true", help="anyone may see it (default: you)")
    create.set_defaults(run=cmd_create_benchmark)
    add_common(actions, "benchmarks", "benchmark")
    delete = actions.add_parser("delete", help="delete a benchmark (its tasks stay)")
    delete.add_argument("name")
    delete.set_defaults(run=cmd_delete_benchmark)
