"""Why a custom task's data is refused, and the limits its data must keep within."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

TaskDataCode = Literal[
    "invalid_input",
    "invalid_metadata",
    "invalid_folder",
    "unsafe_path",
    "missing_file",
    "unexpected_file",
    "unknown_file_format",
    "file_too_large",
    "too_many_rows",
    "undecodable_text",
    "malformed_row",
    "missing_column",
    "invalid_value",
    "text_too_long",
    "empty_split",
    "too_few_rows",
    "duplicate_id",
    "unknown_reference",
    "too_few_labels",
    "score_out_of_range",
]


@dataclass(frozen=True)
class Caps:
    """The most a task's data may hold (settings may lower or raise them)."""

    max_file_bytes: int = 200 * 1024 * 1024
    max_total_bytes: int = 500 * 1024 * 1024
    max_rows: int = 2_000_000
    max_text_chars: int = 100_000


class TaskDataError(ValueError):
    """A task's data refused: a typed code, and where (the user's file name, 1-based line, field).

    In CSV and TSV files the header is line 1; in Parquet files the line is the row's number.
    """

    def __init__(
        self,
        code: TaskDataCode,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code: TaskDataCode = code
        self.message = message
        self.file = file
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = [
            part
            for part in (
                self.file,
                f"line {self.line}" if self.line is not None else None,
                f"field {self.field!r}" if self.field is not None else None,
            )
            if part
        ]
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def as_dict(self) -> dict[str, Any]:
        """The error as an API's JSON body shows it."""
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "field": self.field,
        }
