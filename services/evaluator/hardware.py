"""The machine an evaluation runs on, as recorded in the envelope."""

from __future__ import annotations

import os
import platform
from contextlib import suppress
from functools import cache
from pathlib import Path

import torch

from shared.events import Hardware

CPUINFO = Path("/proc/cpuinfo")


@cache
def cpu_model() -> str:
    """The CPU's marketing name (Linux), else what the platform says."""
    with suppress(OSError):
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe(device: str) -> Hardware:
    """CPU model and count, torch threads, and the GPU behind `device` when it is CUDA."""
    gpu_name = gpu_memory = None
    if device.startswith("cuda"):
        properties = torch.cuda.get_device_properties(torch.device(device))
        gpu_name, gpu_memory = properties.name, int(properties.total_memory)
    return Hardware(
        cpu_model=cpu_model(),
        cpu_count=len(os.sched_getaffinity(0)),
        torch_threads=torch.get_num_threads(),
        gpu_name=gpu_name,
        gpu_memory_bytes=gpu_memory,
    )
