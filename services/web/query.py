"""The benchmark table's query string, read as FastAPI reads it for every view of a table (the
chart pages; the benchmark page in app.py reads the same parameters)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator

from services.web.benchmarks import TableQuery
from shared.summary.display import Pool


def blank_as_unset(value: Any) -> Any:
    """A form field left empty (`min_params=`, as a browser submits it) as not given."""
    return None if value == "" else value


Blank = BeforeValidator(blank_as_unset)


def table_query(
    task: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
    q: str = "",
    min_params: Annotated[float | None, Blank] = None,
    max_params: Annotated[float | None, Blank] = None,
    zero_shot: Annotated[int | None, Blank] = None,
    sort: str = "",
    pool: Annotated[Pool | None, Blank] = None,
) -> TableQuery:
    """The TableQuery of a request's query string (a FastAPI dependency)."""
    return TableQuery(
        tasks=tuple(task),
        search=q,
        min_params_b=min_params,
        max_params_b=max_params,
        min_zero_shot=zero_shot,
        sort=sort,
        pool=pool or Pool.ALL,
    )
