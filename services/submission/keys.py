"""`leaderboard keys …`: API keys managed directly in the store, by whoever can reach it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a command runs: the parser stays light (`leaderboard --help`)
    from shared.store import Store


def open_store() -> Store:
    from services.submission.operator import store_url
    from shared.settings import get_settings
    from shared.store import Store

    settings = get_settings()
    return Store(store_url(settings), settings.mongodb_database)


async def create(name: str, admin: bool) -> int:
    from pymongo.errors import DuplicateKeyError

    from services.submission.auth import create_key

    store = open_store()
    try:
        await store.ensure_indexes()
        key = await create_key(store, name, admin=admin)
    except DuplicateKeyError:
        print(f"a key named {name!r} exists already", file=sys.stderr)
        return 1
    finally:
        await store.close()
    print(key)
    print("the key is shown once; only its hash is stored", file=sys.stderr)
    return 0


async def listing() -> int:
    store = open_store()
    try:
        keys = await store.list_api_keys()
    finally:
        await store.close()
    for key in keys:
        flags = " ".join(f for f, on in (("admin", key.admin), ("revoked", key.revoked)) if on)
        print(f"{key.name:<32} {key.created_at:%Y-%m-%d %H:%M} UTC  {flags}".rstrip())
    return 0


async def revoke(name: str) -> int:
    store = open_store()
    try:
        found = await store.revoke_api_key(name)
    finally:
        await store.close()
    if not found:
        print(f"no key named {name!r}", file=sys.stderr)
        return 1
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    if args.action == "create":
        return asyncio.run(create(args.name, args.admin))
    if args.action == "revoke":
        return asyncio.run(revoke(args.name))
    return asyncio.run(listing())


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `keys` subcommand and its actions."""
    keys = commands.add_parser("keys", help="manage API keys (talks to the store directly)")
    actions = keys.add_subparsers(dest="action", required=True)
    create_key_parser = actions.add_parser("create", help="make a key; prints it once")
    create_key_parser.add_argument("name")
    create_key_parser.add_argument(
        "--admin", action="store_true", help="may cancel, re-queue, raise priority"
    )
    actions.add_parser("list", help="key names, creation times, flags")
    revoke_parser = actions.add_parser("revoke", help="refuse a key from now on")
    revoke_parser.add_argument("name")
    keys.set_defaults(run=cmd_keys)
