"""The benchmarks people pick from: mteb's grouped selector, lenient name lookup, the closest
names to an unknown one, and safe Markdown for their descriptions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import mteb
from markdown_it import MarkdownIt
from mteb.benchmarks._leaderboard_menu import GP_BENCHMARK_ENTRIES, R_BENCHMARK_ENTRIES, MenuEntry

from shared.documents import CustomBenchmarkDoc

CLOSEST = 5
"""Closest names listed for an unknown benchmark."""


@dataclass(frozen=True)
class MenuGroup:
    """A group of mteb's benchmark selector: its benchmarks, then its nested groups."""

    name: str
    description: str
    open: bool
    benchmarks: tuple[tuple[str, str], ...]
    """(name, label) of each benchmark."""
    groups: tuple[MenuGroup, ...]


def _group(entry: MenuEntry) -> MenuGroup:
    benchmarks = tuple(
        (item.name, item.display_name or item.name)
        for item in entry.benchmarks
        if isinstance(item, mteb.Benchmark)
    )
    groups = tuple(_group(item) for item in entry.benchmarks if isinstance(item, MenuEntry))
    return MenuGroup(
        (entry.name or "").strip(), entry.description or "", entry.open, benchmarks, groups
    )


@lru_cache(maxsize=1)
def menu() -> tuple[MenuGroup, ...]:
    """mteb's leaderboard selector (`GP_BENCHMARK_ENTRIES + R_BENCHMARK_ENTRIES`), grouped."""
    return tuple(_group(entry) for entry in [*GP_BENCHMARK_ENTRIES, *R_BENCHMARK_ENTRIES])


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Every benchmark name and alias, folded (`fold`), to its canonical name."""
    names: dict[str, str] = {}
    for benchmark in mteb.get_benchmarks():
        for name in [benchmark.name, *(benchmark.aliases or [])]:
            names.setdefault(fold(name), benchmark.name)
    return names


def fold(name: str) -> str:
    """A name as compared leniently: `+` as a space, case and spaces after commas ignored."""
    return " ".join(name.replace("+", " ").split()).replace(", ", ",").casefold()


def resolve(name: str, custom: Iterable[str] = ()) -> str | None:
    """The canonical name of benchmark `name` (exact, or by `fold`) among the registry's and
    the `custom` benchmarks (those the viewer may see); None if there is none."""
    if name in {benchmark.name for benchmark in mteb.get_benchmarks()}:
        return name
    found = _names().get(fold(name))
    if found is not None:
        return found
    return {fold(other): other for other in custom}.get(fold(name))


def closest(name: str, custom: Iterable[str] = ()) -> list[str]:
    """The benchmark names most like `name`, best first (among the registry's and `custom`)."""
    names = {fold(other): other for other in custom} | _names()
    matches = difflib.get_close_matches(fold(name), list(names), n=CLOSEST * 3, cutoff=0.4)
    return list(dict.fromkeys(names[match] for match in matches))[:CLOSEST]


def custom_group(custom: Mapping[str, CustomBenchmarkDoc]) -> tuple[MenuGroup, ...]:
    """The selector's "Custom" group: the custom benchmarks the viewer may see (none: no group)."""
    if not custom:
        return ()
    benchmarks = tuple((name, name) for name in sorted(custom))
    about = "Benchmarks made here from custom and registry tasks."
    return (MenuGroup("Custom", about, True, benchmarks, ()),)


_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def safe_markdown(text: str) -> str:
    """`text` as HTML: raw HTML is escaped and links with unsafe schemes (`javascript:`) are
    dropped by markdown-it's link validation."""
    return _MARKDOWN.render(text or "")
