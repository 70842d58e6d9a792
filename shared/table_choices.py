"""The views a summary table is asked for in (`shared.summary.display`), light enough for the
command line's parser."""

from __future__ import annotations

from enum import StrEnum


class Pool(StrEnum):
    """Which rows a view shows: every row, or mteb's official pool only."""

    ALL = "all"
    OFFICIAL = "official"


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
