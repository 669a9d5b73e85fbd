"""Prometheus, Alertmanager, Grafana and Loki asked whether they work, not
just whether they listen: Prometheus' share of targets up, Grafana's database,
and a log line pushed to Loki and read back."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from gonogo.probes.http import HttpRequest, HttpResult, probe


@dataclass(frozen=True)
class TargetsUp:
    up: int
    total: int
    down: list[str]
    """``job/instance: last error`` of each target that is down."""

    @property
    def ratio(self) -> float:
        return self.up / self.total if self.total else 0.0


def health_requests(
    prometheus: str | None, alertmanager: str | None, grafana: str | None, timeout: float
) -> list[HttpRequest]:
    """Every health endpoint of the monitoring stack that the target names."""
    requests = []
    if prometheus:
        requests += [
            HttpRequest("prometheus healthy", f"{prometheus}/-/healthy", timeout=timeout),
            HttpRequest("prometheus ready", f"{prometheus}/-/ready", timeout=timeout),
            HttpRequest(
                "prometheus targets", f"{prometheus}/api/v1/targets?state=active", timeout=timeout
            ),
        ]
    if alertmanager:
        requests += [
            HttpRequest("alertmanager healthy", f"{alertmanager}/-/healthy", timeout=timeout),
            HttpRequest("alertmanager status", f"{alertmanager}/api/v2/status", timeout=timeout),
        ]
    if grafana:
        requests.append(HttpRequest("grafana health", f"{grafana}/api/health", timeout=timeout))
    return requests


def check_all(
    requests: list[HttpRequest], headers: dict[str, str] | None = None
) -> list[HttpResult]:
    if headers:
        requests = [
            HttpRequest(
                r.name,
                r.url,
                headers=headers if r.name.startswith("grafana") else None,
                timeout=r.timeout,
            )
            for r in requests
        ]
    return probe(requests)


def targets_up(result: HttpResult, namespace: str | None = None) -> TargetsUp:
    """Parse ``/api/v1/targets``; a missing or odd body counts as no targets.

    With ``namespace``, targets labelled with another namespace are left out: a
    shared Prometheus also scrapes other teams' systems, whose health is not
    this release's to judge. Targets with no namespace label (Prometheus
    itself, Alertmanager) always count."""
    active = ((result.json or {}).get("data") or {}).get("activeTargets") or []
    if namespace is not None:
        active = [t for t in active if t.get("labels", {}).get("namespace") in (None, namespace)]

    def name(t: dict[str, Any]) -> str:
        labels = t.get("labels", {})
        what = labels.get("service") or labels.get("instance", "?")
        return f"{labels.get('job', '?')}/{what}"

    down = [
        f"{name(t)}: {t.get('lastError') or t.get('health')}"
        for t in active
        if t.get("health") != "up"
    ]
    return TargetsUp(len(active) - len(down), len(active), down)


def grafana_database_ok(result: HttpResult) -> bool:
    return result.ok and (result.json or {}).get("database") == "ok"


@dataclass(frozen=True)
class LokiRoundTrip:
    label: str
    pushed: bool
    found_after_s: float | None
    detail: str


def loki_round_trip(url: str, *, timeout: float, deadline_s: float = 10.0) -> LokiRoundTrip:
    """Push one line under a unique label and poll a query until it comes back."""
    marker = f"gonogo-{uuid.uuid4().hex[:12]}"
    now_ns = time.time_ns()
    payload = {
        "streams": [
            {
                "stream": {"job": "gonogo", "gonogo_probe": marker},
                "values": [[str(now_ns), f"gonogo log pipeline probe {marker}"]],
            }
        ]
    }
    query = f'{{gonogo_probe="{marker}"}}'
    with httpx.Client(timeout=timeout) as client:
        try:
            pushed = client.post(
                f"{url}/loki/api/v1/push",
                content=json.dumps(payload),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as e:
            return LokiRoundTrip(marker, False, None, f"push failed: {e.__class__.__name__}: {e}")
        if pushed.status_code not in (200, 204):
            return LokiRoundTrip(
                marker, False, None, f"push answered {pushed.status_code}: {pushed.text[:200]}"
            )
        start = time.monotonic()
        last = ""
        while time.monotonic() - start < deadline_s:
            try:
                answer = client.get(
                    f"{url}/loki/api/v1/query_range",
                    params={
                        "query": query,
                        "start": str(now_ns - 60_000_000_000),
                        "end": str(time.time_ns() + 1_000_000_000),
                        "limit": "10",
                    },
                )
                if _has_line(answer.json() if answer.status_code == 200 else {}, marker):
                    return LokiRoundTrip(marker, True, time.monotonic() - start, query)
                last = f"query answered {answer.status_code}"
            except (httpx.HTTPError, ValueError) as e:
                last = f"query failed: {e.__class__.__name__}"
            time.sleep(0.5)
    return LokiRoundTrip(
        marker, True, None, f"{query} not found within {deadline_s:g} s ({last or 'no match'})"
    )


def _has_line(body: Any, marker: str) -> bool:
    for stream in (body.get("data") or {}).get("result") or []:
        for _, line in stream.get("values") or []:
            if marker in line:
                return True
    return False
