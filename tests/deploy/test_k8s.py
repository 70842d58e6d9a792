"""deploy/k8s renders with kustomize and validates offline: Kubernetes' and KEDA's schemas."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from shared.bus import JOBS
from shared.events import Priority
from tests.deploy.manifests import ROOT, containers, kustomize, schema, setting_names

KUBERNETES_VERSION = "1.30.0"
SERVICES = {"submission", "web", "aggregator", "evaluator"}
WORKLOADS = {"Deployment", "StatefulSet"}


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return kustomize(ROOT / "deploy" / "k8s")


def of_kind(documents: list[dict[str, Any]], *kinds: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] in kinds}


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_every_kubernetes_object_validates_strictly(documents: list[dict[str, Any]]) -> None:
    core = [doc for doc in documents if not doc["apiVersion"].startswith("keda.sh/")]
    assert {doc["kind"] for doc in core} >= {
        "Namespace",
        "ConfigMap",
        "Service",
        "Deployment",
        "StatefulSet",
        "PodDisruptionBudget",
    }
    for doc in core:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert doc["metadata"].get("namespace", "leaderboard") == "leaderboard"


def test_scaled_objects_validate_against_kedas_schema(documents: list[dict[str, Any]]) -> None:
    scaled = of_kind(documents, "ScaledObject")
    assert set(scaled) == {"evaluator", "evaluator-gpu"}
    validator = jsonschema.Draft7Validator(schema("keda-scaledobject.json"))
    for doc in scaled.values():
        validator.validate(doc)


def test_the_keda_schema_refuses_what_keda_would() -> None:
    validator = jsonschema.Draft7Validator(schema("keda-scaledobject.json"))
    good = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "x"},
            "triggers": [
                {
                    "type": "nats-jetstream",
                    "metadata": {
                        "natsServerMonitoringEndpoint": "nats:8222",
                        "account": "$G",
                        "stream": "S",
                        "consumer": "C",
                        "lagThreshold": "5",
                    },
                }
            ],
        },
    }
    validator.validate(good)
    trigger = good["spec"]["triggers"][0]  # type: ignore[index]
    bad_cases = [
        {**good, "spec": {**good["spec"], "maxReplicas": 3}},  # type: ignore[dict-item]
        {**good, "spec": {"triggers": good["spec"]["triggers"]}},  # type: ignore[index]
        {
            **good,
            "spec": {
                **good["spec"],  # type: ignore[dict-item]
                "triggers": [{**trigger, "metadata": {**trigger["metadata"], "lagThreshold": 5}}],
            },
        },
        {
            **good,
            "spec": {
                **good["spec"],  # type: ignore[dict-item]
                "triggers": [{**trigger, "metadata": {"stream": "S", "consumer": "C"}}],
            },
        },
    ]
    for bad in bad_cases:
        assert not validator.is_valid(bad), bad


def test_evaluators_scale_on_the_lag_of_the_job_consumers(documents: list[dict[str, Any]]) -> None:
    deployments = of_kind(documents, "Deployment")
    nats = of_kind(documents, "StatefulSet")["nats"]
    headless = nats["spec"]["serviceName"]
    for scaled in of_kind(documents, "ScaledObject").values():
        target = deployments[scaled["spec"]["scaleTargetRef"]["name"]]
        assert "replicas" not in target["spec"], "KEDA owns the replica count"
        consumers = set()
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["type"] == "nats-jetstream"
            metadata = trigger["metadata"]
            assert metadata["stream"] == JOBS.name
            host, port = metadata["natsServerMonitoringEndpoint"].split(":")
            assert host == f"{headless}.leaderboard.svc.cluster.local"
            assert port == "8222"
            consumers.add(metadata["consumer"])
        # the durable consumers the evaluator pulls jobs from (services/evaluator/worker.py)
        assert consumers == {f"evaluators-{priority.value}" for priority in Priority}


def test_the_four_services_have_probes_resources_and_disruption_budgets(
    documents: list[dict[str, Any]],
) -> None:
    workloads = of_kind(documents, *WORKLOADS)
    assert SERVICES | {"evaluator-gpu", "nats", "mongodb"} <= set(workloads)
    budgets = of_kind(documents, "PodDisruptionBudget").values()
    for name, workload in workloads.items():
        for container in containers(workload):
            ports = {port["name"] for port in container.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                assert probe in container, f"{name}: no {probe}"
                handler = container[probe].get("httpGet")
                if handler:
                    assert handler["port"] in ports, f"{name}: {probe} on an unnamed port"
            resources = container["resources"]
            assert resources["requests"]["memory"] and resources["limits"]["memory"], name
        if name in SERVICES:
            for container in containers(workload):
                probe = container["readinessProbe"]["httpGet"]
                assert probe["path"] == "/healthz", name
        if name in SERVICES - {"aggregator"} | {"evaluator-gpu", "nats"}:
            labels = pod_labels(workload)
            assert any(selects(b["spec"]["selector"]["matchLabels"], labels) for b in budgets), (
                f"{name} has no PodDisruptionBudget"
            )


def test_gpu_evaluators_ask_for_a_gpu_and_cpu_ones_do_not(
    documents: list[dict[str, Any]],
) -> None:
    deployments = of_kind(documents, "Deployment")
    (gpu,) = containers(deployments["evaluator-gpu"])
    (cpu,) = containers(deployments["evaluator"])
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "nvidia.com/gpu" not in cpu["resources"].get("limits", {})
    env = {item["name"]: item.get("value") for item in gpu["env"]}
    assert env["LEADERBOARD_DEVICE"] == "cuda"
    assert {item["name"]: item.get("value") for item in cpu["env"]}["LEADERBOARD_DEVICE"] == "cpu"


def test_services_and_config_refer_to_what_exists(documents: list[dict[str, Any]]) -> None:
    workloads = of_kind(documents, *WORKLOADS)
    config_maps = of_kind(documents, "ConfigMap")
    names = setting_names()
    for service in of_kind(documents, "Service").values():
        matched = [
            w for w in workloads.values() if selects(service["spec"]["selector"], pod_labels(w))
        ]
        assert matched, f"Service {service['metadata']['name']} selects no pods"
        ports = {p["name"] for w in matched for c in containers(w) for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports
    for name, workload in workloads.items():
        for container in containers(workload):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, name
            for item in container.get("env", []):
                if item["name"].startswith("LEADERBOARD_"):
                    assert item["name"] in names, f"{name}: unknown setting {item['name']}"
    config = next(c for n, c in config_maps.items() if n.startswith("leaderboard-config"))
    for key in config["data"]:
        assert key in names, f"unknown setting {key}"


def test_the_bus_url_lists_every_nats_node_and_streams_are_replicated(
    documents: list[dict[str, Any]],
) -> None:
    nats = of_kind(documents, "StatefulSet")["nats"]
    config = next(c for n, c in of_kind(documents, "ConfigMap").items() if n.startswith("leaderb"))
    servers = config["data"]["LEADERBOARD_NATS_URL"].split(",")
    headless = nats["spec"]["serviceName"]
    replicas = nats["spec"]["replicas"]
    assert servers == [f"nats://nats-{i}.{headless}:4222" for i in range(replicas)]
    assert int(config["data"]["LEADERBOARD_STREAM_REPLICAS"]) == replicas == 3
