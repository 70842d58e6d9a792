"""The submit form: a browser's form post forwarded to the submission API.

The API key and the Hub token go to the API and nowhere else: they are never logged, never
stored by the web, and never written back into the form.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import httpx
import mteb
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.web.visibility import seen
from shared.settings import Settings

log = logging.getLogger(__name__)

FIELDS = ("model", "revision", "tasks", "benchmark", "api_key", "hf_token")
"""The form's fields, where the API's errors are shown."""
KEY_CODES = {"unauthorized": "api_key", "forbidden": "api_key", "rate_limited": "api_key"}
"""Refusals about the key, which the API names no field for."""
API_TIMEOUT_S = 60.0
MAX_FORM_BYTES = 64 * 1024
"""A form with every field filled generously stays far below this."""
LIVE = {"Cache-Control": "no-store"}


@dataclass
class SubmitForm:
    """What the form holds: the fields shown again (never the secrets) and any errors."""

    model: str = ""
    revision: str = ""
    tasks: str = ""
    benchmark: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    """Field (or `form`, for the whole form) → message."""
    code: str | None = None
    duplicate_of: str | None = None

    @classmethod
    def posted(cls, body: bytes) -> tuple[SubmitForm, dict[str, str]]:
        """The form and its secrets (`api_key`, `hf_token`) from a urlencoded body."""
        posted = parse_qs(body.decode(errors="replace"))

        def value(name: str) -> str:
            return posted.get(name, [""])[0].strip()

        form = cls(value("model"), value("revision"), value("tasks"), value("benchmark"))
        return form, {name: value(name) for name in ("api_key", "hf_token")}

    def request(self, hf_token: str) -> dict[str, Any]:
        """The API's submission request."""
        tasks = [name for name in re.split(r"[,\s]+", self.tasks) if name]
        return {
            "model": self.model,
            "revision": self.revision or None,
            "tasks": tasks or None,
            "benchmark": self.benchmark or None,
            "hf_token": hf_token or None,
        }

    def refused(self, body: dict[str, Any]) -> None:
        """Place the API's typed error next to the field it is about."""
        error = body.get("error") or {}
        self.code = error.get("code")
        where = error.get("field") or KEY_CODES.get(self.code or "", "form")
        where = where if where in FIELDS else "form"
        self.errors[where] = f"{error.get('message', 'refused')} ({self.code})"
        self.duplicate_of = error.get("submission_id")


async def bounded_body(request: Request) -> bytes | None:
    """The request's body, or None past `MAX_FORM_BYTES` (read no further)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return body


@cache
def benchmark_names() -> list[str]:
    return sorted(benchmark.name for benchmark in mteb.get_benchmarks())


def submit_router(settings: Settings, templates: Jinja2Templates) -> APIRouter:
    """`GET /submit` shows the form; `POST /submit` forwards it to the API at
    `settings.submission_api_url()` and redirects to the new submission's page."""
    router = APIRouter()
    api_url = settings.submission_api_url()

    def form_page(request: Request, form: SubmitForm, status_code: int = 200) -> Response:
        custom = sorted(seen(request).benchmarks)  # the viewer's and the public ones
        context = {"form": form, "benchmarks": benchmark_names() + custom}
        return templates.TemplateResponse(
            request, "submit.html", context, status_code=status_code, headers=LIVE
        )

    @router.get("/submit")
    async def submit_form(request: Request) -> Response:
        return form_page(request, SubmitForm())

    @router.post("/submit")
    async def submit(request: Request) -> Response:
        body = await bounded_body(request)
        if body is None:
            form = SubmitForm(errors={"form": f"the form is over {MAX_FORM_BYTES} bytes"})
            return form_page(request, form, 413)
        form, secrets = SubmitForm.posted(body)
        headers = {"Authorization": f"Bearer {secrets['api_key']}"} if secrets["api_key"] else {}
        try:
            async with httpx.AsyncClient(base_url=api_url, timeout=API_TIMEOUT_S) as client:
                answer = await client.post(
                    "/v1/submissions", json=form.request(secrets["hf_token"]), headers=headers
                )
        except httpx.HTTPError as error:
            log.warning("submission API unreachable: %s", type(error).__name__)
            form.errors["form"] = "the submission API is unreachable; try again shortly"
            return form_page(request, form, 502)
        if answer.status_code == 202:
            created = answer.json()
            return RedirectResponse(f"/submissions/{created['id']}", status_code=303)
        try:
            form.refused(answer.json())
        except ValueError:
            form.errors["form"] = f"the submission API answered {answer.status_code}"
        return form_page(request, form, answer.status_code)

    return router
