"""Reading a data file's rows, each with its 1-based line, by the file's extension."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from shared.custom_tasks.data_errors import TaskDataCode, TaskDataError

FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}
"""Extension → format. Parquet is read only from datasets folders (as `datasets` writes them)."""
USER_FORMATS = (".jsonl", ".csv", ".tsv")

Row = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Source:
    """One data file: where it is, the name errors show, and its format."""

    path: Path
    name: str
    format: str

    @property
    def textual(self) -> bool:
        """Whether every value arrives as text (CSV, TSV), so numbers are parsed from it."""
        return self.format in ("csv", "tsv")

    @classmethod
    def of(cls, path: Path, name: str, allowed: tuple[str, ...] = USER_FORMATS) -> Source:
        """The file at `path`, in the format its name's extension says (else the path's)."""
        suffix = (Path(name).suffix or path.suffix).lower()
        if suffix not in allowed:
            raise TaskDataError(
                "unknown_file_format",
                f"unknown file format {suffix or '(none)'!r}: use one of {', '.join(allowed)}",
                file=name,
            )
        return cls(path=path, name=name, format=FORMATS[suffix])


def read_rows(source: Source, max_text_chars: int) -> Iterator[Row]:
    """The rows of `source` as (line, column → value); blank lines are skipped."""
    if source.format == "jsonl":
        yield from _jsonl_rows(source)
    elif source.format == "parquet":
        yield from _parquet_rows(source)
    else:
        yield from _delimited_rows(source, "\t" if source.format == "tsv" else ",", max_text_chars)


def _text_lines(source: Source, stream: BinaryIO) -> Iterator[str]:
    """The file's lines as text (line endings kept), refusing bytes that are not UTF-8."""
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TaskDataError(
                "undecodable_text",
                f"text is not UTF-8 (byte {raw[error.start]:#04x} at column {error.start + 1})",
                file=source.name,
                line=number,
            ) from None
        yield line.removeprefix("\ufeff") if number == 1 else line


def _jsonl_rows(source: Source) -> Iterator[Row]:
    with source.path.open("rb") as stream:
        for number, line in enumerate(_text_lines(source, stream), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                raise TaskDataError(
                    "malformed_row", f"not valid JSON: {error}", file=source.name, line=number
                ) from None
            if not isinstance(row, dict):
                raise TaskDataError(
                    "malformed_row",
                    "each line must be one JSON object",
                    file=source.name,
                    line=number,
                )
            yield number, row


def _delimited_rows(source: Source, delimiter: str, max_text_chars: int) -> Iterator[Row]:
    if csv.field_size_limit() <= max_text_chars:
        csv.field_size_limit(max_text_chars + 1)
    with source.path.open("rb") as stream:
        reader = csv.reader(_text_lines(source, stream), delimiter=delimiter)
        header: list[str] | None = None
        start = 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                code: TaskDataCode = (
                    "text_too_long" if "field larger" in str(error) else "malformed_row"
                )
                message = (
                    f"a field is longer than {max_text_chars} characters"
                    if code == "text_too_long"
                    else str(error)
                )
                raise TaskDataError(code, message, file=source.name, line=start) from None
            line, start = start, reader.line_num + 1
            if not fields:
                continue
            if header is None:
                header = _header(source, fields)
                continue
            if len(fields) != len(header):
                raise TaskDataError(
                    "malformed_row",
                    f"{len(fields)} fields where the header has {len(header)}",
                    file=source.name,
                    line=line,
                )
            yield line, dict(zip(header, fields, strict=True))


def _header(source: Source, fields: list[str]) -> list[str]:
    names = [name.strip() for name in fields]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise TaskDataError(
            "malformed_row",
            f"the header names a column twice: {', '.join(repeated)}",
            file=source.name,
            line=1,
            field=repeated[0],
        )
    return names


def header_columns(source: Source) -> list[str] | None:
    """The columns every row of `source` has (CSV/TSV header, Parquet schema); None for JSONL."""
    if source.format == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(source.path).schema_arrow.names)
    if source.format == "jsonl":
        return None
    with source.path.open("rb") as stream:
        for line in _text_lines(source, stream):
            if line.strip():
                delimiter = "\t" if source.format == "tsv" else ","
                return _header(source, next(csv.reader([line], delimiter=delimiter)))
    return []


def _parquet_rows(source: Source) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(source.path)
    except Exception as error:  # pyarrow raises several kinds for a damaged file
        raise TaskDataError(
            "malformed_row", f"not a Parquet file: {error}", file=source.name
        ) from None
    number = 0
    for batch in table.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield number, row
