"""Paths made from ids (model, revision, task) stay inside the folder they are meant for."""

from __future__ import annotations

import os
from pathlib import Path


class OutsideFolderError(ValueError):
    """A path built from an id would leave its folder."""


def confined(base: Path, *parts: str) -> Path:
    """`base` joined with `parts`; refused when the result is not below `base`.

    The check is on the path's text (after `..` is resolved), so symbolic links the operator
    placed inside `base` (a mirror linking to a model elsewhere, say) keep working.
    """
    root = Path(os.path.normpath(base))
    path = Path(os.path.normpath(root.joinpath(*parts)))
    if root not in path.parents:
        raise OutsideFolderError(f"{'/'.join(parts)!r} leads outside {root}")
    return path
