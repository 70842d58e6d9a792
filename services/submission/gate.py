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


def too_large() -> Refusal:
    return Refusal(
        RefusalCode.BODY_TOO_LARGE, f"the request body is larger than {MAX_BODY_BYTES} bytes"
    )


async def capped_body(receive: Receive, headers: Headers) -> bytes:
    """The whole body, refused as soon as it is known to exceed `MAX_BODY_BYTES`."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
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
        try:
            store = scope["app"].state.intake.store
            await authenticate(store, headers.get("authorization"))
            body = await capped_body(receive, headers)
        except Refusal as refusal:
            await self.refuse(refusal, scope, receive, send)
            return
        except PyMongoError:
            down = Refusal(RefusalCode.STORE_UNAVAILABLE, "the store is unavailable")
            await self.refuse(down, scope, receive, send)
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
