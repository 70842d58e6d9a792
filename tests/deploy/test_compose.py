"""deploy/compose.yaml: valid against the Compose Specification and consistent with the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.manifests import ROOT, schema, setting_names

COMPOSE = ROOT / "deploy" / "compose.yaml"
SERVICES = {"submission", "web", "aggregator", "evaluator"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # resolves `<<:` merge keys
    return loaded


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    validator = jsonschema.Draft201909Validator(schema("compose-spec.json"))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    broken = compose | {"services": {"web": {"image": "x", "restart": ["always"]}}}
    assert not validator.is_valid(broken)


def test_every_service_runs_a_module_that_exists(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES | {"mongo", "nats"}
    for name in SERVICES:
        command = services[name]["command"]
        module = re.fullmatch(r"python -m (services\.\w+)", command)
        assert module, command
        assert (ROOT / Path(*module.group(1).split(".")) / "__main__.py").is_file()
        dockerfile = services[name]["build"]["dockerfile"]
        assert (ROOT / dockerfile).is_file()


def test_environment_names_are_settings(compose: dict[str, Any]) -> None:
    names = setting_names()
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("LEADERBOARD_"):
                assert variable in names, f"{name}: {variable} is no setting"


def test_references_resolve(compose: dict[str, Any]) -> None:
    services = compose["services"]
    volumes = set(compose.get("volumes", {}))
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name} mounts undeclared volume {source}"


def test_every_service_has_a_health_check_on_its_port(compose: dict[str, Any]) -> None:
    services = compose["services"]
    ports = {
        "submission": services["submission"]["environment"]["LEADERBOARD_API_PORT"],
        "web": services["web"]["environment"]["LEADERBOARD_WEB_PORT"],
        "aggregator": "9101",  # the aggregator's /metrics and /healthz port (default)
        "evaluator": "9102",  # an evaluator's (default)
    }
    for name, port in ports.items():
        check = " ".join(services[name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/healthz" in check, name
    for name in ("submission", "web"):
        published = [mapping.split(":")[-1] for mapping in services[name]["ports"]]
        assert published == [ports[name]]
