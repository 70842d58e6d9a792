"""Who sees what: the viewer of each request (`session`), the custom tasks and benchmarks kept
current from the store, and the names a viewer may not see.

`ViewerMiddleware` (ASGI middleware, outside the page cache) refreshes the custom catalogue when the
store's data version moves (and at least every `CATALOGUE_REFRESH_S`), opens the session cookie,
and marks a signed-in viewer's responses `private, no-store`: the page cache keeps anonymous
pages only, so a signed-in view is never served to anyone else.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from fastapi import Request
from pymongo.errors import PyMongoError
from starlette.datastructures import State
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.web.session import ANONYMOUS, Sessions, Viewer
from shared.custom_tasks import catalogue
from shared.custom_tasks.catalogue import Catalogue
from shared.documents import CustomBenchmarkDoc, CustomTaskDoc, SubmissionDoc
from shared.store import Store

log = logging.getLogger(__name__)

CATALOGUE_REFRESH_S = 2.0
"""The custom catalogue is read again at least this often, even when no result moved the data
version (a task created or published)."""
VERSION_CHECK_S = 0.25
"""How long a read of the data version holds (as for the page cache)."""
VIEWER = "viewer"
"""The request state entry holding the `Viewer`."""
CATALOGUE_STATE = "catalogue_signature"
"""The request state entry holding the catalogue's signature (the page cache keys on it)."""
PRIVATE_HEADERS = [(b"cache-control", b"private, no-store"), (b"vary", b"Cookie")]


def signature(current: Catalogue) -> str:
    """A digest of what the catalogue shows: names, owners, visibility and revisions."""
    parts = [
        f"t|{name}|{doc.owner}|{doc.visibility}|{doc.spec.revision}"
        for name, doc in sorted(current.tasks.items())
    ] + [
        f"b|{name}|{doc.owner}|{doc.visibility}|{','.join(doc.tasks)}"
        for name, doc in sorted(current.benchmarks.items())
    ]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()


class CatalogueWatch:
    """Keeps `shared.custom_tasks.catalogue.CURRENT` as stored, reading it one at a time."""

    def __init__(self, refresh_s: float = CATALOGUE_REFRESH_S) -> None:
        self.refresh_s = refresh_s
        self.version: int | None = None
        self.read_at = self.checked_at = -float("inf")
        self.signature = ""
        self.lock = asyncio.Lock()

    async def reread(self, store: Store) -> str:
        """Read the catalogue now (after a change made through this site's forms)."""
        async with self.lock:
            self.checked_at = self.read_at = -float("inf")
        return await self.current(store)

    async def current(self, store: Store) -> str:
        """The catalogue's signature, after reading it again if the store changed (its data
        version is asked at most every `VERSION_CHECK_S`)."""
        if time.monotonic() - self.checked_at < VERSION_CHECK_S:
            return self.signature
        async with self.lock:
            started = time.monotonic()
            if started - self.checked_at < VERSION_CHECK_S:
                return self.signature
            version = await store.data_version()
            if version != self.version or started - self.read_at >= self.refresh_s:
                self.signature = signature(await catalogue.refresh(store))
                self.version, self.read_at = version, started
            self.checked_at = started
        return self.signature


class ViewerMiddleware:
    """ASGI middleware: the viewer and a current catalogue on every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        store: Store = scope["app"].state.store
        viewer = ANONYMOUS
        try:
            state[CATALOGUE_STATE] = await catalogue_watch(scope["app"].state).current(store)
            sessions = app_sessions(scope["app"].state)
            if sessions is not None:
                viewer = await sessions.viewer(HTTPConnection(scope), store)
        except PyMongoError as error:  # the app answers 503; show nothing private meanwhile
            log.warning("custom catalogue or key unreadable: %s", type(error).__name__)
            state[CATALOGUE_STATE] = "unknown"
        state[VIEWER] = viewer
        if not viewer.signed_in:
            await self.app(scope, receive, send)
            return

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in (b"cache-control", b"etag")
                ]
                message = {**message, "headers": headers + PRIVATE_HEADERS}
            await send(message)

        await self.app(scope, receive, private)


def catalogue_watch(state: State) -> CatalogueWatch:
    """The app's catalogue watch, made on first use."""
    if getattr(state, "catalogue_watch", None) is None:
        state.catalogue_watch = CatalogueWatch()
    watch: CatalogueWatch = state.catalogue_watch
    return watch


async def catalogue_changed(request: Request) -> None:
    """Read the custom catalogue again now: this site just changed it through the API."""
    await catalogue_watch(request.app.state).reread(request.app.state.store)


def viewer_of(request: HTTPConnection) -> Viewer:
    viewer: Viewer = getattr(request.state, VIEWER, ANONYMOUS)
    return viewer


def app_sessions(state: State) -> Sessions | None:
    """The app's sessions (None: no secret key configured, so no sign-in), made on first use."""
    key_file = state.settings.secret_key_file
    if key_file is None:
        return None
    if getattr(state, "sessions", None) is None:
        state.sessions = Sessions(key_file)
    sessions: Sessions = state.sessions
    return sessions


def sessions_of(request: Request) -> Sessions | None:
    return app_sessions(request.app.state)


def seen(request: HTTPConnection) -> Catalogue:
    """The custom tasks and benchmarks the request's viewer may see."""
    viewer = viewer_of(request)
    return catalogue.CURRENT.visible_to(viewer.name, viewer.admin)


def hidden_tasks(request: HTTPConnection) -> frozenset[str]:
    """The custom tasks the viewer may not see (nor their results)."""
    return frozenset(catalogue.CURRENT.tasks) - frozenset(seen(request).tasks)


def hidden_benchmarks(request: HTTPConnection) -> frozenset[str]:
    """The custom benchmarks the viewer may not see."""
    return frozenset(catalogue.CURRENT.benchmarks) - frozenset(seen(request).benchmarks)


def hidden(request: HTTPConnection) -> frozenset[str]:
    """Every hidden name, tasks and benchmarks (a key for what is kept per viewer)."""
    return hidden_tasks(request) | hidden_benchmarks(request)


def sees_submission(request: HTTPConnection, submission: SubmissionDoc) -> bool:
    """Whether the viewer may see a submission: a private one (marked so, or naming a task
    hidden from them) only its submitter and admins."""
    viewer = viewer_of(request)
    if viewer.admin or (viewer.signed_in and submission.submitted_by == viewer.name):
        return True
    private = submission.private
    hidden = hidden_tasks(request)
    return not private and not any(progress.task in hidden for progress in submission.tasks)


def may_change(request: HTTPConnection, doc: CustomTaskDoc | CustomBenchmarkDoc | None) -> bool:
    """Whether the viewer may publish or delete a custom task or benchmark (owner or admin)."""
    viewer = viewer_of(request)
    return doc is not None and viewer.signed_in and (viewer.admin or viewer.name == doc.owner)
