"""The forms of a custom task, for a signed-in viewer, each forwarded to the submission API
with the viewer's key: create a task (`/tasks/new`, multipart as received), publish it, delete it
(after a confirmation saying how many results go). Refusals show by their field, with the file
and line of a data file's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.web.api_forwarding import call_api, placed, signed_in_with_token
from services.web.form_pages import LIVE, listed, refused_page, sign_in_first
from services.web.signin import csrf_refused, posted_form
from services.web.templating import TEMPLATES
from services.web.visibility import catalogue_changed, seen, viewer_of
from shared.custom_tasks.spec import DEFAULT_MAIN_SCORE, TaskType
from shared.events import Visibility

router = APIRouter()
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
HUB_FIELDS = ("hub_dataset", "hub_revision")
TASK_FIELDS = {"name", "type", "visibility", "score_range", "data", *ROLES, *METADATA_FIELDS}
TASK_FIELDS |= set(HUB_FIELDS)
ALIASES = {"metadata.score_range": "score_range"}
MAX_UPLOAD_FILES = 200


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
        if form.value("hub_dataset"):  # the revision goes with it, even empty (then refused)
            data |= {name: form.value(name) for name in HUB_FIELDS}
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
    results = await request.app.state.store.count_task_results(name)
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
    results = await request.app.state.store.count_task_results(name)
    error = placed(answer.body, {"confirm"}, {})
    context = {"task": name, "results": results, "error": next(iter(error.values()))}
    return TEMPLATES.TemplateResponse(
        request, "task_delete.html", context, status_code=answer.status, headers=LIVE
    )
