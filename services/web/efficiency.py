"""Efficiency of the models evaluated here (mteb's leaderboard has none): texts/s, tokens/s and
peak memory on named hardware, from the measurements each live result's envelope carries
(`services/evaluator/efficiency.py`), over a benchmark's tasks.

`efficiency_data` is the data of the `_efficiency.html` table and of the speed-against-quality
chart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pygal

from services.web import charts
from services.web.chart_data import ChartData, hundred
from services.web.table_rows import TableRows
from shared.documents import ResultDoc
from shared.events import Envelope
from shared.store import Store
from shared.summary.display import MEAN_TASK, MODEL

REVISION = "Revision"
HARDWARE = "Hardware"
TASKS = "Tasks"
TEXTS_PER_S = "Texts/s"
TOKENS_PER_S = "Tokens/s"
PEAK_MEMORY = "Peak Memory (MB)"
PEAK_GPU_MEMORY = "Peak GPU Memory (MB)"
COLUMNS = [
    MODEL,
    REVISION,
    HARDWARE,
    TASKS,
    TEXTS_PER_S,
    TOKENS_PER_S,
    PEAK_MEMORY,
    PEAK_GPU_MEMORY,
    MEAN_TASK,
]
MB = 1024 * 1024


def hardware(envelope: Envelope) -> str:
    """The machine a result ran on, named: its GPU, else its CPU and CPU count."""
    machine = envelope.hardware
    if machine is None:
        return f"unrecorded ({envelope.device})"
    if machine.gpu_name and envelope.device.startswith("cuda"):
        return machine.gpu_name
    return f"{machine.cpu_model} ({machine.cpu_count} CPUs, {machine.torch_threads} threads)"


@dataclass
class Measured:
    """Sums over a (model, revision, hardware)'s measured runs."""

    tasks: int = 0
    texts: int = 0
    tokens: int = 0
    seconds: float = 0.0
    peak_rss: int = 0
    peak_gpu: int | None = None

    def add(self, envelope: Envelope) -> None:
        figures = envelope.efficiency
        assert figures is not None
        self.tasks += 1
        self.texts += figures.texts_encoded
        self.tokens += figures.tokens_encoded
        self.seconds += figures.encode_time_s
        self.peak_rss = max(self.peak_rss, figures.peak_rss_bytes)
        if figures.peak_gpu_memory_bytes is not None:
            self.peak_gpu = max(self.peak_gpu or 0, figures.peak_gpu_memory_bytes)


def efficiency_rows(results: Iterable[ResultDoc]) -> list[dict[str, object]]:
    """One row per (model, revision, hardware) of the measured `results`: texts and tokens per
    second of encode time over all its runs, and the highest peak memory of any."""
    sums: defaultdict[tuple[str, str, str], Measured] = defaultdict(Measured)
    for result in results:
        if result.envelope is not None and result.envelope.efficiency is not None:
            sums[(result.model, result.revision, hardware(result.envelope))].add(result.envelope)
    return [
        {
            MODEL: model,
            REVISION: revision,
            HARDWARE: machine,
            TASKS: m.tasks,
            TEXTS_PER_S: m.texts / m.seconds if m.seconds > 0 else None,
            TOKENS_PER_S: m.tokens / m.seconds if m.seconds > 0 else None,
            PEAK_MEMORY: m.peak_rss / MB,
            PEAK_GPU_MEMORY: None if m.peak_gpu is None else m.peak_gpu / MB,
        }
        for (model, revision, machine), m in sorted(sums.items())
    ]


async def efficiency_data(store: Store, view: TableRows) -> ChartData:
    """The efficiency of the table's models evaluated here, over the table's tasks, with their
    Mean (Task); the chart's points are those with both a speed and a Mean (Task)."""
    means = {row[MODEL]: row[MEAN_TASK] for row in view.rows}
    tasks = set(view.tasks)
    live = await store.results_stored_since(None, source="evaluator")
    shown = [r for r in live if r.model in means and r.task in tasks]
    data = ChartData(columns=COLUMNS, score_columns=[MEAN_TASK])
    for row in efficiency_rows(shown):
        mean = means[str(row[MODEL])]
        data.rows.append(row | {MEAN_TASK: mean})
        speed = row[TEXTS_PER_S]
        if mean is not None and isinstance(speed, float) and speed > 0:
            title = (
                f"{row[MODEL]}: {MEAN_TASK} {hundred(mean):.2f}, {speed:.1f} texts/s "
                f"on {row[HARDWARE]}"
            )
            data.points.append(charts.Point(title, speed, hundred(mean)))
    return data


def speed_chart(title: str, data: ChartData) -> str:
    """Mean (Task) against texts per second (log scale)."""
    chart = pygal.XY(
        **charts.config(
            title,
            logarithmic=True,
            x_title="Texts encoded per second (log scale)",
            y_title=f"{MEAN_TASK} (×100)",
            x_value_formatter=lambda x: f"{x:g}",
            stroke=False,
            **charts.log_x_axis(data.points),
        )
    )
    chart.add("Models evaluated here", charts.points_of(data.points), stroke=False)
    return charts.with_point_titles(chart, f"{title}: scatter of {len(data.points)} runs")
