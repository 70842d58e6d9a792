"""Paths built from ids stay in their folder; links placed inside it still work."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.paths import OutsideFolderError, confined


@pytest.mark.parametrize(
    "parts",
    [("../x",), ("org", "../../x"), ("/etc/passwd",), ("a/../../b",), (".",), ("",)],
)
def test_a_path_leaving_its_folder_is_refused(tmp_path: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(OutsideFolderError):
        confined(tmp_path / "base", *parts)


def test_a_path_inside_is_kept_and_links_inside_are_followed_later(tmp_path: Path) -> None:
    base = tmp_path / "base"
    (base / "org").mkdir(parents=True)
    (base / "org" / "name").symlink_to(tmp_path, target_is_directory=True)
    assert confined(base, "org/name") == base / "org" / "name"
    assert confined(base, "org", "name", "main", "BIOSSES.json").parent.name == "main"
