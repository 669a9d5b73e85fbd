"""Grafana's health API: ``GET /api/health``, as Grafana answers it (200 with
``database: ok``, or 503 with ``database: failing`` when its database is
down; the fault comes from the state file)."""

from __future__ import annotations

from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.services.fakes import state
from gonogo_sandbox.services.fakes.server import App, Request, Response, json_response


class Grafana(App):
    name = "grafana"

    def __init__(self, cfg: SandboxConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.add("GET", "/api/health", self.health)

    def health(self, request: Request) -> Response:
        grafana = state.load(self.cfg).get("grafana", {})
        database = grafana.get("database", "ok")
        body = {
            "commit": "sandbox",
            "database": database,
            "version": grafana.get("version", "10.4.2"),
        }
        return json_response(body, 200 if database == "ok" else 503)
