"""Benchmark tables equal mteb 2.26's own table code, on results checkouts and hand-made cases."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import mteb
import polars as pl
import pytest
from mteb.models import ModelMeta
from mteb.models.model_implementations import MODEL_REGISTRY
from mteb.results import TaskResult

from shared.summary.rows import InvalidTaskResultError, ResultRow, result_row_from_task_result
from shared.summary.table import BenchmarkTable, narrowed_part, summarize, task_part
from shared.summary.tasks import TaskCells
from tests.support.mteb_oracle import mteb_results, mteb_summary
from tests.support.results_repo import RESULTS_CHECKOUT, load_mteb_results, mteb_frame, result_rows
from tests.support.synthetic_results import summary_checkout, synthetic_checkout

ENG_V2 = "MTEB(eng, v2)"
A, B, C = "intfloat/e5-small", "BAAI/bge-small-en-v1.5", "sentence-transformers/all-MiniLM-L6-v2"
UNKNOWN_TRAINING = "thenlper/gte-small"
SIZE_COLUMNS = {
    "Zero-shot": "zero_shot",
    "Total Parameters (B)": "n_parameters_b",
    "Active Parameters (B)": "n_active_parameters_b",
    "Embedding Dimensions": "embed_dim",
    "Max Tokens": "max_tokens",
}

needs_results = pytest.mark.skipif(
    not RESULTS_CHECKOUT.exists(), reason="the shared public results checkout is not here"
)


def same(expected: float | None, actual: float | None) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    return abs(expected - actual) <= 1e-9


def mismatches(reference: Mapping[str, dict[str, Any]], table: BenchmarkTable) -> list[str]:
    """Every value of mteb's summary rows that the table does not reproduce."""
    ours = {row.model: row for row in table.rows}
    found = (
        [f"models: mteb {sorted(reference)} ours {sorted(ours)}"]
        if ours.keys() != set(reference)
        else []
    )
    for model, expected in reference.items():
        row = ours.get(model)
        if row is None:
            continue
        pairs: list[tuple[str, Any, Any]] = [
            ("Rank (Borda)", expected["Rank (Borda)"], row.rank_borda),
            ("Mean (Task)", expected["Mean (Task)"], row.mean_task),
            ("Mean (TaskType)", expected["Mean (TaskType)"], row.mean_task_type),
        ]
        pairs += [(t, expected[t], row.type_means[t]) for t in table.task_types]
        pairs += [(c, expected[c], getattr(row, field)) for c, field in SIZE_COLUMNS.items()]
        found += [f"{model} {name}: mteb {e} ours {o}" for name, e, o in pairs if not same(e, o)]
    return found


def row(
    model: str,
    task: str,
    scores: dict[str, dict[str, float]],
    revision: str = "r1",
    version: str | None = "2.0.0",
) -> ResultRow:
    return ResultRow(model=model, revision=revision, task=task, mteb_version=version, scores=scores)


def score(value: float) -> dict[str, dict[str, float]]:
    """A score on the test split's default subset."""
    return {"test": {"default": value}}


def build_table(
    benchmark: mteb.Benchmark,
    rows: Iterable[ResultRow],
    models: Mapping[str, ModelMeta],
    tasks: list[str] | None = None,
    bootstrap_resamples: int = 1000,
    seed: int = 0,
) -> BenchmarkTable:
    """`summarize` over the rows of the registry's models `models` only (a pool made here)."""
    kept = [row for row in rows if row.model in models]
    return summarize(benchmark, kept, models.__getitem__, tasks, bootstrap_resamples, seed)


def pool(*names: str) -> dict[str, ModelMeta]:
    return {name: MODEL_REGISTRY[name] for name in names}


def oracle(
    benchmark: mteb.Benchmark, rows: list[ResultRow], models: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """mteb's summary of these rows for this model pool."""
    frame = mteb_results(rows)._to_results_df(benchmark.tasks)
    return mteb_summary(benchmark, frame.filter(pl.col("model_name").is_in(list(models))))


def tiny_benchmark(*names: str) -> mteb.Benchmark:
    return mteb.Benchmark(name="tiny", tasks=mteb.get_tasks(list(names)))


# --- a results checkout, MTEB(eng, v2): one made here, and the public one ----------------


class Loaded(NamedTuple):
    """mteb's frame of a checkout, our ResultRows of the same files, and how many models of
    mteb's registry its table has at least."""

    benchmark: mteb.Benchmark
    frame: pl.DataFrame
    rows: list[ResultRow]
    many: int


@pytest.fixture(scope="module", params=["synthetic", pytest.param("public", marks=needs_results)])
def public(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """The checkout (made here, or the shared public one) read by mteb and by us."""
    if request.param == "public":
        checkout, many = RESULTS_CHECKOUT, 300
    else:
        checkout, many = summary_checkout(tmp_path_factory.mktemp("results")), 10
    benchmark = mteb.get_benchmark(ENG_V2)
    frame = mteb_frame(load_mteb_results(benchmark, checkout), benchmark)
    rows = list(result_rows({task.metadata.name for task in benchmark.tasks}, checkout))
    return Loaded(benchmark, frame, rows, many)


def test_every_value_and_rank_equals_mteb_on_a_checkout(public: Loaded) -> None:
    benchmark, frame, rows, many = public
    summary = benchmark._create_summary_table(frame)
    reference = {r["Model"]: r for r in summary.df.iter_rows(named=True)}
    table = build_table(benchmark, rows, MODEL_REGISTRY, bootstrap_resamples=0)
    assert len(table.rows) > many
    assert len(table.tasks) == 41
    assert mismatches(reference, table) == []
    per_task = benchmark._create_per_task_table(frame)
    ours = {r.model: r.task_scores for r in table.rows}
    wrong = [
        (r["Model"], task)
        for r in per_task.iter_rows(named=True)
        for task in table.tasks
        if not same(r[task], ours[r["Model"]][task])
    ]
    assert wrong == []


def test_a_custom_subset_equals_mteb_on_a_benchmark_of_those_tasks(public: Loaded) -> None:
    benchmark, frame, rows, _ = public
    subset = [task.metadata.name for task in benchmark.tasks[::4]][:10]
    restricted = mteb.Benchmark(
        name="subset", tasks=[t for t in benchmark.tasks if t.metadata.name in subset]
    )
    reference = mteb_summary(restricted, frame, subset)
    table = build_table(benchmark, rows, MODEL_REGISTRY, tasks=subset, bootstrap_resamples=0)
    assert sorted(table.tasks) == sorted(subset)
    assert mismatches(reference, table) == []


def test_bootstrap_intervals_hold_the_point_and_repeat_with_the_seed(public: Loaded) -> None:
    benchmark, _, rows, many = public
    table = build_table(benchmark, rows, MODEL_REGISTRY, seed=7)
    again = build_table(benchmark, rows, MODEL_REGISTRY, seed=7)
    other = build_table(benchmark, rows, MODEL_REGISTRY, seed=8)
    intervals = [(r.mean_task_ci, r.rank_ci, r.tie_group) for r in table.rows]
    assert intervals == [(r.mean_task_ci, r.rank_ci, r.tie_group) for r in again.rows]
    assert intervals != [(r.mean_task_ci, r.rank_ci, r.tie_group) for r in other.rows]
    complete = [r for r in table.rows if r.mean_task is not None]
    assert len(complete) > many // 3
    for r in complete:
        assert r.mean_task_ci is not None
        assert r.mean_task_ci[0] <= r.mean_task <= r.mean_task_ci[1]
    for r in table.rows:
        assert r.rank_ci is not None and r.rank_borda is not None
        assert r.rank_ci[0] <= r.rank_borda <= r.rank_ci[1]
    assert all(r.mean_task_ci is None for r in table.rows if r.mean_task is None)


def test_tie_groups_hold_models_whose_rank_intervals_overlap_their_leader(public: Loaded) -> None:
    benchmark, _, rows, _ = public
    table = build_table(benchmark, rows, MODEL_REGISTRY)
    leaders: dict[int, tuple[int, int]] = {}
    for r in table.rows:  # best rank first
        assert r.tie_group is not None and r.rank_ci is not None
        leader = leaders.setdefault(r.tie_group, r.rank_ci)
        assert r.rank_ci[0] <= leader[1]
    groups = [r.tie_group for r in table.rows]
    assert groups == sorted(groups)
    assert 1 < len(leaders) < len(table.rows)
    ordered = list(leaders.values())
    assert all(later[0] > earlier[1] for earlier, later in itertools.pairwise(ordered))


# --- hand-made cases, each checked by hand and against mteb's code ---------------------------


def test_ties_share_the_average_task_rank_and_the_best_final_rank() -> None:
    benchmark = tiny_benchmark("BIOSSES", "STS12")
    rows = [
        row(A, "BIOSSES", score(0.5)),
        row(B, "BIOSSES", score(0.5)),
        row(C, "BIOSSES", score(0.4)),
        row(A, "STS12", score(0.6)),
        row(B, "STS12", score(0.6)),
        row(C, "STS12", score(0.6)),
    ]
    # BIOSSES ranks 1.5, 1.5, 3 -> points 1.5, 1.5, 0; STS12 all rank 2 -> 1 point each.
    table = build_table(benchmark, rows, pool(A, B, C), bootstrap_resamples=0)
    assert [(r.model, r.rank_borda) for r in table.rows] == [(B, 1), (A, 1), (C, 3)]
    assert mismatches(oracle(benchmark, rows, [A, B, C]), table) == []


def test_a_missing_task_nulls_the_means_and_earns_no_points() -> None:
    benchmark = tiny_benchmark("BIOSSES", "STS12", "Banking77Classification")
    rows = [
        row(A, "BIOSSES", score(0.5)),
        row(A, "STS12", score(0.7)),
        row(A, "Banking77Classification", score(0.8)),
        row(B, "BIOSSES", score(0.9)),
        row(B, "Banking77Classification", score(0.6)),
    ]
    table = build_table(benchmark, rows, pool(A, B), bootstrap_resamples=0)
    by_model = {r.model: r for r in table.rows}
    assert by_model[A].mean_task == pytest.approx((0.5 + 0.7 + 0.8) / 3)
    assert by_model[A].mean_task_type == pytest.approx((0.6 + 0.8) / 2)
    assert by_model[B].task_scores["STS12"] is None
    assert by_model[B].mean_task is None and by_model[B].mean_task_type is None
    assert by_model[B].type_means == {"STS": None, "Classification": 0.6}
    # points: A 0 + 1 + 1 = 2, B 1 + 0 (missing) + 0 = 1
    assert [(r.model, r.rank_borda) for r in table.rows] == [(A, 1), (B, 2)]
    assert mismatches(oracle(benchmark, rows, [A, B]), table) == []


def test_a_missing_subset_nulls_the_task_but_mteb_still_ranks_the_rest_of_it() -> None:
    sts17 = mteb.get_task("STS17", hf_subsets=["en-en", "en-de"])
    benchmark = mteb.Benchmark(name="tiny", tasks=[sts17, mteb.get_task("BIOSSES")])
    rows = [
        row(A, "STS17", {"test": {"en-en": 0.5, "en-de": 0.3, "fr-en": 0.99}}),
        row(B, "STS17", {"test": {"en-en": 0.9}}),
        row(C, "STS17", {"test": {"fr-en": 0.7}, "train": {"en-en": 0.9}}),
        row(A, "BIOSSES", score(0.5)),
        row(B, "BIOSSES", score(0.4)),
    ]
    table = build_table(benchmark, rows, pool(A, B, C), bootstrap_resamples=0)
    by_model = {r.model: r for r in table.rows}
    assert by_model[A].task_scores["STS17"] == pytest.approx(0.4)  # other subsets ignored
    assert by_model[B].task_scores["STS17"] is None
    assert C not in by_model  # no cell of the benchmark: no row
    # STS17 is ranked on B's partial 0.9 over A's 0.4: B 1 point, A 0; BIOSSES A 1, B 0.
    assert {(r.model, r.rank_borda) for r in table.rows} == {(A, 1), (B, 1)}
    assert mismatches(oracle(benchmark, rows, [A, B, C]), table) == []


def test_revisions_are_joined_per_task_as_mteb_does() -> None:
    benchmark = tiny_benchmark("BIOSSES", "STS12")
    main = MODEL_REGISTRY[A].revision
    assert main is not None
    rows = [
        row(A, "BIOSSES", score(0.3), revision=main, version="1.1.0"),
        row(A, "BIOSSES", score(0.9), revision="newer", version="2.1.0"),  # main revision wins
        row(A, "STS12", score(0.8), revision="newer", version="2.1.0"),  # only one: kept
        row(B, "BIOSSES", score(0.4), revision="r1", version="1.12.0"),
        row(B, "BIOSSES", score(0.6), revision="r2", version="2.1.0"),  # newest mteb wins
        row(B, "STS12", score(0.2), revision="external", version="2.5.0"),
        row(B, "STS12", score(0.7), revision="r1", version="1.0.0"),  # a real revision wins
        row(C, "BIOSSES", score(0.5), revision="r1", version=None),
        row(C, "BIOSSES", score(0.1), revision="no_revision_available", version="2.0.0"),
        row(C, "STS12", score(0.5), revision="a", version="2.0.0"),
        row(C, "STS12", score(0.6), revision="b", version="2.0.0"),  # full tie: first row
    ]
    table = build_table(benchmark, rows, pool(A, B, C), bootstrap_resamples=0)
    scores = {r.model: r.task_scores for r in table.rows}
    assert scores[A] == {"BIOSSES": 0.3, "STS12": 0.8}
    assert scores[B] == {"BIOSSES": 0.6, "STS12": 0.7}
    assert scores[C] == {"BIOSSES": 0.1, "STS12": 0.5}
    assert {r.model: r.revision for r in table.rows}[B] in {"r1", "r2"}
    assert mismatches(oracle(benchmark, rows, [A, B, C]), table) == []


def test_a_row_shows_the_revision_most_of_its_tasks_come_from_the_first_on_a_tie() -> None:
    benchmark = tiny_benchmark("BIOSSES", "STS12", "STS13")
    rows = [
        row(A, "BIOSSES", score(0.3), revision="x"),
        row(A, "STS12", score(0.4), revision="y"),
        row(A, "STS13", score(0.5), revision="y"),
        row(B, "BIOSSES", score(0.3), revision="p"),
        row(B, "STS12", score(0.4), revision="q"),
        row(C, "STS13", score(0.4), revision="z"),
    ]
    table = build_table(benchmark, rows, pool(A, B, C), bootstrap_resamples=0)
    first_of_b = next(task for task in table.tasks if task != "STS13")
    expected = {A: "y", B: {"BIOSSES": "p", "STS12": "q"}[first_of_b], C: "z"}
    assert {r.model: r.revision for r in table.rows} == expected


def test_zero_shot_counts_trained_on_tasks_and_is_minus_one_when_unknown() -> None:
    benchmark = tiny_benchmark("BIOSSES", "NQ")  # e5-small was trained on NQ
    names = [A, UNKNOWN_TRAINING]
    rows = [row(m, t, score(0.5)) for m in names for t in ("BIOSSES", "NQ")]
    table = build_table(benchmark, rows, pool(*names), bootstrap_resamples=0)
    assert {r.model: r.zero_shot for r in table.rows} == {A: 50, UNKNOWN_TRAINING: -1}
    assert mismatches(oracle(benchmark, rows, names), table) == []
    undeclared = {A: MODEL_REGISTRY[A].model_copy(update={"training_datasets": None})}
    assert build_table(benchmark, rows, undeclared).rows[0].zero_shot == -1


def test_models_outside_the_pool_are_not_ranked() -> None:
    benchmark = tiny_benchmark("BIOSSES")
    rows = [row(A, "BIOSSES", score(0.5)), row(B, "BIOSSES", score(0.9))]
    table = build_table(benchmark, rows, pool(A), bootstrap_resamples=0)
    assert [(r.model, r.rank_borda) for r in table.rows] == [(A, 1)]


def test_unknown_subset_tasks_are_refused_by_name() -> None:
    benchmark = mteb.get_benchmark(ENG_V2)
    with pytest.raises(ValueError, match="NotATask, STS99"):
        build_table(benchmark, [], MODEL_REGISTRY, tasks=["BIOSSES", "STS99", "NotATask"])
    with pytest.raises(ValueError, match="at least one task"):
        build_table(benchmark, [], MODEL_REGISTRY, tasks=[])


def test_no_results_give_an_empty_table() -> None:
    table = build_table(mteb.get_benchmark(ENG_V2), [], MODEL_REGISTRY)
    assert (table.rows, table.tasks) == ([], [])


def random_rows(benchmark: mteb.Benchmark, models: list[str], seed: int) -> list[ResultRow]:
    """Scores on a few tasks of the benchmark (its aggregate, private, multi-subset ones first)
    with missing cells, ties, off-benchmark splits and subsets, and second revisions.

    Ties are made on one-cell tasks only: on a mean of several cells, mteb's own outcome is not
    reproducible (polars sums a group in an order that varies between runs, so two means equal
    in exact arithmetic may differ in the last bit, or not)."""
    rng = random.Random(seed)
    special = [t for t in benchmark.tasks if t.is_aggregate or not t.metadata.is_public]
    special += [t for t in benchmark.tasks if len(t.hf_subsets) > 1][:2]
    by_name = {t.metadata.name: t for t in [*special[:4], *benchmark.tasks[:6]]}
    rows = []
    for model in models:
        for task in by_name.values():
            if rng.random() < 0.15:
                continue
            subsets = ["default"] if task.is_aggregate else list(task.hf_subsets)
            digits = 1 if len(subsets) * len(task.eval_splits) == 1 else 12
            for revision in ("r1", "r2")[: rng.choice((1, 1, 2))]:
                scores: dict[str, dict[str, float]] = {"dev": {"default": rng.random()}}
                for split in task.eval_splits:
                    scores[split] = {
                        s: round(rng.random(), digits)
                        for s in [*subsets, "xx"]
                        if rng.random() < 0.9
                    }
                version = rng.choice(("1.0.0", "2.0.0", None))
                rows.append(row(model, task.metadata.name, scores, revision, version))
    return rows


@pytest.mark.parametrize(
    "name",
    ["RTEB(Code, beta)", "HUME(v1)", "MIEB(lite)", "ViDoRe(v3)", "BEIR", "MTEB(Multilingual, v2)"],
)
def test_random_results_equal_mteb_on_every_kind_of_benchmark(name: str) -> None:
    benchmark = mteb.get_benchmark(name)
    names = [A, B, C, UNKNOWN_TRAINING, "intfloat/multilingual-e5-small", "BAAI/bge-m3"]
    rows = random_rows(benchmark, names, seed=len(name))
    table = build_table(benchmark, rows, pool(*names), bootstrap_resamples=0)
    assert table.rows
    assert mismatches(oracle(benchmark, rows, names), table) == []


# --- TaskResults to ResultRows ---------------------------------------------------------------


def test_a_task_result_file_and_its_object_give_the_same_row(tmp_path: Path) -> None:
    path = next(synthetic_checkout(tmp_path).glob("results/*/*/STS17.json"))
    from_json = result_row_from_task_result(json.loads(path.read_text()), "m", "r")
    from_object = result_row_from_task_result(TaskResult.from_disk(path), "m", "r")
    assert from_json == from_object
    assert from_json.task == "STS17"
    assert from_json.scores["test"]["en-en"] > 0


@pytest.mark.parametrize(
    "data", [{}, {"task_name": "BIOSSES", "scores": "x"}, {"task_name": 3, "scores": {}}]
)
def test_a_malformed_task_result_is_a_typed_error(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidTaskResultError):
        result_row_from_task_result(data, "m", "r")


def test_a_narrowed_part_is_the_part_of_the_kept_models_and_cells() -> None:
    """`narrowed_part` (a filtered pool, some subsets) equals the part made from those rows."""
    task = mteb.get_task("STS22.v2")
    cells = TaskCells.of(task)
    rows = [
        row(
            model,
            "STS22.v2",
            {"test": {s: random.Random(f"{model}{s}").random() for s in task.hf_subsets}},
        )
        for model in (A, B, C)
    ]
    whole = task_part(cells, rows, MODEL_REGISTRY.__getitem__, by_subset=False)
    fewer = replace(cells, subsets=frozenset({"de", "de-en"}))
    narrowed = narrowed_part(whole, lambda model: model != B, fewer, by_subset=False)
    made = task_part(fewer, [r for r in rows if r.model != B], MODEL_REGISTRY.__getitem__, False)
    assert narrowed.pool == made.pool and narrowed.column is not None and made.column is not None
    assert narrowed.column.models == made.column.models == [A, C]
    assert narrowed.column.scores.tolist() == made.column.scores.tolist()
    none_left = replace(cells, subsets=frozenset({"xx"}))
    assert narrowed_part(whole, lambda _: True, none_left, by_subset=False).column is None
