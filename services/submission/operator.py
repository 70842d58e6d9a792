"""The operator's own key and the installation's secret key, made at first start of the stack."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from services.submission.auth import key_hash, new_key
from shared.documents import ApiKeyDoc
from shared.settings import Settings
from shared.store import Store


def write_private(path: Path, text: str) -> bool:
    """Write `text` to a new file only its owner may read; False when it exists already."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")
    return True


def store_url(settings: Settings) -> str:
    """The store's URL: the configured one, else the embedded server's."""
    return settings.mongodb_url or f"mongodb://127.0.0.1:{settings.embedded_mongodb_port}"


async def register_operator_key(settings: Settings, key: str) -> None:
    store = Store(store_url(settings), settings.mongodb_database)
    try:
        await store.ensure_indexes()
        digest = key_hash(key)
        await store.ensure_api_key(ApiKeyDoc(_id=digest, name=f"operator-{digest[:8]}", admin=True))
    finally:
        await store.close()


def ensure_operator_key(settings: Settings) -> str:
    """The admin key in `api_key_file` (made at first start, 0600), registered in the store."""
    write_private(settings.api_key_file, new_key())
    key = settings.api_key_file.read_text().strip()
    with ThreadPoolExecutor(1) as pool:  # asyncio.run needs a thread without a running loop
        pool.submit(asyncio.run, register_operator_key(settings, key)).result()
    return key
