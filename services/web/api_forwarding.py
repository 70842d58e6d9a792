"""Forms of a signed-in viewer forwarded to the submission API with their key: the CSRF check
every such form passes first, the call, and the API's typed error placed by its field."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import httpx
from fastapi import Request

from services.web.session import CSRF_FIELD, Viewer
from services.web.visibility import sessions_of, viewer_of

log = logging.getLogger(__name__)

API_TIMEOUT_S = 120.0
"""A task upload is validated before the API answers: give it time."""
UNREACHABLE = "the submission API is unreachable; try again shortly"


@dataclass
class Answer:
    """The API's answer: its status and JSON body (`{}` when it sent none)."""

    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def signed_in_with_token(request: Request, fields: dict[str, Any]) -> Viewer | None:
    """The viewer, when signed in and the posted `fields` carry their CSRF token."""
    sessions = sessions_of(request)
    viewer = viewer_of(request)
    token = fields.get(CSRF_FIELD)
    if sessions is None or not isinstance(token, str):
        return None
    return viewer if sessions.csrf_valid(viewer, token) else None


async def call_api(
    request: Request, viewer: Viewer, method: str, path: str, **options: Any
) -> Answer:
    """`method path` on the submission API as `viewer` (502 with a message when unreachable)."""
    base_url = request.app.state.settings.submission_api_url()
    headers = {"Authorization": f"Bearer {viewer.key}"}
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=API_TIMEOUT_S) as client:
            answer = await client.request(method, path, headers=headers, **options)
    except httpx.HTTPError as error:
        log.warning("submission API unreachable: %s", type(error).__name__)
        return Answer(502, {"error": {"code": "api_unreachable", "message": UNREACHABLE}})
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if not 200 <= answer.status_code < 300 and "error" not in body:
        message = f"the submission API answered {answer.status_code}"
        body = {"error": {"code": "api_error", "message": message}}
    return Answer(answer.status_code, body)


def error_text(error: dict[str, Any]) -> str:
    """An API error as one sentence: its message, where (file, line) and its code."""
    text = str(error.get("message") or "refused")
    where = []
    if error.get("file"):
        where.append(f"file {error['file']}")
    if error.get("line"):
        where.append(f"line {error['line']}")
    if error.get("file") and error.get("field"):  # a data file's column
        where.append(f"field {error['field']}")
    if where:
        text += f" ({', '.join(where)})"
    return f"{text} [{error.get('code', 'refused')}]"


def placed(body: dict[str, Any], fields: set[str], aliases: dict[str, str]) -> dict[str, str]:
    """The API's error by the form field it is about (`form` when none of `fields`): its
    `field` as named, through `aliases`, or by a part of it (`metadata.languages.0` →
    `languages`, `qrels:dev` → `qrels`); else by its `file` through `aliases` (a data file's
    name → the input it was sent from)."""
    error = body.get("error") or {}
    named = str(error.get("field") or "")
    file = str(error.get("file") or "")
    candidates = [named, aliases.get(named, ""), *re.split(r"[.:]", named)]
    candidates += [aliases.get(file, ""), aliases.get(PurePosixPath(file).name, "")]
    where = next((name for name in candidates if name in fields), "form")
    return {where: error_text(error)}
