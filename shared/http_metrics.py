"""`/metrics` of the HTTP services, and their request latency by route template."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from shared.metrics import HTTP_LATENCY, exposition

UNROUTED = "unrouted"
"""The route label of requests that matched no route (404s): unbounded paths stay out."""


def instrument(app: FastAPI) -> None:
    """Add `GET /metrics` to `app` and time every request by its route template."""

    @app.middleware("http")
    async def timed(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", UNROUTED)
        HTTP_LATENCY.labels(request.method, template, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = exposition()
        return Response(body, media_type=content_type)
