"""What the forms of custom tasks and benchmarks share: pages that are never kept, the page
asking an anonymous viewer to sign in, a refusal page, and lists as people type them."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import Response

from services.web.templating import TEMPLATES

LIVE = {"Cache-Control": "no-store"}


def listed(text: str) -> list[str]:
    return [item for item in re.split(r"[,\s]+", text) if item]


def sign_in_first(request: Request, what: str) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    context = {"what": what, "next": request.url.path + query}
    return TEMPLATES.TemplateResponse(
        request, "sign_in_first.html", context, status_code=401, headers=LIVE
    )


def refused_page(request: Request, status: int, message: str) -> Response:
    return TEMPLATES.TemplateResponse(
        request, "error.html", {"detail": message}, status_code=status, headers=LIVE
    )
