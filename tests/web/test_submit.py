"""The submit form's reading of a browser's post and its placing of the API's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from services.web.app import create_app
from services.web.submit import MAX_FORM_BYTES, SubmitForm
from shared.embedded import free_port
from shared.settings import Settings
from shared.store import Store


def posted(**fields: str) -> tuple[SubmitForm, dict[str, str]]:
    return SubmitForm.posted(urlencode(fields).encode())


def test_a_post_is_read_as_the_api_request_and_the_secrets_kept_apart() -> None:
    form, secrets = posted(
        model=" org/name ",
        revision="",
        tasks="BIOSSES, STS12\nSciFact",
        benchmark="",
        api_key="lb_secret",
        hf_token="hf_secret",
    )
    assert form.request(secrets["hf_token"]) == {
        "model": "org/name",
        "revision": None,
        "tasks": ["BIOSSES", "STS12", "SciFact"],
        "benchmark": None,
        "hf_token": "hf_secret",
    }
    assert secrets == {"api_key": "lb_secret", "hf_token": "hf_secret"}
    assert "secret" not in repr(form)


def test_a_benchmark_alone_and_nothing_else_given() -> None:
    form, secrets = posted(model="org/name", benchmark="MTEB(eng, v2)")
    assert form.request(secrets["hf_token"]) == {
        "model": "org/name",
        "revision": None,
        "tasks": None,
        "benchmark": "MTEB(eng, v2)",
        "hf_token": None,
    }
    assert secrets == {"api_key": "", "hf_token": ""}


def test_the_apis_error_goes_next_to_its_field_or_the_key_or_the_form() -> None:
    def placed(error: dict[str, str | None]) -> dict[str, str]:
        form = SubmitForm()
        form.refused({"error": error})
        return form.errors

    assert placed({"code": "unknown_task", "message": "no task X", "field": "tasks"}) == {
        "tasks": "no task X (unknown_task)"
    }
    assert placed({"code": "unauthorized", "message": "send a key", "field": None}) == {
        "api_key": "send a key (unauthorized)"
    }
    assert placed({"code": "invalid_request", "message": "give tasks", "field": None}) == {
        "form": "give tasks (invalid_request)"
    }
    assert placed({"code": "invalid_request", "message": "extra", "field": "priority"}) == {
        "form": "extra (invalid_request)"
    }
    form = SubmitForm()
    form.refused({"error": {"code": "duplicate", "message": "m", "submission_id": "abc"}})
    assert form.duplicate_of == "abc"


@pytest.fixture
async def web(store: Store, mongodb_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The web app, its API URL a port nothing listens on."""
    settings = Settings(
        mongodb_url=mongodb_url,
        mongodb_database=store.db.name,
        api_url=f"http://127.0.0.1:{free_port()}",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            yield client


async def test_an_oversized_form_is_refused_unread(web: httpx.AsyncClient) -> None:
    body = urlencode({"model": "org/name", "tasks": "x" * MAX_FORM_BYTES})
    answer = await web.post(
        "/submit", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413
    assert "the form is over" in answer.text
    assert 'value="org/name"' not in answer.text


async def test_the_form_is_never_kept_and_says_where_the_api_is_missing(
    web: httpx.AsyncClient,
) -> None:
    form = await web.get("/submit")
    assert form.headers["cache-control"] == "no-store"
    answer = await web.post("/submit", data={"model": "org/name", "api_key": "lb_k"})
    assert answer.status_code == 502
    assert "unreachable" in answer.text
    assert "lb_k" not in answer.text
