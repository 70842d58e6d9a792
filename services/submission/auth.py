"""API keys: made once, stored hashed, sent as `Authorization: Bearer <key>`; a daily limit."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from services.submission.refusals import Refusal, RefusalCode
from shared.api_keys import key_hash
from shared.documents import ApiKeyDoc
from shared.store import Store

KEY_PREFIX = "lb_"


def new_key() -> str:
    """A fresh API key: 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_key(store: Store, name: str, *, admin: bool = False) -> str:
    """Store a new key named `name` and return it; only its hash is kept."""
    key = new_key()
    await store.insert_api_key(ApiKeyDoc(_id=key_hash(key), name=name, admin=admin))
    return key


def bearer_key(authorization: str | None) -> str:
    """The key in an `Authorization: Bearer <key>` header; refuses anything else."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Refusal(RefusalCode.UNAUTHORIZED, "send an API key as `Authorization: Bearer <key>`")
    return key.strip()


async def authenticate(store: Store, authorization: str | None) -> ApiKeyDoc:
    """The stored, unrevoked key the header carries; `unauthorized` otherwise."""
    found = await store.get_api_key(key_hash(bearer_key(authorization)))
    if found is None or found.revoked:
        raise Refusal(RefusalCode.UNAUTHORIZED, "unknown or revoked API key")
    return found


def seconds_to_midnight(now: datetime) -> int:
    """Seconds until the next UTC day begins (at least 1)."""
    tomorrow = (now.astimezone(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return max(1, int((tomorrow - now).total_seconds()) + 1)


async def check_rate(store: Store, key: ApiKeyDoc, per_day: int) -> None:
    """Count this submission against the key's day; `rate_limited` past `per_day`.

    Admin keys are not limited. The count is stored, so it survives restarts.
    """
    if key.admin:
        return
    now = datetime.now(UTC)
    used = await store.count_key_use(key.id, now.date().isoformat())
    if used > per_day:
        raise Refusal(
            RefusalCode.RATE_LIMITED,
            f"this key may submit {per_day} times per UTC day; try again tomorrow",
            retry_after_s=seconds_to_midnight(now),
        )


def require_admin_or_owner(key: ApiKeyDoc, owner: str | None) -> None:
    """Refuse unless `key` is an admin key or the one named `owner`."""
    if not key.admin and key.name != owner:
        raise Refusal(RefusalCode.FORBIDDEN, "only an admin key or the submitting key may do this")


def require_admin(key: ApiKeyDoc) -> None:
    if not key.admin:
        raise Refusal(RefusalCode.FORBIDDEN, "only an admin key may do this")
