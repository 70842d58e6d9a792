"""Session cookies: the key sealed and opened with the installation's key, CSRF tokens bound to
the cookie, and where a sign-in may lead back to."""

from __future__ import annotations

from pathlib import Path

from services.web.session import Sessions, Viewer
from services.web.signin import safe_next
from shared.secrets import make_key_file


def sessions(folder: Path, name: str = "secret.key") -> Sessions:
    return Sessions(make_key_file(folder / name))


def test_a_sealed_key_opens_with_the_same_installation_key_only(tmp_path: Path) -> None:
    ours = sessions(tmp_path)
    sealed = ours.seal("lb-key-1")
    assert "lb-key-1" not in sealed
    assert ours.open(sealed) == "lb-key-1"
    assert sessions(tmp_path, "other.key").open(sealed) is None
    assert ours.open("not a token") is None
    assert ours.open(sealed[:-2] + "xx") is None


def test_a_csrf_token_belongs_to_its_session(tmp_path: Path) -> None:
    ours = sessions(tmp_path)
    alice = Viewer("alice", sealed=ours.seal("a"))
    again = Viewer("alice", sealed=ours.seal("a"))  # another sign-in: another cookie
    token = ours.csrf_token(alice)
    assert ours.csrf_valid(alice, token)
    assert not ours.csrf_valid(again, token)
    assert not ours.csrf_valid(alice, "")
    assert not ours.csrf_valid(Viewer(), ours.csrf_token(Viewer()))  # anonymous: never


def test_a_sign_in_leads_back_to_a_local_path_only() -> None:
    assert safe_next("/tasks/mine?x=1") == "/tasks/mine?x=1"
    for target in ["https://evil.example/", "//evil.example/", "/\\evil.example", "", "tasks"]:
        assert safe_next(target) == "/tasks"
