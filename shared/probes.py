"""`/metrics` and `/healthz` of a service without a web server of its own (aggregator,
evaluator), on a small HTTP server in a thread: it answers even while the event loop is busy."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from shared.metrics import exposition

log = logging.getLogger(__name__)

Health = Callable[[], dict[str, str]]
"""Each dependency or part of the service and its state."""
HEALTHY = {"up", "connected", "running", "idle", "busy"}


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would flood the service's log."""


class ThreadedServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def probes_app(health: Health) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body, content_type = exposition()
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        if path == "/healthz":
            states = health()
            healthy = all(state in HEALTHY for state in states.values())
            payload = {"status": "ok" if healthy else "degraded"} | states
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(payload).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"/metrics or /healthz\n"]

    return app


def serve_probes(host: str, port: int, health: Health) -> WSGIServer | None:
    """Serve `/metrics` and `/healthz` on `host:port` in a daemon thread; None when port is 0."""
    if not port:
        return None
    server = make_server(
        host, port, probes_app(health), server_class=ThreadedServer, handler_class=QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True, name="probes").start()
    log.info("/metrics and /healthz on http://%s:%d", host, port)
    return server
