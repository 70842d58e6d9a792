"""API keys (hashed, bearer, CLI), the operator's key, and sealed Hub tokens."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.submission.auth import (
    authenticate,
    bearer_key,
    create_key,
    key_hash,
    seconds_to_midnight,
)
from services.submission.operator import ensure_operator_key
from services.submission.refusals import Refusal, RefusalCode
from shared.secrets import make_key_file, open_token, seal_token
from shared.settings import Settings
from shared.store import Store


async def test_a_key_is_stored_hashed_and_found_by_its_bearer_header(store: Store) -> None:
    key = await create_key(store, "alice")
    assert [doc["_id"] async for doc in store.api_keys.find({})] == [key_hash(key)]
    assert key not in str([doc async for doc in store.api_keys.find({})])
    assert (await authenticate(store, f"Bearer {key}")).name == "alice"
    assert (await authenticate(store, f"bearer  {key} ")).name == "alice"
    for header in (None, "", key, f"Basic {key}", "Bearer ", f"Bearer {key}x"):
        with pytest.raises(Refusal) as refused:
            await authenticate(store, header)
        assert refused.value.detail.code == RefusalCode.UNAUTHORIZED
        assert refused.value.status_code == 401


def test_bearer_key_refuses_other_schemes() -> None:
    assert bearer_key("Bearer abc") == "abc"
    with pytest.raises(Refusal):
        bearer_key("Token abc")


def test_retry_after_counts_to_the_next_utc_day() -> None:
    assert seconds_to_midnight(datetime(2026, 1, 1, 23, 59, 30, tzinfo=UTC)) == 31
    assert seconds_to_midnight(datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)) == 86_401


def test_sealed_token_opens_only_with_its_key(tmp_path: Path) -> None:
    key_file = make_key_file(tmp_path / "secret.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_bytes()
    assert make_key_file(key_file).read_bytes() == first  # never replaced
    sealed = seal_token("hf_abc", key_file)
    assert "hf_abc" not in sealed
    assert open_token(sealed, key_file) == "hf_abc"
    other = make_key_file(tmp_path / "other.key")
    with pytest.raises(ValueError):
        open_token(sealed, other)
    with pytest.raises(ValueError):
        open_token("not sealed", key_file)


async def test_operator_key_is_made_once_owner_only_and_admin(
    mongodb_url: str, store: Store, tmp_path: Path
) -> None:
    settings = Settings(
        mongodb_url=mongodb_url,
        mongodb_database=store.db.name,
        api_key_file=tmp_path / "config" / "api-key",
    )
    key = ensure_operator_key(settings)
    assert stat.S_IMODE(settings.api_key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.api_key_file.parent.stat().st_mode) == 0o700
    assert ensure_operator_key(settings) == key
    assert (await authenticate(store, f"Bearer {key}")).admin
    assert len(await store.list_api_keys()) == 1


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=dict(os.environ) | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_keys_cli_creates_prints_once_lists_and_revokes(
    mongodb_url: str, store: Store
) -> None:
    env = {"LEADERBOARD_MONGODB_URL": mongodb_url, "LEADERBOARD_MONGODB_DATABASE": store.db.name}
    created = cli(env, "keys", "create", "bob", "--admin")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert (await authenticate(store, f"Bearer {key}")).admin
    assert cli(env, "keys", "create", "bob").returncode == 1
    listed = cli(env, "keys", "list")
    assert "bob" in listed.stdout and "admin" in listed.stdout and key not in listed.stdout
    assert cli(env, "keys", "revoke", "bob").returncode == 0
    assert cli(env, "keys", "revoke", "nobody").returncode == 1
    with pytest.raises(Refusal):
        await authenticate(store, f"Bearer {key}")
