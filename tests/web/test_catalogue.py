"""Benchmark names, mteb's grouped selector and safe Markdown descriptions."""

from __future__ import annotations

import mteb
from mteb.benchmarks._leaderboard_menu import GP_BENCHMARK_ENTRIES, R_BENCHMARK_ENTRIES

from services.web.catalogue import closest, menu, resolve, safe_markdown


def test_names_resolve_leniently() -> None:
    for given in (
        "MTEB(eng, v2)",
        "MTEB(eng,+v2)",
        "mteb(ENG, v2)",
        "MTEB(eng,v2)",
        "MTEB(eng,  v2)",
    ):
        assert resolve(given) == "MTEB(eng, v2)", given
    assert resolve("ViDoRe(v1&v2)") == "ViDoRe(v1&v2)"
    assert resolve("MTEB(english)") is None
    assert closest("MTEB(english, v2)")[0].startswith("MTEB(eng")
    every = mteb.get_benchmarks()
    assert all(resolve(benchmark.name) == benchmark.name for benchmark in every)


def test_the_selector_groups_as_mteb_does() -> None:
    groups = menu()
    assert [g.name for g in groups] == [
        (e.name or "").strip() for e in [*GP_BENCHMARK_ENTRIES, *R_BENCHMARK_ENTRIES]
    ]
    general = groups[0]
    assert [name for name, _ in general.benchmarks] == [
        "MTEB(Multilingual, v2)",
        "MTEB(eng, v2)",
        "HUME(v1)",
    ]
    assert dict(general.benchmarks)["MTEB(eng, v2)"] == "English"  # mteb's display name
    assert "Language-specific" in [g.name for g in general.groups]


def test_descriptions_are_safe_markdown() -> None:
    html = safe_markdown(
        "**bold** [ok](https://example.org) [bad](javascript:alert(1)) <script>x</script>"
    )
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.org">ok</a>' in html
    assert "javascript:" not in html.split("[bad]")[0] and 'href="javascript' not in html
    assert "<script>" not in html and "&lt;script&gt;" in html
