"""Runs the fakes: one threaded HTTP server per API, each on its sandbox
port, until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from gonogo_sandbox.config import HOST, SandboxConfig
from gonogo_sandbox.services.fakes.github import GitHub
from gonogo_sandbox.services.fakes.grafana import Grafana
from gonogo_sandbox.services.fakes.hubspot import HubSpot
from gonogo_sandbox.services.fakes.loki import Loki
from gonogo_sandbox.services.fakes.server import App, make_server
from gonogo_sandbox.services.fakes.webhook import Webhook


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gonogo_sandbox.services.fakes")
    parser.add_argument("--state-dir", required=True, type=Path, help="the sandbox state dir")
    args = parser.parse_args(argv)
    cfg = SandboxConfig(state_dir=args.state_dir)
    apps: dict[str, App] = {
        "grafana": Grafana(cfg),
        "loki": Loki(cfg),
        "github": GitHub(cfg),
        "hubspot": HubSpot(cfg),
        "webhook": Webhook(),
    }
    servers = [make_server(app, HOST, cfg.port(name)) for name, app in apps.items()]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    for name in apps:
        print(f"{name} on {cfg.url(name)}", flush=True)
    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
