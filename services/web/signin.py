"""`/signin` (a form taking an API key) and `/signout`.

The key is checked against the store, then kept only sealed in the session cookie (see
`session`); it is never logged, never written back into a page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.web.session import (
    CSRF_FIELD,
    clear_session,
    key_viewer,
    over_tls,
    set_session,
)
from services.web.templating import TEMPLATES
from services.web.visibility import sessions_of, viewer_of

router = APIRouter()
LIVE = {"Cache-Control": "no-store"}
MAX_FORM_BYTES = 16 * 1024
NO_SECRET_KEY = (
    "Signing in is unavailable: this installation has no secret key "
    "(set LEADERBOARD_SECRET_KEY_FILE; `leaderboard up` makes one)."
)


def signin_page(
    request: Request, errors: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    context: dict[str, Any] = {
        "errors": errors or {},
        "available": sessions_of(request) is not None,
        "unavailable": NO_SECRET_KEY,
        "next": safe_next(request.query_params.get("next", "")),
    }
    return TEMPLATES.TemplateResponse(
        request, "signin.html", context, status_code=status_code, headers=LIVE
    )


def safe_next(target: str) -> str:
    """A local path to go back to after signing in (anything else: the task list)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/tasks"


async def posted_form(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str] | None:
    """A urlencoded form's fields (first value of each), or None past `limit` bytes."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return {name: values[0] for name, values in parse_qs(body.decode(errors="replace")).items()}


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    return signin_page(request, status_code=200 if sessions_of(request) else 503)


@router.post("/signin")
async def signin(request: Request) -> Response:
    sessions = sessions_of(request)
    if sessions is None:
        return signin_page(request, {"form": NO_SECRET_KEY}, 503)
    form = await posted_form(request)
    if form is None:
        return signin_page(request, {"form": "the form is too large"}, 413)
    key = form.get("api_key", "").strip()
    if not key:
        return signin_page(request, {"api_key": "enter an API key (missing_key)"}, 422)
    viewer = await key_viewer(request.app.state.store, key)
    if not viewer.signed_in:
        message = "this key is unknown or revoked (unauthorized)"
        return signin_page(request, {"api_key": message}, 401)
    response = RedirectResponse(safe_next(form.get("next", "")), status_code=303)
    set_session(response, sessions.seal(key), secure=over_tls(request))
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Sign out (a form post carrying the CSRF token, so no other site can sign one out)."""
    sessions = sessions_of(request)
    viewer = viewer_of(request)
    form = await posted_form(request) or {}
    csrf = form.get(CSRF_FIELD, "")
    if sessions is not None and viewer.signed_in and not sessions.csrf_valid(viewer, csrf):
        return csrf_refused(request)
    response = RedirectResponse("/", status_code=303)
    clear_session(response, secure=over_tls(request))
    return response


def csrf_refused(request: Request) -> Response:
    """403 for a signed-in viewer's form post without its token."""
    context = {"detail": "This form has expired or did not come from this site (csrf_invalid)."}
    return TEMPLATES.TemplateResponse(request, "error.html", context, status_code=403)
