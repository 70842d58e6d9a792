"""The submission API fuzzed from its own OpenAPI document (schemathesis): never a 5xx."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings

from services.submission.app import create_app
from services.submission.operator import ensure_operator_key
from services.submission.refusals import HTTP_STATUS, RefusalCode
from shared.embedded import free_port
from shared.settings import Settings
from tests.support.hub_server import running_hub
from tests.support.service import own_nats_url, service_settings

__all__ = ["own_nats_url"]  # fixture


@pytest.fixture(scope="module")
def served(
    own_nats_url: str, mongodb_url: str, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The API served by uvicorn on a free port (the fake Hub behind it); its URL and a key."""
    settings = service_settings(
        own_nats_url, mongodb_url, tmp_path_factory.mktemp("fuzz"), models_dir=models_dir
    )
    key = ensure_operator_key(settings)
    port = free_port()
    with running_hub() as hub_url:
        from huggingface_hub import HfApi

        app = create_app(settings, HfApi(endpoint=hub_url, token=False))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, key
        server.should_exit = True
        thread.join(timeout=30)


def test_no_request_makes_a_server_error(served: tuple[str, str]) -> None:
    url, key = served
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {key}"},
                checks=[schemathesis.checks.not_a_server_error],
            )

        fuzz()


def test_openapi_has_an_example_for_every_code() -> None:
    document = create_app(Settings()).openapi()
    shown: dict[str, set[str]] = {}
    for path in document["paths"].values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                examples = response.get("content", {}).get("application/json", {})
                for code in examples.get("examples", {}):
                    shown.setdefault(code, set()).add(status)
    for code in RefusalCode:
        assert shown.get(code.value) == {str(HTTP_STATUS[code])}, code
    submit = document["paths"]["/v1/submissions"]["post"]["responses"]
    assert "Retry-After" in submit["429"]["headers"]
