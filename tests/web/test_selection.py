"""Tasks and models a view ranks: mteb's leaderboard selection (`_filter_models` through
`mteb.get_model_metas`, `_cache_update_task_list`), with unknown sizes kept unless hidden."""

from __future__ import annotations

from itertools import islice
from typing import Any

import mteb
import pytest
from mteb.models.get_model_meta import get_model_metas
from mteb.models.model_implementations import MODEL_REGISTRY

from services.web.query import BenchmarkQuery, Choices, parse_query
from services.web.selection import (
    choices_of,
    language_filter,
    model_filter,
    narrowed_cells,
    selected_tasks,
)
from shared.summary.models import lenient_meta
from shared.summary.tasks import TaskCells

ENG_V2 = "MTEB(eng, v2)"
MULTILINGUAL = "MTEB(Multilingual, v2)"
SAMPLE = list(islice(MODEL_REGISTRY, 0, None, 7))


def query(choices: Choices, **fields: Any) -> BenchmarkQuery:
    items = [
        (k, v)
        for k, values in fields.items()
        for v in ([values] if isinstance(values, str) else values)
    ]
    return parse_query(items, choices)


@pytest.mark.parametrize(
    ("fields", "mteb_filter"),
    [
        ({"availability": "open"}, {"open_weights": True}),
        ({"availability": "proprietary"}, {"open_weights": False}),
        ({"instructions": "tuned"}, {"use_instructions": True}),
        ({"instructions": "untuned"}, {"use_instructions": False}),
        ({"compatibility": "sentence-transformers"}, {"frameworks": ["Sentence Transformers"]}),
        (
            {"model_type": ["sparse", "late-interaction"]},
            {"model_types": ["sparse", "late-interaction"]},
        ),
        ({"max_size": "500", "unknown_size": "hide"}, {"n_parameters_range": (None, 500e6)}),
        ({"max_size": "5000", "unknown_size": "hide"}, {"n_parameters_range": (None, 5000e6)}),
    ],
)
def test_model_filters_keep_what_mteb_keeps(
    fields: dict[str, Any], mteb_filter: dict[str, Any]
) -> None:
    choices = choices_of(ENG_V2)
    keeps = model_filter(query(choices, **fields), list(choices.tasks), MODEL_REGISTRY.__getitem__)
    expected = {meta.name for meta in get_model_metas(model_names=SAMPLE, **mteb_filter)}
    assert {name for name in SAMPLE if keeps(name)} == expected
    assert 0 < len(expected) < len(SAMPLE)


def test_zero_shot_modes_follow_mteb() -> None:
    choices = choices_of(ENG_V2)
    tasks = list(choices.tasks)
    verdict = {name: MODEL_REGISTRY[name].is_zero_shot_on(tasks) for name in SAMPLE}
    only = model_filter(
        query(choices, zero_shot="only_zero_shot"), tasks, MODEL_REGISTRY.__getitem__
    )
    known = model_filter(
        query(choices, zero_shot="remove_unknown"), tasks, MODEL_REGISTRY.__getitem__
    )
    assert {n for n in SAMPLE if only(n)} == {n for n, zero in verdict.items() if zero is True}
    assert {n for n in SAMPLE if known(n)} == {n for n, zero in verdict.items() if zero is not None}


def test_a_model_of_unknown_size_stays_unless_hidden() -> None:
    unknown = lenient_meta({"name": "someone/unsized"})
    choices = choices_of(ENG_V2)
    for fields in ({"max_size": "100"}, {"min_params": "0"}, {"max_params": "1"}):
        assert model_filter(query(choices, **fields), [], lambda _: unknown)("someone/unsized")
        hidden = query(choices, unknown_size="hide", **fields)
        assert not model_filter(hidden, [], lambda _: unknown)("someone/unsized")


def test_tasks_are_chosen_as_mteb_updates_its_task_list() -> None:
    benchmark = mteb.get_benchmark(MULTILINGUAL)
    choices = choices_of(MULTILINGUAL)
    assert selected_tasks(benchmark, BenchmarkQuery()) is None
    chosen = selected_tasks(benchmark, query(choices, type="STS", language="fra"))
    assert chosen == [
        t.metadata.name
        for t in benchmark.tasks
        if t.metadata.type == "STS" and "fra" in t.languages
    ]
    two = ["SICK-R", "TRECCOVID"]
    assert set(two) <= set(choices.tasks)
    medical = selected_tasks(benchmark, query(choices, domain="Medical", task=two))
    assert medical == ["TRECCOVID"]  # SICK-R is of other domains


def test_languages_narrow_a_task_to_their_subsets() -> None:
    benchmark = mteb.get_benchmark(MULTILINGUAL)
    choices = choices_of(MULTILINGUAL)
    languages = language_filter(benchmark, query(choices, language=["fra", "deu"]))
    assert languages == frozenset({"fra", "deu"})
    task = next(t for t in benchmark.tasks if t.metadata.name == "STS22.v2")
    cells = narrowed_cells(TaskCells.of(task), languages)
    assert cells.subsets == {"de", "fr", "de-en", "de-fr", "de-pl", "fr-pl"} & set(task.hf_subsets)
    every = query(choices, language=list(choices.languages))
    assert language_filter(benchmark, every) is None  # all of them: no narrowing, as in mteb
