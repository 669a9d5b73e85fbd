"""The demo system's HTTP side: one local process that answers for every
Deployment labelled ``sandbox.gonogo.dev/http: "true"``, in any namespace.

Routes (``<d>`` is a Deployment name; ``sophia`` is the default namespace,
``/_ns/<namespace>/<d>/...`` reaches any other):

- ``/<d>/health``   200 ``{"status": "ok", "service", "version", "dependencies": {"redis"}}``
- ``/<d>/version``  200 ``{"service", "version", "image", "revision"}``
- ``/<d>/metrics``  the Deployment's request counters and latency histogram
- ``/<d>/...``      any other path: a small JSON answer (for load tests and workflows)
- ``/sophia-dashboard/``  the dashboard page
- ``/metrics``      every Deployment's series, with namespace and service labels
- ``/_sandbox/ready``, ``/_sandbox/services``  the mirror's own state
- ``POST /_sandbox/reset``  forget every request count (``gonogo sandbox reset``)

A Deployment without available replicas answers 503 with the reason; an
unknown one 404. Fault annotations (see :mod:`gonogo_sandbox.faults`) of the
serving ReplicaSet add latency, errors or unavailability.

Run as ``python -m gonogo_sandbox.demo_server --kubeconfig FILE``; ``gonogo
sandbox up`` does that.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kubernetes import config as k8s_config

from gonogo_sandbox import faults
from gonogo_sandbox.config import HOST, SandboxConfig
from gonogo_sandbox.demo_metrics import RequestStats
from gonogo_sandbox.mirror import Mirror, Serving

DEFAULT_NAMESPACE = "sophia"
DASHBOARD = "sophia-dashboard"
log = logging.getLogger("gonogo_sandbox.demo")


class RedisProbe:
    """PINGs Redis at most once a second; every health answer reuses the result.

    A ``-NOAUTH`` reply counts as up: the server answers, and the mirror is no
    client that should hold the password."""

    def __init__(self, port: int, *, ttl: float = 1.0, timeout: float = 0.3):
        self._port, self._ttl, self._timeout = port, ttl, timeout
        self._lock = threading.Lock()
        self._checked = 0.0
        self._state = "down"

    def state(self) -> str:
        with self._lock:
            if time.monotonic() - self._checked > self._ttl:
                self._state = "ok" if self._ping() else "down"
                self._checked = time.monotonic()
            return self._state

    def _ping(self) -> bool:
        try:
            with socket.create_connection((HOST, self._port), timeout=self._timeout) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                reply = s.recv(64)
        except OSError:
            return False
        return reply.startswith((b"+PONG", b"-NOAUTH"))


class TargetsFile:
    """Writes the Prometheus file-SD list of scrape targets, atomically, so
    that Prometheus never reads half a file."""

    def __init__(self, path: Path, port: int):
        self.path, self._port = path, port

    def write(self, views: list[Serving]) -> None:
        groups = [
            {
                "targets": [f"{HOST}:{self._port}"],
                "labels": {
                    "__metrics_path__": prefix(v.namespace) + f"/{v.name}/metrics",
                    "service": v.name,
                    "namespace": v.namespace,
                },
            }
            for v in views
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".targets-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(groups, f, indent=2)
        os.replace(tmp, self.path)


def prefix(namespace: str) -> str:
    """URL prefix of a namespace's deployments."""
    return "" if namespace == DEFAULT_NAMESPACE else f"/_ns/{namespace}"


class App:
    """Everything a request handler needs, shared by all handler threads."""

    def __init__(self, mirror: Mirror, redis: RedisProbe):
        self.mirror = mirror
        self.redis = redis
        self.stats = RequestStats()
        self.errors = faults.ErrorSpreader()
        self.dashboard = resources.files("gonogo_sandbox").joinpath("dashboard.html").read_text()

    def metrics(self, views: list[Serving], *, with_target_labels: bool) -> str:
        info: dict[tuple[str, str], dict[str, str | int]] = {
            (v.namespace, v.name): {
                "version": v.version,
                "image": v.image,
                "available": v.available_replicas,
            }
            for v in views
        }
        keys = [(v.namespace, v.name) for v in views]
        return self.stats.render(keys, with_target_labels=with_target_labels, info=info)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gonogo-sandbox-demo"
    app: App  # set on the subclass built by make_server

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are counted in /metrics; logging each would flood the log under load."""

    # -- routing ----------------------------------------------------------------

    def _dispatch(self, *, head: bool = False) -> int:
        self._head = head
        url = urlsplit(self.path)
        parts = url.path.split("/")[1:]
        if parts == ["metrics"]:
            return self._text(200, self.app.metrics(self.app.mirror.all(), with_target_labels=True))
        if parts[:1] == ["_sandbox"]:
            return self._sandbox(parts[1:], parse_qs(url.query))
        namespace = DEFAULT_NAMESPACE
        if parts[:1] == ["_ns"]:
            if len(parts) < 3 or not parts[1] or not parts[2]:
                return self._json(404, {"error": "use /_ns/<namespace>/<deployment>/<path>"})
            namespace, parts = parts[1], parts[2:]
        if not parts or not parts[0]:
            return self._json(200, self._index())
        view = self.app.mirror.get(namespace, parts[0])
        if view is None:
            return self._json(
                404,
                {
                    "error": f"no Deployment {namespace}/{parts[0]} labelled "
                    "sandbox.gonogo.dev/http=true is mirrored",
                },
            )
        return self._service(view, "/".join(parts[1:]))

    def _sandbox(self, rest: list[str], query: dict[str, list[str]]) -> int:
        if rest == ["ready"]:
            ready = self.app.mirror.ready
            return self._json(200 if ready else 503, {"ready": ready})
        if rest == ["services"]:
            namespace = query.get("namespace", [None])[0]
            return self._json(200, [_describe(v) for v in self.app.mirror.all(namespace)])
        if rest == ["reset"]:
            if self.command != "POST":
                return self._json(405, {"error": "POST /_sandbox/reset forgets every count"})
            self.app.stats.clear()
            self.app.errors.clear()
            return self._json(200, {"reset": True})
        return self._json(
            404,
            {
                "error": "unknown sandbox endpoint; try /_sandbox/ready, /_sandbox/services "
                "or POST /_sandbox/reset"
            },
        )

    def _service(self, view: Serving, path: str) -> int:
        start = time.monotonic()
        reason = view.unavailable_reason
        if path == "metrics":
            if reason:
                return self._json(503, _unavailable(view, reason))
            return self._text(200, self.app.metrics([view], with_target_labels=False))
        if reason:
            code = self._json(503, _unavailable(view, reason))
        else:
            if view.faults.latency:
                time.sleep(view.faults.latency)
            if self.app.errors.should_fail(f"{view.namespace}/{view.name}", view.faults.error_rate):
                code = self._json(
                    500,
                    {
                        "status": "error",
                        "service": view.name,
                        "reason": f"fault {faults.ERROR_RATE}={view.faults.error_rate:g}",
                    },
                )
            else:
                code = self._answer(view, path)
        self.app.stats.observe(
            view.namespace, view.name, code, time.monotonic() - start, view.version
        )
        return code

    def _answer(self, view: Serving, path: str) -> int:
        if path == "health":
            redis = self.app.redis.state()
            body = {
                "status": "ok" if redis == "ok" else "degraded",
                "service": view.name,
                "version": view.version,
                "dependencies": {"redis": redis},
            }
            return self._json(200 if redis == "ok" else 503, body)
        if path == "version":
            return self._json(
                200,
                {
                    "service": view.name,
                    "namespace": view.namespace,
                    "version": view.version,
                    "image": view.image,
                    "revision": view.revision,
                },
            )
        if view.name == DASHBOARD and path in ("", "index.html"):
            page = (
                self.app.dashboard.replace("{{NAMESPACE}}", view.namespace)
                .replace("{{VERSION}}", view.version)
                .replace("{{BASE_JSON}}", json.dumps(prefix(view.namespace)))
            )
            return self._send(200, page.encode(), "text/html; charset=utf-8")
        return self._json(
            200,
            {
                "status": "ok",
                "service": view.name,
                "version": view.version,
                "path": "/" + path,
                "method": self.command,
            },
        )

    def _index(self) -> dict[str, Any]:
        return {
            "ready": self.app.mirror.ready,
            "services": [_describe(v) for v in self.app.mirror.all()],
        }

    # -- responses ----------------------------------------------------------------

    def _json(self, code: int, body: Any) -> int:
        return self._send(code, (json.dumps(body) + "\n").encode(), "application/json")

    def _text(self, code: int, body: str) -> int:
        return self._send(code, body.encode(), "text/plain; version=0.0.4; charset=utf-8")

    def _send(self, code: int, payload: bytes, content_type: str) -> int:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not self._head:
            self.wfile.write(payload)
        return code


def _describe(v: Serving) -> dict[str, Any]:
    return {
        "namespace": v.namespace,
        "name": v.name,
        "url": prefix(v.namespace) + f"/{v.name}/",
        "version": v.version,
        "image": v.image,
        "revision": v.revision,
        "available_replicas": v.available_replicas,
        "replicas": v.replicas,
        "faults": v.faults.describe(),
        "unavailable_reason": v.unavailable_reason,
    }


def _unavailable(view: Serving, reason: str) -> dict[str, Any]:
    return {
        "status": "unavailable",
        "service": view.name,
        "version": view.version,
        "reason": reason,
    }


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def make_server(app: App, port: int) -> Server:
    handler = type("BoundHandler", (Handler,), {"app": app})
    return Server((HOST, port), handler)


def main(argv: list[str] | None = None) -> int:
    cfg = SandboxConfig()
    parser = argparse.ArgumentParser(prog="python -m gonogo_sandbox.demo_server")
    parser.add_argument("--kubeconfig", default=str(cfg.kubeconfig))
    parser.add_argument("--context", default=cfg.kube_context)
    parser.add_argument("--port", type=int, default=cfg.port("demo"))
    parser.add_argument("--redis-port", type=int, default=cfg.port("redis"))
    parser.add_argument(
        "--targets-file", default=str(cfg.state_dir / "prometheus" / "targets.json")
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    api = k8s_config.new_client_from_config(config_file=args.kubeconfig, context=args.context)
    targets = TargetsFile(Path(args.targets_file), args.port)
    mirror = Mirror(api, targets.write)
    app = App(mirror, RedisProbe(args.redis_port))
    server = make_server(app, args.port)
    mirror.start()
    log.info("serving on http://%s:%d, watching %s", HOST, args.port, args.kubeconfig)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
