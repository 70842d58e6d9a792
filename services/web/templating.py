"""The Jinja environment of the model, compare and chart pages (the templates of app.py's)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def display_score(value: float | None) -> str:
    """mteb's display: ×100 with two decimals."""
    return "" if value is None else f"{value * 100:.2f}"


def display_time(value: str | datetime | None) -> str:
    """A timestamp as `2026-11-27 17:43:35 UTC`."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def display_number(value: float | None, digits: int = 1) -> str:
    """A figure with thousands separators (`12,345.6`); empty when unknown."""
    return "" if value is None else f"{value:,.{digits}f}"


TEMPLATES.env.filters["score"] = display_score
TEMPLATES.env.filters["when"] = display_time
TEMPLATES.env.filters["number"] = display_number
