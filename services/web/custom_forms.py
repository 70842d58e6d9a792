"""The forms of custom tasks and benchmarks, for a signed-in viewer, each forwarded to the
submission API with the viewer's key: create a task (`/tasks/new`, multipart as received),
publish or delete one (after a confirmation saying how many results go), create a benchmark
(`/benchmarks/new`, also from a view's task selection) and queue the best models of a registry
benchmark on a custom task or benchmark (`/best-models`). Refusals show by their field."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.web.api_forwarding import call_api, placed, signed_in_with_token
from services.web.signin import csrf_refused, posted_form
from services.web.submit import benchmark_names
from services.web.templating import TEMPLATES
from services.web.visibility import catalogue_changed, seen, viewer_of
from shared.custom_tasks.spec import DEFAULT_MAIN_SCORE, TaskType
from shared.events import Priority, Visibility

router = APIRouter()
LIVE = {"Cache-Control": "no-store"}
ROLES = ("corpus", "queries", "qrels", "pairs", "train", "test")
"""The file inputs of the create form, named as the API names a file's role."""
ROLE_HINTS = {
    "corpus": "Retrieval, Reranking: the documents (id, title, text).",
    "queries": "Retrieval, Reranking: the queries (id, text).",
    "qrels": "Retrieval, Reranking: query id, document id, score.",
    "pairs": "STS, PairClassification: sentence1, sentence2, score or label.",
    "train": "Classification: the training texts and labels.",
    "test": "Classification, Clustering: the test texts and labels.",
}
FILE_PARTS = {*ROLES, "data"}
METADATA_FIELDS = ("description", "languages", "domains", "main_score", "eval_splits", "license")
LIST_FIELDS = {"languages", "domains", "eval_splits"}
TASK_FIELDS = {"name", "type", "visibility", "score_range", "data", *ROLES, *METADATA_FIELDS}
ALIASES = {"metadata.score_range": "score_range"}
MAX_UPLOAD_FILES = 200
DEFAULT_BEST_OF = "MTEB(eng, v2)"
DEFAULT_TOP = 5


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


# creating a task


@dataclass
class TaskForm:
    """The create form's fields as posted (files aside) and its errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def metadata(self) -> dict[str, Any]:
        """The API's `metadata` field: what the form gives, the rest left to its defaults."""
        metadata: dict[str, Any] = {}
        for name in METADATA_FIELDS:
            text = self.value(name)
            if text:
                metadata[name] = listed(text) if name in LIST_FIELDS else text
        low, high = self.value("score_low"), self.value("score_high")
        if low or high:
            try:
                metadata["score_range"] = [float(low), float(high)]
            except ValueError:
                self.errors["score_range"] = "the score range is two numbers, lowest first"
        return metadata


def task_form_page(request: Request, form: TaskForm, status_code: int = 200) -> Response:
    context = {
        "form": form,
        "errors": form.errors,
        "types": [kind.value for kind in TaskType],
        "main_scores": {kind.value: score for kind, score in DEFAULT_MAIN_SCORE.items()},
        "roles": [(role, ROLE_HINTS[role]) for role in ROLES],
        "visibilities": [visibility.value for visibility in Visibility],
    }
    return TEMPLATES.TemplateResponse(
        request, "task_new.html", context, status_code=status_code, headers=LIVE
    )


@router.get("/tasks/new")
async def new_task_form(request: Request) -> Response:
    if not viewer_of(request).signed_in:
        return sign_in_first(request, "create a task")
    return task_form_page(request, TaskForm(values={"visibility": "private"}))


@router.post("/tasks/new")
async def create_task(request: Request) -> Response:
    """Forward the form to `POST /v1/tasks`: its fields, `metadata` as JSON, its files."""
    async with request.form(max_files=MAX_UPLOAD_FILES) as posted:
        texts = {name: value for name, value in posted.items() if isinstance(value, str)}
        viewer = signed_in_with_token(request, texts)
        if viewer is None:
            return csrf_refused(request)
        form = TaskForm(values=texts)
        metadata = form.metadata()
        if form.errors:
            return task_form_page(request, form, 422)
        data = {"name": form.value("name"), "type": form.value("type")}
        data |= {"metadata": json.dumps(metadata)}
        if form.value("visibility"):
            data["visibility"] = form.value("visibility")
        files = [
            (part, (value.filename, value.file, value.content_type or "application/octet-stream"))
            for part, value in posted.multi_items()
            if isinstance(value, UploadFile) and value.filename and part in FILE_PARTS
        ]
        answer = await call_api(request, viewer, "POST", "/v1/tasks", data=data, files=files)
    if answer.ok:
        await catalogue_changed(request)
        return RedirectResponse(f"/tasks/{quote(form.value('name'))}", status_code=303)
    sent_from = {PurePosixPath(name).name: part for part, (name, _, _) in files}
    form.errors = placed(answer.body, TASK_FIELDS, ALIASES | sent_from)
    return task_form_page(request, form, answer.status)


# publishing and deleting


@router.post("/tasks/{name}/publish")
async def publish_task(request: Request, name: str) -> Response:
    viewer = signed_in_with_token(request, await posted_form(request) or {})
    if viewer is None:
        return csrf_refused(request)
    answer = await call_api(request, viewer, "POST", f"/v1/tasks/{quote(name)}/publish")
    if not answer.ok:
        return refused_page(request, answer.status, placed(answer.body, set(), {})["form"])
    await catalogue_changed(request)
    return RedirectResponse(f"/tasks/{quote(name)}", status_code=303)


@router.get("/tasks/{name}/delete")
async def confirm_delete(request: Request, name: str) -> Response:
    """The confirmation step: what goes (the task's data and how many results)."""
    doc = seen(request).tasks.get(name)
    if not viewer_of(request).signed_in:
        return sign_in_first(request, "delete a task")
    if doc is None:
        return refused_page(request, 404, f"no task named {name!r}")
    results = await request.app.state.store.results.count_documents({"task": name})
    context = {"task": name, "results": results, "error": None}
    return TEMPLATES.TemplateResponse(request, "task_delete.html", context, headers=LIVE)


@router.post("/tasks/{name}/delete")
async def delete_task(request: Request, name: str) -> Response:
    """`DELETE /v1/tasks/{name}?confirm=<the name typed>`; a page saying how many results went."""
    fields = await posted_form(request) or {}
    viewer = signed_in_with_token(request, fields)
    if viewer is None:
        return csrf_refused(request)
    typed = fields.get("confirm", "").strip()
    params = {"confirm": typed} if typed else {}
    answer = await call_api(request, viewer, "DELETE", f"/v1/tasks/{quote(name)}", params=params)
    if answer.ok:
        await catalogue_changed(request)
        context = {"task": name, "results_deleted": answer.body.get("results_deleted", 0)}
        return TEMPLATES.TemplateResponse(request, "task_deleted.html", context, headers=LIVE)
    results = await request.app.state.store.results.count_documents({"task": name})
    error = placed(answer.body, {"confirm"}, {})
    context = {"task": name, "results": results, "error": next(iter(error.values()))}
    return TEMPLATES.TemplateResponse(
        request, "task_delete.html", context, status_code=answer.status, headers=LIVE
    )


# creating a benchmark


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


# the best models on my data


BEST_FIELDS = {"benchmark", "top", "max_parameters", "models", "priority"}


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
