"""A benchmark view's query string: empty fields are no filter, bad ones get typed errors."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from services.web.query import (
    Availability,
    BenchmarkQuery,
    Choices,
    QueryError,
    ZeroShot,
    parse_query,
)
from shared.summary.display import Pool

CHOICES = Choices(
    tasks=("BIOSSES", "STS12"),
    types=("STS",),
    domains=("Medical",),
    modalities=("text",),
    languages=("eng",),
)


def parse(query: str) -> BenchmarkQuery:
    return parse_query(parse_qsl(query, keep_blank_values=True), CHOICES)


def test_a_form_with_every_field_empty_is_no_filter() -> None:
    empty = parse("q=&min_params=&max_params=&zero_shot=&availability=&max_size=&pool=&sort=")
    assert empty == BenchmarkQuery()
    assert not empty.customised and not empty.pool_filtered
    assert empty.parameters() == ""


def test_fields_are_read_and_written_back_alike() -> None:
    text = (
        "task=BIOSSES&type=STS&language=eng&availability=open&zero_shot=only_zero_shot"
        "&max_size=1000&min_params=0.1&unknown_size=hide&model_type=dense"
        "&compatibility=sentence-transformers&q=bge&pool=official&sort=-Mean+%28Task%29"
    )
    query = parse(text)
    assert query.tasks == ("BIOSSES",) and query.types == ("STS",)
    assert query.availability is Availability.OPEN and query.zero_shot is ZeroShot.ONLY
    assert query.max_size_m == 1000 and query.min_params_b == 0.1 and query.hide_unknown_size
    assert query.sentence_transformers and query.pool is Pool.OFFICIAL
    assert query.customised and query.pool_filtered and query.size_filtered
    assert parse(query.parameters()) == query
    assert "sort=Model" in query.parameters(sort="Model")


@pytest.mark.parametrize(
    ("text", "field", "code"),
    [
        ("min_params=many", "min_params", "not_a_number"),
        ("max_params=-1", "max_params", "out_of_range"),
        ("max_params=nan", "max_params", "out_of_range"),
        ("min_params=3&max_params=1", "max_params", "empty_range"),
        ("zero_shot=sometimes", "zero_shot", "not_a_choice"),
        ("availability=free", "availability", "not_a_choice"),
        ("max_size=7", "max_size", "not_a_choice"),
        ("pool=mine", "pool", "not_a_choice"),
        ("task=NoSuchTask", "task", "not_in_benchmark"),
        ("language=fra", "language", "not_in_benchmark"),
        ("model_type=huge", "model_type", "not_in_benchmark"),
    ],
)
def test_a_bad_field_gets_its_own_typed_error(text: str, field: str, code: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse(f"{text}&q=bge")
    assert [(e.field, e.code) for e in raised.value.errors] == [(field, code)]
    assert raised.value.query.search == "bge"  # the valid fields are kept
    assert raised.value.query.raw[field]  # and the bad value, to show back
