"""Rendered pages kept per data version, served with `ETag`, `Cache-Control` and gzip.

The pages change only when a result arrives, and every such write moves the store's data
version (`Store.data_version`), so a page rendered once serves every request until the version
moves. The version is read from the store at most every `refresh_s` seconds and before a page is
rendered, so what is cached under a version holds at least the data of that version.

Pages are kept for anonymous viewers only, under the custom catalogue's signature as well
(`visibility`): a signed-in viewer's page is rendered for them each time and never kept.

Only `GET` responses with status 200 that set no `Cache-Control` (or `Set-Cookie`) of their own
are kept: error pages never are, and live pages (a submission, the queue) opt out by setting
their own `Cache-Control`. Everything else passes through untouched; `GZipMiddleware` outside
this one compresses it.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import FastAPI
from pymongo.errors import PyMongoError
from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.web.session import ANONYMOUS
from services.web.visibility import CATALOGUE_STATE, VIEWER, ViewerMiddleware

CACHE_CONTROL = b"no-cache"
"""Keep the page, but ask again each time: the answer is a cheap 304 while it holds."""
GZIP_MINIMUM = 500
"""Bytes below which a response is sent as it is."""
GZIP_LEVEL = 6
THREAD_MINIMUM = 64 * 1024
"""Bytes from which a page is compressed off the event loop."""
COMPRESSIBLE = ("text/", "application/json", "image/svg+xml", "application/xml")
VERSION_REFRESH_S = 0.25
"""How long the data version read last holds: a write shows on the pages after this at most."""
LIVE_PREFIXES = ("/submit", "/submissions/", "/queue", "/healthz", "/metrics", "/signin")
"""Paths that show what the data version does not track (submissions, health): never kept."""


class VersionUnknown(Exception):
    """The last read of the data version failed, a moment ago."""


class DataVersion:
    """The store's data version, read at most every `refresh_s` seconds, one read at a time; a
    failed read fails every caller until the next one (the store is not asked meanwhile)."""

    def __init__(self, read: Callable[[], Awaitable[int]], refresh_s: float) -> None:
        self.read = read
        self.refresh_s = refresh_s
        self.value: int | None = None
        self.read_at = -float("inf")
        self.lock = asyncio.Lock()

    def fresh(self) -> bool:
        return time.monotonic() - self.read_at < self.refresh_s

    async def current(self) -> int:
        if not self.fresh():
            async with self.lock:
                if not self.fresh():
                    started = time.monotonic()
                    self.value = None
                    try:
                        self.value = await self.read()
                    finally:
                        self.read_at = started
        if self.value is None:
            raise VersionUnknown
        return self.value


@dataclass
class Page:
    """One rendered response, with its gzip encoding when worth it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    gzipped: bytes | None
    etag: bytes

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")

    @classmethod
    def of(cls, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Page:
        kept = [
            (name, value)
            for name, value in headers
            if name.lower() not in (b"content-length", b"etag", b"cache-control", b"vary")
        ]
        media_type = Headers(raw=headers).get("content-type", "")
        compressible = media_type.startswith(COMPRESSIBLE) and len(body) >= GZIP_MINIMUM
        gzipped = gzip.compress(body, GZIP_LEVEL, mtime=0) if compressible else None
        etag = b'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
        return cls(status, kept, body, gzipped, etag)


async def kept_page(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Page:
    """`Page.of`, in a worker thread for a large body (compressing it takes milliseconds)."""
    if len(body) < THREAD_MINIMUM:
        return Page.of(status, headers, body)
    return await asyncio.to_thread(Page.of, status, headers, body)


def matches(if_none_match: str | None, etag: bytes) -> bool:
    """Whether an `If-None-Match` header names `etag` (weak comparison, as RFC 9110 says)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    plain = etag.decode().removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == plain for tag in if_none_match.split(","))


def accepts_gzip(headers: Headers) -> bool:
    """Whether `Accept-Encoding` takes gzip (and not at `q=0`)."""
    for part in headers.get("accept-encoding", "").split(","):
        coding, _, parameters = part.partition(";")
        if coding.strip().lower() == "gzip":
            weight = parameters.replace(" ", "").removeprefix("q=") or "1"
            try:
                return float(weight) > 0
            except ValueError:
                return False
    return False


@dataclass
class Rendering:
    """What an app call sent, captured."""

    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def keepable(self) -> bool:
        names = {name.lower() for name, _ in self.headers}
        return self.status == 200 and not names & {b"cache-control", b"set-cookie"}

    async def replay(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": b"".join(self.chunks)})


class PageCache:
    """ASGI middleware: `GET` pages rendered once per data version (see the module's doc)."""

    def __init__(
        self,
        app: ASGIApp,
        refresh_s: float = VERSION_REFRESH_S,
        max_bytes: int = 64 * 1024 * 1024,
        max_page_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.refresh_s = refresh_s
        self.max_bytes = max_bytes
        self.max_page_bytes = max_page_bytes
        self.version: DataVersion | None = None
        self.pages: OrderedDict[tuple[str, bytes, str], Page] = OrderedDict()
        self.pages_version: int | None = None
        self.size = 0
        self.rendering: dict[tuple[int, str, bytes, str], asyncio.Future[Page | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state", {})
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"].startswith(LIVE_PREFIXES)
            or state.get(VIEWER, ANONYMOUS).signed_in
        ):
            await self.app(scope, receive, send)
            return
        try:
            version = await self.data_version(scope).current()
        except (PyMongoError, VersionUnknown):  # the store is unreachable: the app answers
            await self.app(scope, receive, send)
            return
        if version != self.pages_version:
            self.pages.clear()
            self.size = 0
            self.pages_version = version
        key = (scope["path"], scope.get("query_string", b""), state.get(CATALOGUE_STATE, ""))
        page = self.pages.get(key)
        if page is None:
            page = await self.render(key, version, scope, receive, send)
            if page is None:
                return  # sent as rendered
        else:
            self.pages.move_to_end(key)
        await self.serve(page, Headers(scope=scope), send)

    def data_version(self, scope: Scope) -> DataVersion:
        if self.version is None:
            store = scope["app"].state.store
            self.version = DataVersion(store.data_version, self.refresh_s)
        return self.version

    async def render(
        self, key: tuple[str, bytes, str], version: int, scope: Scope, receive: Receive, send: Send
    ) -> Page | None:
        """The page of `key`, rendered by the app once however many ask at the same time; None
        when it is not kept (then it was sent as rendered)."""
        rendering_key = (version, *key)  # a rendering for an older version would not do
        pending = self.rendering.get(rendering_key)
        if pending is not None:
            page = await asyncio.shield(pending)
            if page is not None:
                return page
        future: asyncio.Future[Page | None] = asyncio.get_running_loop().create_future()
        self.rendering.setdefault(rendering_key, future)
        rendering = Rendering()
        page = None
        try:
            await self.app(scope, receive, rendering.send)
            body = b"".join(rendering.chunks)
            if rendering.keepable and len(body) <= self.max_page_bytes:
                page = await kept_page(rendering.status, rendering.headers, body)
                self.keep(key, version, page)
        finally:
            if self.rendering.get(rendering_key) is future:
                del self.rendering[rendering_key]
            future.set_result(page)
        if page is None:
            await rendering.replay(send)
        return page

    def keep(self, key: tuple[str, bytes, str], version: int, page: Page) -> None:
        """Keep `page` unless the version moved while it was rendered; oldest out when full."""
        if version != self.pages_version:
            return
        self.pages[key] = page
        self.size += page.size
        while self.size > self.max_bytes and self.pages:
            _, dropped = self.pages.popitem(last=False)
            self.size -= dropped.size

    async def serve(self, page: Page, request: Headers, send: Send) -> None:
        common = [(b"etag", page.etag), (b"cache-control", CACHE_CONTROL)]
        vary = [(b"vary", b"Accept-Encoding")] if page.gzipped is not None else []
        if matches(request.get("if-none-match"), page.etag):
            await send({"type": "http.response.start", "status": 304, "headers": common + vary})
            await send({"type": "http.response.body", "body": b""})
            return
        body = page.body
        headers = page.headers + common
        if page.gzipped is not None and accepts_gzip(request):
            body = page.gzipped
            headers += [*vary, (b"content-encoding", b"gzip")]
        # else GZipMiddleware, outside, adds `Vary` to what it could have compressed
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": page.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def add_serving(app: FastAPI) -> None:
    """Pages kept per data version, gzip for every response worth compressing, and the viewer
    and custom catalogue (`visibility`) outside both."""
    app.add_middleware(PageCache)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM, compresslevel=GZIP_LEVEL)
    app.add_middleware(ViewerMiddleware)
