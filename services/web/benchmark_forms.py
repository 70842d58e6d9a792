"""Creating a custom benchmark (`/benchmarks/new`, also from a view's task selection) and the
"How do the best models do on my data?" button of a custom task or benchmark (`/best-models`),
each forwarded to the submission API with the signed-in viewer's key."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.web.api_forwarding import call_api, placed, signed_in_with_token
from services.web.form_pages import LIVE, listed, refused_page, sign_in_first
from services.web.signin import csrf_refused, posted_form
from services.web.submit import benchmark_names
from services.web.templating import TEMPLATES
from services.web.visibility import catalogue_changed, seen, viewer_of
from shared.events import Priority, Visibility

router = APIRouter()
DEFAULT_BEST_OF = "MTEB(eng, v2)"
DEFAULT_TOP = 5


BENCHMARK_FIELDS = {"name", "description", "tasks", "visibility"}


def benchmark_form_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "visibilities": [visibility.value for visibility in Visibility],
    }
    return TEMPLATES.TemplateResponse(
        request, "benchmark_new.html", context, status_code=status_code, headers=LIVE
    )


@router.get("/benchmarks/new")
async def new_benchmark_form(request: Request) -> Response:
    """The form, its tasks filled from `?tasks=` (a view's task selection, saved)."""
    if not viewer_of(request).signed_in:
        return sign_in_first(request, "create a benchmark")
    tasks = "\n".join(request.query_params.getlist("tasks"))
    return benchmark_form_page(request, {"tasks": tasks, "visibility": "private"}, {})


@router.post("/benchmarks/new")
async def create_benchmark(request: Request) -> Response:
    fields = await posted_form(request) or {}
    viewer = signed_in_with_token(request, fields)
    if viewer is None:
        return csrf_refused(request)
    values = {name: fields.get(name, "").strip() for name in BENCHMARK_FIELDS}
    payload = values | {"tasks": listed(values["tasks"].replace("\n", ","))}
    answer = await call_api(request, viewer, "POST", "/v1/benchmarks", json=payload)
    if answer.ok:
        await catalogue_changed(request)
        return RedirectResponse(f"/benchmarks/{quote(values['name'], safe='')}", status_code=303)
    return benchmark_form_page(
        request, values, placed(answer.body, BENCHMARK_FIELDS, {}), answer.status
    )


BEST_FIELDS = {"benchmark", "top", "max_parameters", "models", "priority"}


@router.post("/benchmarks/{name}/publish")
async def publish_benchmark(request: Request, name: str) -> Response:
    """`POST /v1/benchmarks/{name}/publish` (its tasks must be public already)."""
    viewer = signed_in_with_token(request, await posted_form(request) or {})
    if viewer is None:
        return csrf_refused(request)
    path = f"/v1/benchmarks/{quote(name, safe='')}/publish"
    answer = await call_api(request, viewer, "POST", path)
    if not answer.ok:
        return refused_page(request, answer.status, placed(answer.body, set(), {})["form"])
    await catalogue_changed(request)
    return RedirectResponse(f"/benchmarks/{quote(name, safe='')}", status_code=303)


@router.post("/benchmarks/{name}/delete")
async def delete_benchmark(request: Request, name: str) -> Response:
    """`DELETE /v1/benchmarks/{name}`: the benchmark and its table go, its tasks stay."""
    viewer = signed_in_with_token(request, await posted_form(request) or {})
    if viewer is None:
        return csrf_refused(request)
    answer = await call_api(request, viewer, "DELETE", f"/v1/benchmarks/{quote(name, safe='')}")
    if not answer.ok:
        return refused_page(request, answer.status, placed(answer.body, set(), {})["form"])
    await catalogue_changed(request)
    return RedirectResponse("/benchmarks", status_code=303)


def best_models_page(
    request: Request,
    target: tuple[str, str],
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    queued: dict[str, Any] | None = None,
) -> Response:
    kind, name = target
    context = {
        "kind": kind,
        "name": name,
        "values": values,
        "errors": errors,
        "benchmarks": benchmark_names(),
        "priorities": [Priority.NORMAL.value, Priority.LOW.value],
        "queued": queued,
    }
    return TEMPLATES.TemplateResponse(
        request, "best_models.html", context, status_code=status_code, headers=LIVE
    )


def best_target(request: Request, fields: dict[str, str]) -> tuple[str, str] | None:
    """What the button is for: (`task` or `benchmark`, its name), if the viewer sees it."""
    visible = seen(request)
    if name := fields.get("task", ""):
        return ("task", name) if name in visible.tasks else None
    if name := fields.get("benchmark_target", fields.get("benchmark", "")):
        return ("benchmark", name) if name in visible.benchmarks else None
    return None


def best_request(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's request of the form's values, and the fields it cannot read."""
    errors: dict[str, str] = {}
    numbers: dict[str, int | None] = {}
    for name, scale in (("top", 1), ("max_parameters", 1_000_000)):
        text = values.get(name, "")
        try:
            numbers[name] = round(float(text) * scale) if text else None
        except ValueError:
            errors[name] = f"{name.replace('_', ' ')} must be a number [invalid_number]"
    models = listed(values.get("models", "").replace("\n", ","))
    payload = {
        "benchmark": values.get("benchmark") or DEFAULT_BEST_OF,
        "top": numbers.get("top") or DEFAULT_TOP,
        "max_parameters": numbers.get("max_parameters"),
        "models": models or None,
        "priority": values.get("priority") or Priority.NORMAL.value,
    }
    return payload, errors


@router.get("/best-models")
async def best_models_form(request: Request) -> Response:
    """The form of the "How do the best models do on my data?" button."""
    target = best_target(request, dict(request.query_params))
    if target is None:
        return refused_page(request, 404, "no custom task or benchmark of that name")
    if not viewer_of(request).signed_in:
        return sign_in_first(request, "queue models")
    values = {"benchmark": DEFAULT_BEST_OF, "top": str(DEFAULT_TOP), "priority": "normal"}
    return best_models_page(request, target, values, {})


@router.post("/best-models")
async def queue_best_models(request: Request) -> Response:
    """Forward to `POST /v1/{tasks|benchmarks}/{name}/best-models`; show what was queued."""
    fields = await posted_form(request) or {}
    viewer = signed_in_with_token(request, fields)
    if viewer is None:
        return csrf_refused(request)
    asked = {name: fields.get(name, "") for name in ("task", "benchmark_target")}
    target = best_target(request, asked)
    if target is None:
        return refused_page(request, 404, "no custom task or benchmark of that name")
    values = {name: fields.get(name, "").strip() for name in BEST_FIELDS}
    payload, errors = best_request(values)
    if errors:
        return best_models_page(request, target, values, errors, 422)
    kind, name = target
    path = f"/v1/{kind}s/{quote(name, safe='')}/best-models"
    answer = await call_api(request, viewer, "POST", path, json=payload)
    if not answer.ok:
        errors = placed(answer.body, BEST_FIELDS, {})
        return best_models_page(request, target, values, errors, answer.status)
    return best_models_page(request, target, values, {}, 200, answer.body)
