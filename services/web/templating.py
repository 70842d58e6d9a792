"""The Jinja2 templates of every page, and the display filters they share."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates
from starlette.requests import Request

from services.web.visibility import sessions_of, viewer_of

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def display_score(value: float | None) -> str:
    """mteb's display: ×100 with two decimals."""
    return "" if value is None else f"{value * 100:.2f}"


def display_time(value: str | None) -> str:
    """An ISO timestamp as `2026-11-27 17:43:35 UTC`."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def display_parameters(value: float | None) -> str:
    """A size in billions as mteb shows it: one decimal from 1B, else three."""
    if value is None:
        return ""
    return f"{value:.1f}" if value >= 1 else f"{value:.3f}"


TEMPLATES.env.filters["score"] = display_score
TEMPLATES.env.filters["when"] = display_time
TEMPLATES.env.filters["parameters"] = display_parameters


def csrf_token(request: Request) -> str:
    """The signed-in viewer's CSRF token for a form ("" when signed out)."""
    sessions = sessions_of(request)
    viewer = viewer_of(request)
    return sessions.csrf_token(viewer) if sessions is not None and viewer.signed_in else ""


TEMPLATES.env.globals["viewer_of"] = viewer_of
TEMPLATES.env.globals["csrf_token"] = csrf_token
