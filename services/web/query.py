"""A benchmark view's state, read from its query string: mteb's leaderboard filters and
customisation, a name search, the pool and the sort.

Empty fields mean "no filter". Every bad field gets a typed error of its own, so a form can
show it next to the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, get_args
from urllib.parse import urlencode

from mteb.models.model_meta import MODEL_TYPES

from shared.summary.display import Pool

MODEL_TYPE_CHOICES = tuple(get_args(MODEL_TYPES))
SENTENCE_TRANSFORMERS = "Sentence Transformers"
"""mteb's framework name behind its "Should be sentence-transformers compatible" filter."""
SIZE_BUCKETS_M = (100, 500, 1000, 5000, 10000)
"""mteb's "Model Parameters" choices: fewer than this many million parameters."""


class Availability(StrEnum):
    OPEN = "open"
    PROPRIETARY = "proprietary"


class Instructions(StrEnum):
    TUNED = "tuned"
    UNTUNED = "untuned"


class ZeroShot(StrEnum):
    """mteb's zero-shot filter: `allow_all` (the default), `remove_unknown`, `only_zero_shot`."""

    ALL = "allow_all"
    REMOVE_UNKNOWN = "remove_unknown"
    ONLY = "only_zero_shot"


@dataclass(frozen=True)
class FieldError:
    """One bad field: its name, a code programs can test, and a message for people."""

    field: str
    code: str
    message: str


class QueryError(ValueError):
    """The query string has bad fields."""

    def __init__(self, errors: Sequence[FieldError], query: BenchmarkQuery) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)
        self.query = query
        """The query with the bad fields left unset."""

    def by_field(self) -> dict[str, FieldError]:
        return {error.field: error for error in self.errors}


@dataclass(frozen=True)
class Choices:
    """What a benchmark offers to choose from (customisation values are checked against it)."""

    tasks: tuple[str, ...]
    types: tuple[str, ...]
    domains: tuple[str, ...]
    modalities: tuple[str, ...]
    languages: tuple[str, ...]


@dataclass(frozen=True)
class BenchmarkQuery:
    """What a benchmark view asks for."""

    tasks: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    availability: Availability | None = None
    instructions: Instructions | None = None
    zero_shot: ZeroShot = ZeroShot.ALL
    max_size_m: int | None = None
    min_params_b: float | None = None
    max_params_b: float | None = None
    hide_unknown_size: bool = False
    model_types: tuple[str, ...] = ()
    sentence_transformers: bool = False
    search: str = ""
    pool: Pool = Pool.ALL
    sort: str = ""
    raw: dict[str, list[str]] = field(default_factory=dict, compare=False)
    """The fields as given (to show bad values back in the form)."""

    @property
    def customised(self) -> bool:
        """Whether the task set differs from the benchmark's."""
        return bool(self.tasks or self.types or self.domains or self.modalities or self.languages)

    @property
    def pool_filtered(self) -> bool:
        """Whether a model filter narrows the pool the table is ranked in (as mteb re-ranks)."""
        return (
            self.availability is not None
            or self.instructions is not None
            or self.zero_shot is not ZeroShot.ALL
            or self.max_size_m is not None
            or self.min_params_b is not None
            or self.max_params_b is not None
            or self.hide_unknown_size
            or bool(self.model_types)
            or self.sentence_transformers
        )

    @property
    def size_filtered(self) -> bool:
        return (
            self.max_size_m is not None
            or self.min_params_b is not None
            or self.max_params_b is not None
        )

    def values(self) -> dict[str, Any]:
        """The query string's fields, unset ones left out."""
        values: dict[str, Any] = {
            "task": list(self.tasks),
            "type": list(self.types),
            "domain": list(self.domains),
            "modality": list(self.modalities),
            "language": list(self.languages),
            "availability": self.availability.value if self.availability else "",
            "instructions": self.instructions.value if self.instructions else "",
            "zero_shot": "" if self.zero_shot is ZeroShot.ALL else self.zero_shot.value,
            "max_size": self.max_size_m,
            "min_params": self.min_params_b,
            "max_params": self.max_params_b,
            "unknown_size": "hide" if self.hide_unknown_size else "",
            "model_type": list(self.model_types),
            "compatibility": "sentence-transformers" if self.sentence_transformers else "",
            "q": self.search,
            "pool": "" if self.pool is Pool.ALL else self.pool.value,
            "sort": self.sort,
        }
        return {key: value for key, value in values.items() if value not in (None, "", [])}

    def parameters(self, **changes: Any) -> str:
        """This query's string (with `changes`), for links that keep the view's state."""
        values = self.values() | changes
        kept = {key: value for key, value in values.items() if value not in (None, "", [])}
        return urlencode(kept, doseq=True)

    def sorted_by(self, sort: str) -> BenchmarkQuery:
        return replace(self, sort=sort)


def _number(name: str, text: str, errors: list[FieldError]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        errors.append(FieldError(name, "not_a_number", f"{text!r} is not a number"))
        return None
    if not math.isfinite(value) or value < 0:
        errors.append(FieldError(name, "out_of_range", "give a number of 0 or more"))
        return None
    return value


def _choice(name: str, text: str, allowed: Iterable[str], errors: list[FieldError]) -> str | None:
    allowed = list(allowed)
    if text in allowed:
        return text
    errors.append(FieldError(name, "not_a_choice", f"{text!r} is not one of: {', '.join(allowed)}"))
    return None


def _members(
    name: str, given: list[str], allowed: Sequence[str], errors: list[FieldError]
) -> tuple[str, ...]:
    known = set(allowed)
    unknown = [value for value in given if value not in known]
    if unknown:
        errors.append(
            FieldError(name, "not_in_benchmark", f"not in this benchmark: {', '.join(unknown)}")
        )
    return tuple(dict.fromkeys(value for value in given if value in known))


def parse_query(items: Iterable[tuple[str, str]], choices: Choices) -> BenchmarkQuery:
    """The query of a query string's `items` (repeated keys for lists); raises QueryError."""
    raw: dict[str, list[str]] = {}
    for key, value in items:
        raw.setdefault(key, []).append(value.strip())
    given = {key: [value for value in values if value] for key, values in raw.items()}

    def one(key: str) -> str:
        values = given.get(key, [])
        return values[-1] if values else ""

    errors: list[FieldError] = []
    availability = one("availability")
    instructions = one("instructions")
    zero_shot = one("zero_shot")
    max_size = one("max_size")
    pool = one("pool")
    min_params = _number("min_params", one("min_params"), errors) if one("min_params") else None
    max_params = _number("max_params", one("max_params"), errors) if one("max_params") else None
    if min_params is not None and max_params is not None and min_params > max_params:
        errors.append(FieldError("max_params", "empty_range", "must not be below the minimum"))
    size_choices = [str(size) for size in SIZE_BUCKETS_M]
    unknown_size = one("unknown_size")
    compatibility = one("compatibility")
    query = BenchmarkQuery(
        tasks=_members("task", given.get("task", []), choices.tasks, errors),
        types=_members("type", given.get("type", []), choices.types, errors),
        domains=_members("domain", given.get("domain", []), choices.domains, errors),
        modalities=_members("modality", given.get("modality", []), choices.modalities, errors),
        languages=_members("language", given.get("language", []), choices.languages, errors),
        availability=Availability(availability)
        if availability and _choice("availability", availability, Availability, errors)
        else None,
        instructions=Instructions(instructions)
        if instructions and _choice("instructions", instructions, Instructions, errors)
        else None,
        zero_shot=ZeroShot(zero_shot)
        if zero_shot and _choice("zero_shot", zero_shot, ZeroShot, errors)
        else ZeroShot.ALL,
        max_size_m=int(max_size)
        if max_size and _choice("max_size", max_size, size_choices, errors)
        else None,
        min_params_b=min_params,
        max_params_b=max_params,
        hide_unknown_size=bool(
            unknown_size and _choice("unknown_size", unknown_size, ["hide"], errors)
        ),
        model_types=_members("model_type", given.get("model_type", []), MODEL_TYPE_CHOICES, errors),
        sentence_transformers=bool(
            compatibility
            and _choice("compatibility", compatibility, ["sentence-transformers"], errors)
        ),
        search=one("q"),
        pool=Pool(pool) if pool and _choice("pool", pool, Pool, errors) else Pool.ALL,
        sort=one("sort"),
        raw=raw,
    )
    if errors:
        raise QueryError(errors, query)
    return query
