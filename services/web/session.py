"""Signing in with an API key: the key sealed (Fernet, the installation's secret key) in an
HttpOnly, SameSite=Lax cookie, opened and looked up in the store on every request; forms of a
signed-in viewer carry a CSRF token derived from that cookie."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import HTTPConnection
from starlette.responses import Response

from shared.api_keys import key_hash
from shared.store import Store

COOKIE = "lb_session"
SESSION_MAX_AGE_S = 30 * 24 * 3600
"""A sign-in lasts this long (the sealed key's timestamp is checked as well as the cookie's)."""
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Viewer:
    """Who asks: anonymous (`name` None), or the name of a valid API key and whether it is an
    admin key. `sealed` is the session cookie's value, for the CSRF token."""

    name: str | None = None
    admin: bool = False
    key: str = ""
    sealed: str = ""

    @property
    def signed_in(self) -> bool:
        return self.name is not None


ANONYMOUS = Viewer()


class Sessions:
    """Seals and opens session cookies with the installation's secret key."""

    def __init__(self, key_file: Path) -> None:
        secret = key_file.read_bytes().strip()
        self.fernet = Fernet(secret)
        self.csrf_key = hashlib.sha256(b"leaderboard web csrf\0" + secret).digest()

    def seal(self, key: str) -> str:
        return self.fernet.encrypt(key.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The API key inside a cookie value; None if it is not one of ours or too old."""
        try:
            return self.fernet.decrypt(sealed.encode(), ttl=SESSION_MAX_AGE_S).decode()
        except (InvalidToken, ValueError):
            return None

    def csrf_token(self, viewer: Viewer) -> str:
        """The token a signed-in viewer's forms carry: an HMAC of their session cookie."""
        return hmac.new(self.csrf_key, viewer.sealed.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, viewer: Viewer, token: str) -> bool:
        return viewer.signed_in and hmac.compare_digest(self.csrf_token(viewer), token)

    async def viewer(self, connection: HTTPConnection, store: Store) -> Viewer:
        """The viewer of a request: its cookie opened and its key looked up (revoked or
        unknown: anonymous)."""
        sealed = connection.cookies.get(COOKIE)
        if not sealed:
            return ANONYMOUS
        key = self.open(sealed)
        if key is None:
            return ANONYMOUS
        return await key_viewer(store, key, sealed)


async def key_viewer(store: Store, key: str, sealed: str = "") -> Viewer:
    """The viewer signed in with `key`; anonymous for a revoked or unknown key."""
    found = await store.get_api_key(key_hash(key))
    if found is None or found.revoked:
        return ANONYMOUS
    return Viewer(found.name, found.admin, key, sealed)


def over_tls(connection: HTTPConnection) -> bool:
    """Whether the request came over TLS (uvicorn sets the scheme from a trusted proxy's
    `X-Forwarded-Proto` when run with `--proxy-headers`)."""
    return connection.url.scheme == "https"


def set_session(response: Response, sealed: str, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        sealed,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_session(response: Response, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
