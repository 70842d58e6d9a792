"""Which GPU each evaluator process of `leaderboard up --evaluators N` uses."""

from __future__ import annotations

import shutil
import subprocess


def gpu_ids(env: dict[str, str]) -> list[str]:
    """The GPUs this machine offers: CUDA_VISIBLE_DEVICES when set, else nvidia-smi's list."""
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [gpu.strip() for gpu in visible.split(",") if gpu.strip()]
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return []
    listed = subprocess.run(
        [nvidia_smi, "--query-gpu=index", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return listed.stdout.split() if listed.returncode == 0 else []


def evaluator_env(index: int, env: dict[str, str], gpus: list[str]) -> dict[str, str]:
    """Evaluator `index`'s environment: its own GPU, round-robin, when the device is plain
    `cuda` and there are several (a device naming one, `cuda:1`, is left as it is)."""
    if env.get("LEADERBOARD_DEVICE") != "cuda" or len(gpus) < 2:
        return env
    return env | {"CUDA_VISIBLE_DEVICES": gpus[index % len(gpus)]}
