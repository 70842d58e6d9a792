"""The web's renderings and display helpers."""

from __future__ import annotations

from services.web.app import sort_rows
from services.web.renderings import Format, split_format
from services.web.templating import display_score, display_time


def test_path_suffix_picks_the_rendering() -> None:
    assert split_format("BIOSSES") == ("BIOSSES", Format.HTML)
    assert split_format("BIOSSES.json") == ("BIOSSES", Format.JSON)
    assert split_format("STSBenchmark.v2.csv") == ("STSBenchmark.v2", Format.CSV)
    assert split_format("STSBenchmark.v2") == ("STSBenchmark.v2", Format.HTML)


def test_rows_sort_by_any_column_either_way() -> None:
    rows = [{"model": "b", "main_score": 0.1}, {"model": "a", "main_score": 0.9}]
    assert [r["model"] for r in sort_rows(rows, "model")] == ["a", "b"]
    assert [r["model"] for r in sort_rows(rows, "-model")] == ["b", "a"]
    assert [r["model"] for r in sort_rows(rows, "-main_score")] == ["a", "b"]
    assert sort_rows(rows, "no_such_column") == rows
    assert sort_rows(rows, None) == rows


def test_display_follows_mteb_and_utc() -> None:
    assert display_score(0.8164041444909368) == "81.64"
    assert display_score(None) == ""
    assert display_time("2026-11-27T17:43:35.208000+01:00") == "2026-11-27 16:43:35 UTC"
    assert display_time(None) == ""
