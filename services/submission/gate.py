"""Cheap checks before any body is read: the key of a keyed request, then the body's size.

FastAPI reads and parses a body before an endpoint's dependencies run, so a request without a
key could otherwise make the service parse megabytes; here it is refused from its headers.
"""

from __future__ import annotations

from pymongo.errors import PyMongoError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.submission.auth import authenticate
from services.submission.refusals import ErrorBody, Refusal, RefusalCode

MAX_BODY_BYTES = 256 * 1024
"""The largest request body taken (`body_too_large` beyond): a request naming every task of
mteb's registry fits several times."""
KEYED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Every request that changes something needs a key; reads are public."""
TASK_UPLOADS = "/v1/tasks"
"""`POST` here uploads a task's data: up to `task_upload_max_bytes`, streamed, not buffered."""


def too_large(limit: int = MAX_BODY_BYTES) -> Refusal:
    return Refusal(RefusalCode.BODY_TOO_LARGE, f"the request body is larger than {limit} bytes")


def declared_too_large(headers: Headers, limit: int) -> bool:
    declared = headers.get("content-length", "")
    return declared.isdigit() and int(declared) > limit


def counted(receive: Receive, limit: int) -> Receive:
    """`receive` that raises `body_too_large` once more than `limit` bytes came."""
    size = 0

    async def counting() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise too_large(limit)
        return message

    return counting


async def capped_body(receive: Receive, headers: Headers) -> bytes:
    """The whole body, refused as soon as it is known to exceed `MAX_BODY_BYTES`."""
    if declared_too_large(headers, MAX_BODY_BYTES):
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class Gate:
    """ASGI middleware: key, then body size, for every keyed request under `/v1/`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in KEYED_METHODS
            or not scope["path"].startswith("/v1/")
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload = scope["method"] == "POST" and scope["path"] == TASK_UPLOADS
        try:
            store = scope["app"].state.intake.store
            await authenticate(store, headers.get("authorization"))
            limit = scope["app"].state.settings.task_upload_max_bytes if upload else 0
            if upload and declared_too_large(headers, limit):
                raise too_large(limit)
            body = b"" if upload else await capped_body(receive, headers)
        except Refusal as refusal:
            await self.refuse(refusal, scope, receive, send)
            return
        except PyMongoError:
            down = Refusal(RefusalCode.STORE_UNAVAILABLE, "the store is unavailable")
            await self.refuse(down, scope, receive, send)
            return
        if upload:  # the endpoint streams the parts to disk as they come
            await self.app(scope, counted(receive, limit), send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def refuse(refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
        body = ErrorBody(error=refusal.detail).payload()
        response = JSONResponse(body, status_code=refusal.status_code, headers=refusal.headers)
        await response(scope, receive, send)
