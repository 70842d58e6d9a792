"""The benchmarks people pick from: mteb's grouped selector, lenient name lookup, the closest
names to an unknown one, and safe Markdown for their descriptions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

import mteb
from markdown_it import MarkdownIt
from mteb.benchmarks._leaderboard_menu import GP_BENCHMARK_ENTRIES, R_BENCHMARK_ENTRIES, MenuEntry

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


def resolve(name: str) -> str | None:
    """The canonical name of benchmark `name` (exact, or by `fold`); None if there is none."""
    if name in {benchmark.name for benchmark in mteb.get_benchmarks()}:
        return name
    return _names().get(fold(name))


def closest(name: str) -> list[str]:
    """The benchmark names most like `name`, best first."""
    names = _names()
    matches = difflib.get_close_matches(fold(name), list(names), n=CLOSEST * 3, cutoff=0.4)
    return list(dict.fromkeys(names[match] for match in matches))[:CLOSEST]


_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def safe_markdown(text: str) -> str:
    """`text` as HTML: raw HTML is escaped and links with unsafe schemes (`javascript:`) are
    dropped by markdown-it's link validation."""
    return _MARKDOWN.render(text or "")
