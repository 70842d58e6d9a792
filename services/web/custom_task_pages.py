"""Custom task pages: `/tasks` (the custom tasks the viewer may see) and a custom task's page
`/tasks/<name>` (its metadata, files with their digests, revisions and leaderboard), each also
`.json` and `.csv`. A task the viewer may not see is not found, like one that does not exist."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.renderings import Format, csv_response, json_response
from services.web.templating import TEMPLATES
from services.web.visibility import may_change, seen
from shared.documents import CustomTaskDoc, LeaderboardDoc

router = APIRouter()
LISTING_COLUMNS = ("name", "type", "owner", "visibility", "revision", "created_at", "updated_at")
ROW_COLUMNS = (
    "rank",
    "model",
    "revision",
    "main_score",
    "evaluated_at",
    "source",
    "submission_id",
    "stale_reason",
)


def listed(doc: CustomTaskDoc) -> dict[str, Any]:
    return {
        "name": doc.id,
        "type": doc.spec.type.value,
        "owner": doc.owner,
        "visibility": doc.visibility.value,
        "revision": doc.spec.revision,
        "created_at": doc.created_at.isoformat(),
        "updated_at": doc.updated_at.isoformat(),
    }


@router.get("/tasks")
@router.get("/tasks.json")
@router.get("/tasks.csv")
async def tasks_page(request: Request) -> Response:
    """The custom tasks the viewer may see."""
    tasks = [listed(doc) for _, doc in sorted(seen(request).tasks.items())]
    suffix = request.url.path.removeprefix("/tasks")
    if suffix == ".json":
        return json_response({"tasks": tasks})
    if suffix == ".csv":
        return csv_response(tasks, LISTING_COLUMNS, "custom tasks")
    return TEMPLATES.TemplateResponse(request, "custom_tasks.html", {"tasks": tasks})


def custom_task_page(
    request: Request,
    doc: CustomTaskDoc,
    fmt: Format,
    leaderboard: LeaderboardDoc | None,
    rows: list[dict[str, Any]],
    sort: str | None,
) -> Response:
    """The page of a custom task the viewer may see, its leaderboard's `rows` as sorted."""
    spec = doc.spec
    context: dict[str, Any] = listed(doc) | {
        "task": doc.id,
        "custom": True,
        "description": spec.description,
        "languages": spec.languages,
        "domains": spec.domains,
        "main_score": spec.main_score,
        "eval_splits": spec.eval_splits,
        "license": spec.license,
        "score_range": spec.score_range,
        "files": [{"path": path, "sha256": digest} for path, digest in sorted(spec.files.items())],
        "earlier_revisions": doc.earlier_revisions,
        "version": leaderboard.version if leaderboard else 0,
        "generated_at": leaderboard.generated_at.isoformat() if leaderboard else None,
        "sort": sort,
        "rows": rows,
    }
    if fmt is Format.JSON:
        return json_response(context)
    if fmt is Format.CSV:
        return csv_response(rows, ROW_COLUMNS, doc.id)
    context["may_change"] = may_change(request, doc)
    return TEMPLATES.TemplateResponse(request, "custom_task.html", context)
