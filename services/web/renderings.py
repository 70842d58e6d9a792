"""One data context, several renderings: `.json`, `.csv` or an HTML template."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from fastapi.responses import JSONResponse, Response


class Format(StrEnum):
    HTML = "html"
    JSON = "json"
    CSV = "csv"


def split_format(path_name: str) -> tuple[str, Format]:
    """`BIOSSES.json` → (`BIOSSES`, json); a name without a known suffix is HTML."""
    for fmt in (Format.JSON, Format.CSV):
        suffix = f".{fmt.value}"
        if path_name.endswith(suffix):
            return path_name[: -len(suffix)], fmt
    return path_name, Format.HTML


def json_response(context: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(context, status_code=status_code)


def csv_response(rows: Sequence[dict[str, Any]], columns: Sequence[str], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}.csv"'},
    )
