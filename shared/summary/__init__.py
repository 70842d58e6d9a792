"""The summary library: benchmark tables from results, as mteb 2.26 computes them.

Pure functions and data (no bus, no writes): the aggregator stores and announces what it
computes, the web and `leaderboard show` read through it. `summarize` is the one entry point
from results and a benchmark (and a task subset) to a ranked table with intervals; the
`mirror.ResultMirror` holds the stored results in memory for it.
"""

from shared.summary.rows import ResultRow
from shared.summary.table import BenchmarkRow, BenchmarkTable, summarize

__all__ = ["BenchmarkRow", "BenchmarkTable", "ResultRow", "summarize"]
