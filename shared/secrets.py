"""Sealing a submitter's Hub token for the evaluators: Fernet with the installation's key.

The key lives in `LEADERBOARD_SECRET_KEY_FILE` (owner-only; `leaderboard up` makes one at first
start). Only the submission service seals and only evaluators open; nothing else needs the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from shared.settings import get_settings


class NoSecretKey(ValueError):
    """No secret key is configured, so tokens can be neither sealed nor opened."""


def make_key_file(path: Path) -> Path:
    """Create `path` holding a fresh key, readable by its owner only, unless it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(descriptor, "wb") as file:
        file.write(Fernet.generate_key())
    return path


def _fernet(key_file: Path | None) -> Fernet:
    key_file = key_file or get_settings().secret_key_file
    if key_file is None:
        raise NoSecretKey("LEADERBOARD_SECRET_KEY_FILE is not set")
    return Fernet(key_file.read_bytes().strip())


def seal_token(token: str, key_file: Path | None = None) -> str:
    """`token` encrypted with the installation's secret key, for `Job.sealed_token`."""
    return _fernet(key_file).encrypt(token.encode()).decode()


def open_token(sealed: str, key_file: Path | None = None) -> str:
    """The token inside `sealed`; raises ValueError when it cannot be opened."""
    try:
        return _fernet(key_file).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError) as error:
        raise ValueError(
            "the sealed token cannot be opened with this installation's key"
        ) from error
