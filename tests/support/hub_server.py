"""A small local HTTP server answering as the Hugging Face Hub does, for `HfApi(endpoint=...)`.

It serves `model_info` (`/api/models/<id>[/revision/<rev>]`), commits
(`/api/models/<id>/commits/<rev>`) and files (`/<id>/resolve/<rev>/<f>`, HEAD and GET with
`Range`), with the Hub's error headers (`X-Error-Code`, `X-Error-Message`), for a handful of
models: public, private, gated, disabled, with remote code, 10B parameters, without
sentence-transformers files, without license, without weights, failing to serve some files.
It also serves dataset repositories (`/api/datasets/<id>/revision/<rev>`, files under
`/datasets/<id>/resolve/<rev>/<f>`): `biosses`, the shared BIOSSES folder, and a private and
a gated one.
Safetensors files are real headers (8-byte length + JSON) declaring the model's tensors; no
tensor data follows.
"""

from __future__ import annotations

import json
import re
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ORG = "hub-test"
PRIVATE_TOKEN = "hf_private_reader_0123456789"
GATED_TOKEN = "hf_gated_reader_0123456789"
ST_FILES = ("config.json", "modules.json", "config_sentence_transformers.json", "README.md")


def safetensors_header(shapes: dict[str, list[int]]) -> bytes:
    """A safetensors file made of its header only: tensors of `shapes`, F32."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in shapes.items():
        size = 4
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw


FIRST_COMMIT_AT = "2023-05-17T09:30:00.000Z"
"""When every fake repository was created: its first commit."""

PUBLIC_CONFIG = {
    "config.json": {"hidden_size": 384, "vocab_size": 1000, "max_position_embeddings": 512},
    "sentence_bert_config.json": {"max_seq_length": 128},
    "modules.json": [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ],
    "1_Pooling/config.json": {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True},
    "2_Dense/config.json": {"in_features": 384, "out_features": 256},
}
"""The sentence-transformers configuration of `public`: 384-dim tokens, a Dense layer to 256."""

SMALL_WEIGHTS = {"embeddings.weight": [1000, 384], "pooler.weight": [384, 384]}
SMALL_PARAMETERS = 1000 * 384 + 384 * 384


@dataclass
class FakeModel:
    """One repository: its commits per branch or tag, files, card and access rules."""

    name: str
    shas: dict[str, str]
    files: dict[str, bytes]
    card: dict[str, Any] = field(default_factory=lambda: {"license": "apache-2.0"})
    private: bool = False
    gated: bool = False
    disabled: bool = False
    config: dict[str, Any] = field(default_factory=lambda: {"model_type": "bert"})
    tags: list[str] = field(default_factory=list)
    failing: tuple[str, ...] = ()
    """Files, and `commits`, that the Hub refuses to serve (403, which is not retried)."""

    @property
    def repo_id(self) -> str:
        return f"{ORG}/{self.name}"

    def sha(self, revision: str | None) -> str | None:
        revision = revision or "main"
        if revision in self.shas:
            return self.shas[revision]
        return revision if revision in self.shas.values() else None


def sha_of(name: str, branch: str = "main") -> str:
    """A stable 40-hex commit for a fake model's branch."""
    import hashlib

    return hashlib.sha1(f"{name}@{branch}".encode()).hexdigest()


def model(name: str, weights: dict[str, list[int]] | None = None, **kwargs: Any) -> FakeModel:
    files = {file: b"{}" for file in ST_FILES}
    if weights is not None:
        files["model.safetensors"] = safetensors_header(weights)
    files |= kwargs.pop("extra_files", {})
    for dropped in kwargs.pop("without", ()):
        files.pop(dropped)
    shas = {"main": sha_of(name), "v1": sha_of(name, "v1")}
    return FakeModel(name=name, shas=shas, files=files, **kwargs)


MODELS = {
    fake.repo_id: fake
    for fake in (
        model(
            "public",
            SMALL_WEIGHTS,
            card={"license": "mit", "language": ["en", "de"], "base_model": "org/base"},
            extra_files={name: json.dumps(body).encode() for name, body in PUBLIC_CONFIG.items()},
        ),
        model("another", SMALL_WEIGHTS),
        model("private", SMALL_WEIGHTS, private=True),
        model("gated", SMALL_WEIGHTS, gated=True),
        model("disabled", SMALL_WEIGHTS, disabled=True),
        model(
            "remote-code",
            SMALL_WEIGHTS,
            config={"model_type": "custom", "auto_map": {"AutoModel": "modeling.Model"}},
            tags=["custom_code"],
        ),
        model("ten-billion", {"layers.weight": [100_000, 100_000]}),
        model(
            "not-st", SMALL_WEIGHTS, without=("modules.json", "config_sentence_transformers.json")
        ),
        model("no-license", SMALL_WEIGHTS, card={"language": "en"}),
        model("no-weights", None),
        model("flaky", SMALL_WEIGHTS, failing=("config.json", "commits")),
    )
}


BIOSSES = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "BIOSSES"


def dataset(name: str, folder: Path, **kwargs: Any) -> FakeModel:
    """A dataset repository holding `folder`'s files (and a `.gitattributes`, as the Hub's)."""
    files = {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    } | {".gitattributes": b"*.jsonl filter=lfs\n"}
    shas = {"main": sha_of(f"dataset-{name}"), "v1": sha_of(f"dataset-{name}", "v1")}
    return FakeModel(name=name, shas=shas, files=files, **kwargs)


def datasets() -> dict[str, FakeModel]:
    """The dataset repositories (read when first asked for: the shared data may be absent)."""
    if not DATASETS and BIOSSES.is_dir():
        for fake in (
            dataset("biosses", BIOSSES),
            dataset("secret-data", BIOSSES, private=True),
            dataset("gated-data", BIOSSES, gated=True),
        ):
            DATASETS[fake.repo_id] = fake
    return DATASETS


DATASETS: dict[str, FakeModel] = {}


class HubHandler(BaseHTTPRequestHandler):
    """Answers the Hub API calls `huggingface_hub` makes for validation."""

    server_version = "FakeHub/1"

    def log_message(self, *_: Any) -> None:  # quiet
        return

    def token(self) -> str | None:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        return value if scheme.lower() == "bearer" else None

    def error(self, status: int, code: str | None = None, message: str | None = None) -> None:
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        if message:
            self.send_header("X-Error-Message", message)
        body = json.dumps({"error": message or code or "error"}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def visible(self, fake: FakeModel | None) -> FakeModel | None:
        """The model if this request may see it at all (private ones need their token)."""
        if fake is None or (fake.private and self.token() != PRIVATE_TOKEN):
            return None
        return fake

    def do_GET(self) -> None:
        if match := re.fullmatch(
            r"/api/datasets/([^/]+/[^/]+)(?:/revision/([^/?]+))?(\?.*)?", self.path
        ):
            self.dataset_info(match.group(1), match.group(2))
        elif match := re.fullmatch(
            r"/datasets/([^/]+/[^/]+)/resolve/([^/]+)/([^?]+)(\?.*)?", self.path
        ):
            self.file(match.group(1), match.group(2), match.group(3), datasets())
        elif match := re.fullmatch(
            r"/api/models/([^/]+/[^/]+)(?:/revision/([^/?]+))?(\?.*)?", self.path
        ):
            self.model_info(match.group(1), match.group(2))
        elif match := re.fullmatch(r"/api/models/([^/]+/[^/]+)/commits/([^/?]+)(\?.*)?", self.path):
            self.commits(match.group(1), match.group(2))
        elif match := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/([^?]+)(\?.*)?", self.path):
            self.file(match.group(1), match.group(2), match.group(3))
        else:
            self.error(404, "RepoNotFound", "Repository not found")

    def do_HEAD(self) -> None:
        self.do_GET()

    def model_info(self, repo_id: str, revision: str | None) -> None:
        from urllib.parse import unquote

        fake = self.visible(MODELS.get(repo_id))
        if fake is None:
            self.error(401, "RepoNotFound", "Repository not found")
            return
        if fake.disabled:
            self.error(403, None, "Access to this resource is disabled.")
            return
        sha = fake.sha(unquote(revision) if revision else None)
        if sha is None:
            self.error(404, "RevisionNotFound", "Invalid rev id")
            return
        body = {
            "_id": f"id-{fake.name}",
            "id": fake.repo_id,
            "modelId": fake.repo_id,
            "sha": sha,
            "private": fake.private,
            "gated": "manual" if fake.gated else False,
            "disabled": fake.disabled,
            "downloads": 0,
            "likes": 0,
            "tags": fake.tags,
            "library_name": "sentence-transformers",
            "config": fake.config,
            "cardData": fake.card,
            "siblings": [{"rfilename": name} for name in sorted(fake.files)],
        }
        self.send_json(body)

    def dataset_info(self, repo_id: str, revision: str | None) -> None:
        from urllib.parse import unquote

        fake = self.visible(datasets().get(repo_id))
        if fake is None:
            self.error(401, "RepoNotFound", "Repository not found")
            return
        sha = fake.sha(unquote(revision) if revision else None)
        if sha is None:
            self.error(404, "RevisionNotFound", "Invalid rev id")
            return
        siblings = [
            {"rfilename": name, "size": len(content)}
            for name, content in sorted(fake.files.items())
        ]
        self.send_json(
            {
                "_id": f"id-{fake.name}",
                "id": fake.repo_id,
                "sha": sha,
                "private": fake.private,
                "gated": "manual" if fake.gated else False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
            }
        )

    def commits(self, repo_id: str, revision: str) -> None:
        """The history down to `revision`: that commit, then the repository's first."""
        from urllib.parse import unquote

        fake = self.visible(MODELS.get(repo_id))
        if fake is None:
            self.error(401, "RepoNotFound", "Repository not found")
            return
        sha = fake.sha(unquote(revision))
        if sha is None:
            self.error(404, "RevisionNotFound", "Invalid rev id")
            return
        if "commits" in fake.failing:
            self.error(403, None, "Forbidden")
            return
        first = sha_of(fake.name, "initial")
        dates = {sha: "2024-02-01T12:00:00.000Z", first: FIRST_COMMIT_AT}
        self.send_json(
            [
                {"id": commit, "authors": [], "date": date, "title": "", "message": ""}
                for commit, date in dates.items()
            ]
        )

    def send_json(self, body: dict[str, Any] | list[Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def file(
        self, repo_id: str, revision: str, name: str, repos: dict[str, FakeModel] = MODELS
    ) -> None:
        fake = self.visible(repos.get(repo_id))
        if fake is None:
            self.error(401, "RepoNotFound", "Repository not found")
            return
        if fake.gated and self.token() != GATED_TOKEN:
            self.error(403, "GatedRepo", "Access to model is restricted")
            return
        sha = fake.sha(revision)
        if sha is None:
            self.error(404, "RevisionNotFound", "Invalid rev id")
            return
        if name not in fake.files:
            self.error(404, "EntryNotFound", "Entry not found")
            return
        if name in fake.failing:
            self.error(403, None, "Forbidden")
            return
        content = fake.files[name]
        start, end, status = 0, len(content) - 1, 200
        if (wanted := self.headers.get("Range")) and (
            match := re.fullmatch(r"bytes=(\d+)-(\d*)", wanted)
        ):
            start = int(match.group(1))
            end = min(int(match.group(2) or end), len(content) - 1)
            status = 206
        part = content[start : end + 1]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(part)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(content)}")
        self.send_header("ETag", f'"{sha_of(name, sha)}"')
        self.send_header("X-Repo-Commit", sha)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(part)


@contextmanager
def running_hub() -> Iterator[str]:
    """Serve the fake Hub on a free loopback port; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), HubHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
