"""Each task type's data as mteb's own tasks of the type lay it out: files, splits, columns.

A *part* is one file of the canonical folder (`corpus.jsonl`, `qrels/test.jsonl`, `test.jsonl`);
the user gives its rows under a *role* (`corpus`, `qrels`, `pairs`, ...), with a split where the
part has one (`qrels:dev`; a bare role means the first evaluation split).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from shared.custom_tasks.data_errors import TaskDataCode
from shared.custom_tasks.spec import TaskType


class Kind(Enum):
    """What a column holds, and so how its values are checked and written."""

    ID = "id"
    TEXT = "text"
    OPTIONAL_TEXT = "optional text"
    SCORE = "score"
    GRADE = "integer relevance score"
    LABEL = "label"
    BINARY = "0 or 1"
    ID_LIST = "list of ids"


@dataclass(frozen=True)
class Column:
    """A canonical column, the input names accepted for it (canonical first), and its kind."""

    name: str
    kind: Kind
    aliases: tuple[str, ...] = ()

    @property
    def accepted(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def required(self) -> bool:
        return self.kind is not Kind.OPTIONAL_TEXT


@dataclass(frozen=True)
class Part:
    """One canonical file: the role that supplies it, its split, path, config and columns."""

    role: str
    split: str | None
    path: str
    config: str
    hf_split: str
    columns: tuple[Column, ...]
    key: str | None = None
    """The column whose values must be unique (ids)."""
    min_rows: int = 1

    @property
    def label(self) -> str:
        """The role as the user names it, with the split where the part has one."""
        return f"{self.role}:{self.split}" if self.split else self.role

    def column(self, name: str) -> Column | None:
        return next((column for column in self.columns if column.name == name), None)


DOC_ID = Column("_id", Kind.ID, ("id",))
QUERY_ID = Column("query-id", Kind.ID, ("query_id",))
CORPUS_ID = Column("corpus-id", Kind.ID, ("corpus_id",))
SENTENCE1 = Column("sentence1", Kind.TEXT)
SENTENCE2 = Column("sentence2", Kind.TEXT)

CLUSTERING_SAMPLE = 0.04
"""The share of a clustering split mteb embeds (its `max_fraction_of_documents_to_embed`)."""
CLUSTERING_MIN_ROWS = math.ceil(2 / CLUSTERING_SAMPLE)
"""The fewest rows of which that share holds two texts to cluster."""

RETRIEVAL_CONFIGS = {
    "corpus": ("corpus",),
    "queries": ("queries", "query"),
    "qrels": ("default", "qrels"),
}
"""Retrieval roles → the datasets configs mteb's retrieval loader reads them from (first: ours)."""


def parts(task_type: TaskType, splits: list[str]) -> list[Part]:
    """The canonical files of a task of `task_type` evaluated on `splits`."""
    if task_type in (TaskType.RETRIEVAL, TaskType.RERANKING):
        return _retrieval_parts(splits, reranking=task_type is TaskType.RERANKING)
    if task_type is TaskType.STS:
        columns: tuple[Column, ...] = (SENTENCE1, SENTENCE2, Column("score", Kind.SCORE))
        return [_split_part("pairs", split, columns) for split in splits]
    if task_type is TaskType.PAIR_CLASSIFICATION:
        columns = (SENTENCE1, SENTENCE2, Column("labels", Kind.BINARY, ("label",)))
        return [_split_part("pairs", split, columns) for split in splits]
    if task_type is TaskType.CLASSIFICATION:
        columns = (Column("text", Kind.TEXT), Column("label", Kind.LABEL, ("labels",)))
        train = Part("train", None, "train.jsonl", "default", "train", columns)
        return [train, *(_split_part("test", split, columns) for split in splits)]
    columns = (
        Column("sentences", Kind.TEXT, ("text", "sentence")),
        Column("labels", Kind.LABEL, ("label",)),
    )
    return [
        replace(_split_part("test", split, columns), min_rows=CLUSTERING_MIN_ROWS)
        for split in splits
    ]


def _split_part(role: str, split: str, columns: tuple[Column, ...]) -> Part:
    return Part(role, split, f"{split}.jsonl", "default", split, columns)


def _retrieval_parts(splits: list[str], *, reranking: bool) -> list[Part]:
    title = Column("title", Kind.OPTIONAL_TEXT)
    text = Column("text", Kind.TEXT)
    corpus = Part("corpus", None, "corpus.jsonl", "corpus", "corpus", (DOC_ID, title, text), "_id")
    queries = Part("queries", None, "queries.jsonl", "queries", "queries", (DOC_ID, text), "_id")
    grade = Column("score", Kind.GRADE)
    qrels = [
        Part("qrels", split, f"qrels/{split}.jsonl", "default", split, (QUERY_ID, CORPUS_ID, grade))
        for split in splits
    ]
    candidates = Column("corpus-ids", Kind.ID_LIST, ("corpus_ids",))
    top_ranked = [
        Part(
            "top_ranked",
            split,
            f"top_ranked/{split}.jsonl",
            "top_ranked",
            split,
            (QUERY_ID, candidates),
            "query-id",
        )
        for split in splits
        if reranking
    ]
    return [corpus, queries, *qrels, *top_ranked]


class BadValue(ValueError):
    """A value a column cannot hold; the message says what it must be."""

    def __init__(self, message: str, code: TaskDataCode = "invalid_value") -> None:
        super().__init__(message)
        self.code: TaskDataCode = code


def normalize(column: Column, value: Any, *, textual: bool, max_text_chars: int) -> Any:
    """The value as the canonical file holds it, or BadValue (values from CSV/TSV are text)."""
    if value is None:
        if column.kind is Kind.OPTIONAL_TEXT:
            return ""
        raise BadValue(f"{column.name} is empty (null)")
    if column.kind in (Kind.TEXT, Kind.OPTIONAL_TEXT):
        return _text(value, max_text_chars)
    if column.kind is Kind.ID:
        return _id(value)
    if column.kind is Kind.ID_LIST:
        items = value.split() if textual and isinstance(value, str) else value
        if not isinstance(items, list):
            raise BadValue("must be a list of ids")
        return [_id(item) for item in items]
    if column.kind is Kind.SCORE:
        return _number(value, textual)
    if column.kind is Kind.GRADE:
        number = _number(value, textual)
        if not number.is_integer():
            raise BadValue(f"must be a whole number, not {value!r}")
        return int(number)
    if column.kind is Kind.BINARY:
        if (textual and value in ("0", "1")) or (type(value) is int and value in (0, 1)):
            return int(value)
        raise BadValue(f"must be 0 or 1, not {value!r}")
    return _label(value, textual)


def _text(value: Any, max_text_chars: int) -> str:
    if not isinstance(value, str):
        raise BadValue(f"must be text, not {type(value).__name__}")
    if len(value) > max_text_chars:
        message = f"is {len(value)} characters long, over the limit of {max_text_chars}"
        raise BadValue(message, "text_too_long")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadValue("holds a lone surrogate escape, which is not text") from None
    return value


def _id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadValue(f"an id must be text or a whole number, not {value!r}")
    text = str(value)
    if not text:
        raise BadValue("an id must not be empty")
    return text


def _number(value: Any, textual: bool) -> float:
    if isinstance(value, bool):
        raise BadValue(f"must be a number, not {value!r}")
    if textual and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise BadValue(f"must be a number, not {value!r}") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise BadValue(f"must be a finite number, not {value!r}")
    return float(value)


def _label(value: Any, textual: bool) -> int | str:
    """A class label: a whole number or text (text that spells a whole number is one)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadValue(f"a label must be text or a whole number, not {value!r}")
    if textual and isinstance(value, str) and _spells_integer(value):
        return int(value)
    if isinstance(value, str) and not value:
        raise BadValue("a label must not be empty")
    return value


def _spells_integer(text: str) -> bool:
    digits = text.removeprefix("-")
    return digits.isascii() and digits.isdigit() and str(int(text)) == text
