"""`/metrics` and `/healthz` of every service: Prometheus text that parses, counters that move
with a submission, health that names each dependency."""

from __future__ import annotations

import time
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.stack import Stack
from tests.conftest import MODEL_ID
from tests.support.helpers import wait_for_submission

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def probe_urls(stack: Stack) -> dict[str, str]:
    settings = stack.settings
    host = settings.metrics_host
    return {
        "web": stack.web_url,
        "submission": stack.api_url,
        "aggregator": f"http://{host}:{settings.aggregator_metrics_port}",
        "evaluator": f"http://{host}:{settings.evaluator_metrics_port}",
    }


def scrape(url: str) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_every_service_has_health_naming_its_dependencies(stack: Stack) -> None:
    expected = {
        "web": {"store": "up"},
        "submission": {"store": "up", "bus": "connected", "intake": "running"},
        "aggregator": {"store": "up", "bus": "connected", "consumers": "running"},
        "evaluator": {"bus": "connected"},
    }
    for service, url in probe_urls(stack).items():
        health = httpx.get(f"{url}/healthz", timeout=10)
        assert health.status_code == 200, (service, health.text)
        assert health.json()["status"] == "ok"
        assert expected[service].items() <= health.json().items(), (service, health.json())


async def test_metrics_parse_and_move_with_a_submission(stack: Stack) -> None:
    urls = probe_urls(stack)
    before = {service: scrape(url) for service, url in urls.items()}

    headers = {"Authorization": f"Bearer {stack.api_key}"}
    body = {"model": MODEL_ID, "revision": f"metrics-{uuid.uuid4().hex[:8]}", "tasks": ["BIOSSES"]}
    created = httpx.post(f"{stack.api_url}/v1/submissions", json=body, headers=headers)
    assert created.status_code == 202, created.text
    submission_id = created.json()["id"]
    finished = await wait_for_submission(stack.api_url, submission_id)
    assert finished["status"] == "completed", finished
    assert httpx.get(f"{stack.web_url}/submissions/{submission_id}").status_code == 200

    applied = "lb_results_applied_total"
    deadline = time.monotonic() + 60  # the leaderboards are replaced after the status is final
    while value(scrape(urls["aggregator"]), applied) == value(before["aggregator"], applied):
        assert time.monotonic() < deadline, "the aggregator applied no result"
        time.sleep(0.5)
    after = {service: scrape(url) for service, url in urls.items()}

    def moved(service: str, name: str, **labels: str) -> float:
        return value(after[service], name, **labels) - value(before[service], name, **labels)

    http = "lb_http_request_duration_seconds_count"
    post = {"method": "POST", "route": "/v1/submissions", "status": "202"}
    assert moved("submission", http, **post) == 1
    page = {"method": "GET", "route": "/submissions/{path_name}", "status": "200"}
    assert moved("web", http, **page) == 1
    assert moved("evaluator", "lb_evaluator_jobs_total", state="done") == 1
    assert moved("evaluator", "lb_task_duration_seconds_count", task="BIOSSES") == 1
    assert value(after["evaluator"], "lb_encode_texts_per_second", task="BIOSSES") > 0
    assert moved("aggregator", "lb_results_applied_total") == 1
    assert moved("aggregator", "lb_leaderboard_update_seconds_count") == 1
    assert moved("aggregator", "lb_task_status_events_total", state="running") >= 1
    for priority in ("high", "normal"):
        assert ("lb_queue_depth", frozenset({("priority", priority)})) in after["aggregator"]
