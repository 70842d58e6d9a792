"""Reading the deployment files for the tests: rendered manifests, schemas, settings' names."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"


def setting_names() -> set[str]:
    """Every environment variable the services read."""
    return {f"LEADERBOARD_{name.upper()}" for name in Settings.model_fields}


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize folder` (offline; kubectl bundles kustomize), as documents."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its bundled kustomize) is needed to render deploy/k8s"
    rendered = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    return found
