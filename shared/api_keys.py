"""How an API key is stored: the SHA-256 of the key, never the key itself."""

from __future__ import annotations

import hashlib


def key_hash(key: str) -> str:
    """The stored form of a key (SHA-256: keys are random, so no salt or stretching is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()
