"""Checking a task's rows: each value, then what holds across rows and files."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from shared.custom_tasks.data_errors import Caps, TaskDataError
from shared.custom_tasks.formats import Source, header_columns, read_rows
from shared.custom_tasks.layouts import BadValue, Column, Kind, Part, normalize

CanonicalRow = tuple[Source, int, dict[str, Any]]


def canonical_rows(
    part: Part, sources: list[Source], max_text_chars: int
) -> Iterator[CanonicalRow]:
    """Each row of the part's files with its values as the canonical file holds them."""
    for source in sources:
        header = header_columns(source)
        given: dict[str, str | None] = {}
        if header:  # an empty file has none, and is an empty split
            for column in part.columns:
                given[column.name] = _given(column, header)
                if column.required and given[column.name] is None:
                    raise TaskDataError(
                        "missing_column",
                        f"no column {column.name!r}" + _aliases(column.aliases),
                        file=source.name,
                        line=1 if source.textual else None,
                        field=column.name,
                    )
        for line, row in read_rows(source, max_text_chars):
            values: dict[str, Any] = {}
            for column in part.columns:
                name = given[column.name] if header else _given(column, row)
                if name is None and column.required:
                    raise TaskDataError(
                        "missing_column",
                        f"no {column.name!r}" + _aliases(column.aliases),
                        file=source.name,
                        line=line,
                        field=column.name,
                    )
                try:
                    values[column.name] = normalize(
                        column,
                        None if name is None else row[name],
                        textual=source.textual,
                        max_text_chars=max_text_chars,
                    )
                except BadValue as bad:
                    raise TaskDataError(
                        bad.code,
                        f"{name or column.name} {bad}",
                        file=source.name,
                        line=line,
                        field=name or column.name,
                    ) from None
            yield source, line, values


def _given(column: Column, names: Collection[str]) -> str | None:
    """The name under which `names` (a header, a row) holds the column, if any."""
    if column.name in names:
        return column.name
    return next((alias for alias in column.aliases if alias in names), None)


def _aliases(aliases: tuple[str, ...]) -> str:
    return f" (or {', '.join(repr(name) for name in aliases)})" if aliases else ""


@dataclass
class Findings:
    """What validation learnt that writing needs."""

    labels_as_text: bool = False
    """Labels mix text and numbers, so every label is written as text."""


def validate(
    parts: list[Part],
    sources: dict[Part, list[Source]],
    caps: Caps,
    score_range: tuple[float, float] | None,
) -> Findings:
    """Read every row of every part once; raise TaskDataError at the first thing wrong."""
    check_sizes([source for part in parts for source in sources[part]], caps)
    ids: dict[str, set[str]] = {}
    label_types: set[type] = set()
    rows = 0
    for part in parts:
        keys: set[Any] = set()
        labels: set[Any] = set()
        label_column = next(
            (column for column in part.columns if column.kind in (Kind.LABEL, Kind.BINARY)), None
        )
        count = 0
        for source, line, row in canonical_rows(part, sources[part], caps.max_text_chars):
            rows += 1
            count += 1
            if rows > caps.max_rows:
                raise TaskDataError(
                    "too_many_rows",
                    f"the task has more than {caps.max_rows} rows",
                    file=source.name,
                    line=line,
                )
            where = {"file": source.name, "line": line}
            _check_row(part, row, ids, keys, score_range, where)
            if label_column is not None:
                labels.add(row[label_column.name])
        if count == 0:
            raise TaskDataError(
                "empty_split",
                f"{part.label} has no rows",
                file=sources[part][0].name,
                field=part.label,
            )
        if count < part.min_rows:
            raise TaskDataError(
                "too_few_rows",
                f"{part.label} has {count} rows; mteb needs at least {part.min_rows} for the type",
                file=sources[part][0].name,
                field=part.label,
            )
        if part.key is not None:
            ids[part.role] = keys
        if label_column is not None:
            if len(labels) < 2:
                raise TaskDataError(
                    "too_few_labels",
                    f"{part.label} has {len(labels)} distinct label(s); at least two are needed",
                    file=sources[part][0].name,
                    field=label_column.name,
                )
            label_types |= {type(label) for label in labels}
    return Findings(labels_as_text=len(label_types) > 1)


def _check_row(
    part: Part,
    row: dict[str, Any],
    ids: dict[str, set[str]],
    keys: set[Any],
    score_range: tuple[float, float] | None,
    where: dict[str, Any],
) -> None:
    if part.key is not None:
        if row[part.key] in keys:
            raise TaskDataError(
                "duplicate_id", f"id {row[part.key]!r} appears twice", field=part.key, **where
            )
        keys.add(row[part.key])
    if part.role in ("qrels", "top_ranked"):
        _check_known(row["query-id"], ids["queries"], "query-id", "query", where)
    if part.role == "qrels":
        _check_known(row["corpus-id"], ids["corpus"], "corpus-id", "document", where)
        pair = (row["query-id"], row["corpus-id"])
        if pair in keys:
            raise TaskDataError(
                "duplicate_id",
                f"query {pair[0]!r} and document {pair[1]!r} are paired twice",
                field="corpus-id",
                **where,
            )
        keys.add(pair)
    if part.role == "top_ranked":
        for document in row["corpus-ids"]:
            _check_known(document, ids["corpus"], "corpus-ids", "document", where)
    score = part.column("score")
    if score is not None and score.kind is Kind.SCORE and score_range is not None:
        low, high = score_range
        if not low <= row["score"] <= high:
            raise TaskDataError(
                "score_out_of_range",
                f"score {row['score']} is outside the declared range [{low}, {high}]",
                field="score",
                **where,
            )


def _check_known(value: str, known: set[str], field: str, what: str, where: dict[str, Any]) -> None:
    if value not in known:
        raise TaskDataError(
            "unknown_reference", f"no {what} has id {value!r}", field=field, **where
        )


def check_sizes(sources: list[Source], caps: Caps) -> None:
    """Refuse a file over the per-file cap, or files together over the total cap."""
    total = 0
    for source in sources:
        size = source.path.stat().st_size
        total += size
        if size > caps.max_file_bytes:
            raise TaskDataError(
                "file_too_large",
                f"the file has {size} bytes, over the limit of {caps.max_file_bytes}",
                file=source.name,
            )
        if total > caps.max_total_bytes:
            raise TaskDataError(
                "file_too_large",
                f"the task's files have more than {caps.max_total_bytes} bytes together",
                file=source.name,
            )
