"""Efficiency rows: speeds over the summed encode time of a model's runs, per hardware."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.web.efficiency import efficiency_rows, hardware
from shared.documents import ResultDoc
from shared.events import Efficiency, Hardware
from tests.support.helpers import make_envelope

CPU = Hardware(cpu_model="Xeon", cpu_count=4, torch_threads=4)
GPU = Hardware(cpu_model="Xeon", cpu_count=4, torch_threads=4, gpu_name="NVIDIA H200")


def run(task: str, texts: int, tokens: int, seconds: float, rss_mb: int) -> ResultDoc:
    """A result of `org/m` on `task` whose run encoded `texts` (`tokens`) in `seconds`."""
    figures = Efficiency(
        texts_encoded=texts,
        tokens_encoded=tokens,
        encode_time_s=seconds,
        texts_per_s=texts / seconds,
        tokens_per_s=tokens / seconds,
        peak_rss_bytes=rss_mb * 1024 * 1024,
        parameters=1000,
        embedding_dim=8,
    )
    return ResultDoc(
        _id=f"org/m@r|{task}",
        model="org/m",
        revision="r",
        task=task,
        main_score=0.5,
        evaluated_at=datetime(2026, 1, 1, tzinfo=UTC),
        envelope=make_envelope(model="org/m", task=task, efficiency=figures, hardware=CPU),
    )


def test_speeds_are_totals_over_total_encode_time() -> None:
    rows = efficiency_rows([run("A", 100, 1000, 1.0, 300), run("B", 300, 9000, 2.0, 500)])
    [row] = rows
    assert row["Tasks"] == 2
    assert row["Texts/s"] == pytest.approx(400 / 3.0)  # not the mean of 100/s and 150/s
    assert row["Tokens/s"] == pytest.approx(10000 / 3.0)
    assert row["Peak Memory (MB)"] == pytest.approx(500)
    assert row["Peak GPU Memory (MB)"] is None
    assert row["Hardware"] == "Xeon (4 CPUs, 4 threads)"


def test_runs_without_figures_are_left_out() -> None:
    bare = run("A", 1, 1, 1.0, 1)
    assert bare.envelope is not None
    bare.envelope.efficiency = None
    assert efficiency_rows([bare]) == []


def test_the_gpu_names_the_hardware_of_a_cuda_run() -> None:
    assert hardware(make_envelope(device="cuda:0", hardware=GPU)) == "NVIDIA H200"
    assert hardware(make_envelope(device="cpu", hardware=GPU)) == "Xeon (4 CPUs, 4 threads)"
    assert hardware(make_envelope(device="cpu")) == "unrecorded (cpu)"
